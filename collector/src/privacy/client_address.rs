//! Which address a request came from: the [`ClientAddress`], a type whose
//! address nothing outside [`crate::privacy`] can read. The only thing the
//! rest of the collector can do with it is truncate it
//! ([`ClientAddress::truncate`]), so code after truncation cannot see the
//! full address by mistake: the compiler, not a review, keeps it out.
//!
//! Forwarding headers are believed only when the socket peer is a trusted
//! proxy; otherwise anyone could claim any address.

use super::truncated::{truncate, TruncatedIp};
use http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use schema::config::ForwardedHeader;

// Parsed once: looking a header up by string parses the name every time.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
use std::net::{IpAddr, Ipv4Addr};

/// A client's full address. It has no `Debug` or `Display`, and its
/// address is private to [`crate::privacy`], so it cannot be logged,
/// stored or compared outside it.
pub struct ClientAddress(IpAddr);

impl ClientAddress {
    /// The address of a request: the socket peer, or the client that trusted
    /// proxies name (see `resolve`).
    pub fn of_request(
        peer: IpAddr,
        headers: &HeaderMap,
        trusted: &[IpNet],
        header: ForwardedHeader,
    ) -> Self {
        Self(resolve(peer, headers, trusted, header))
    }

    /// An address a server-side event names for itself (an import line's
    /// `ip`), or a test's.
    pub fn given(ip: IpAddr) -> Self {
        Self(ip.to_canonical())
    }

    /// The /24 or /48 the address is in: all the rest of the pipeline sees.
    pub fn truncate(&self) -> TruncatedIp {
        truncate(self.0)
    }
}

/// Whether the request carries the configured forwarding header from a peer
/// that is not a trusted proxy, so the header was ignored. Behind a reverse
/// proxy missing from `trusted_proxies`, every beacon does, and every
/// visitor looks like the proxy.
pub fn forwarding_ignored(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> bool {
    let name = match header {
        ForwardedHeader::XForwardedFor => &X_FORWARDED_FOR,
        ForwardedHeader::Forwarded => &http::header::FORWARDED,
    };
    headers.contains_key(name) && !is_trusted(peer, trusted)
}

/// The visitor's address: the socket peer, or, behind trusted proxies, the
/// right-most address in `header` that is not itself a trusted proxy. Only
/// the header the proxies write is read, so a client cannot slip in the other.
fn resolve(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    match header {
        // Walked from the right without collecting the hops: this runs on
        // every beacon behind a proxy.
        ForwardedHeader::XForwardedFor => {
            rightmost_untrusted(peer, x_forwarded_for(headers), trusted)
        }
        ForwardedHeader::Forwarded => {
            rightmost_untrusted(peer, forwarded(headers).into_iter().rev(), trusted)
        }
    }
}

/// The first hop, from the right, that is not a trusted proxy; `peer` if
/// there are none.
fn rightmost_untrusted(
    peer: IpAddr,
    hops_from_right: impl Iterator<Item = Option<IpAddr>>,
    trusted: &[IpNet],
) -> IpAddr {
    let mut client = peer;
    for hop in hops_from_right {
        match hop {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip, trusted) {
                    break;
                }
            }
            // An unreadable hop: nothing left of it can be believed.
            None => break,
        }
    }
    client
}

/// Whether the socket peer may speak for the client (forwarding headers,
/// the original scheme).
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// `X-Forwarded-For` hops from the right (the last proxy's) to the left.
/// `None` marks an unreadable hop.
fn x_forwarded_for(headers: &HeaderMap) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .rev()
        .flat_map(|v| v.to_str().unwrap_or("?").rsplit(','))
        .map(parse_hop)
}

/// RFC 7239 `Forwarded: for=` hops, in order.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(http::header::FORWARDED)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("for=?").split(','))
        .filter_map(forwarded_for)
        .map(parse_hop)
        .collect()
}

/// The `for=` parameter of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]` or `[::1]:5678`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = crate::text::trim(text);
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse::<IpAddr>().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ignored_forwarding_is_told_apart() {
        let trusted = nets(&["127.0.0.1/32"]);
        let with = headers(&[("x-forwarded-for", "9.9.9.9")]);
        let outsider = ip("203.0.113.7");
        assert!(forwarding_ignored(outsider, &with, &trusted, XFF));
        assert!(!forwarding_ignored(ip("127.0.0.1"), &with, &trusted, XFF));
        assert!(!forwarding_ignored(
            outsider,
            &HeaderMap::new(),
            &trusted,
            XFF
        ));
        // Only the configured header counts.
        let other = ForwardedHeader::Forwarded;
        assert!(!forwarding_ignored(outsider, &with, &trusted, other));
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let h = headers(&[("x-forwarded-for", "9.9.9.9")]);
        let got = resolve(ip("203.0.113.7"), &h, &nets(&["127.0.0.1/32"]), XFF);
        assert_eq!(got, ip("203.0.113.7"));
    }

    #[test]
    fn trusted_peer_gives_rightmost_untrusted_hop() {
        let trusted = nets(&["127.0.0.1/32", "10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(
            resolve(ip("127.0.0.1"), &h, &trusted, XFF),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn several_xff_headers_form_one_chain() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "2.2.2.2"),
        ]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted, XFF), ip("2.2.2.2"));
    }

    #[test]
    fn forwarded_header_with_ports_and_ipv6() {
        let trusted = nets(&["::1/128"]);
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60:4711;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        let got = resolve(ip("::1"), &h, &trusted, ForwardedHeader::Forwarded);
        assert_eq!(got, ip("2001:db8:cafe::17"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=192.0.2.60"),
        ]);
        let proxy = ip("127.0.0.1");
        let got = resolve(proxy, &h, &trusted, ForwardedHeader::Forwarded);
        assert_eq!(got, ip("192.0.2.60"));
        assert_eq!(resolve(proxy, &h, &trusted, XFF), ip("6.6.6.6"));
    }

    #[test]
    fn garbage_hop_stops_the_walk_at_the_last_good_one() {
        let trusted = nets(&["127.0.0.1/32"]);
        let h = headers(&[("x-forwarded-for", "5.5.5.5, unknown")]);
        assert_eq!(resolve(ip("127.0.0.1"), &h, &trusted, XFF), ip("127.0.0.1"));
    }

    #[test]
    fn ipv4_mapped_peer_is_canonical() {
        let got = resolve(ip("::ffff:198.51.100.20"), &HeaderMap::new(), &[], XFF);
        assert_eq!(got, ip("198.51.100.20"));
    }
}
