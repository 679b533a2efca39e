//! The truncated address: IPv4 to its /24, IPv6 to its /48. Location,
//! the datacenter filter and the visitor id are worked out from this alone.
//!
//! [`TruncatedIp`] can only be made by [`truncate`], so a function that
//! takes one is sure to get a truncated address. It has no `Debug` or
//! `Display` either: even the truncated address is never logged or stored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address cut to its /24 (IPv4) or /48 (IPv6).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TruncatedIp(IpAddr);

impl TruncatedIp {
    /// The truncated address itself, for lookups (GeoIP, ranges, hashing).
    pub fn addr(self) -> IpAddr {
        self.0
    }
}

/// IPv4 (and IPv4-mapped IPv6) to its /24, IPv6 to its /48.
pub fn truncate(ip: IpAddr) -> TruncatedIp {
    TruncatedIp(match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate(ip("198.51.100.201")).addr(), ip("198.51.100.0"));
        assert_eq!(
            truncate(ip("2001:db8:abcd:12:1:2:3:4")).addr(),
            ip("2001:db8:abcd::")
        );
        assert_eq!(
            truncate(ip("::ffff:198.51.100.201")).addr(),
            ip("198.51.100.0")
        );
    }

    /// The privacy statement states the prefix lengths from schema's
    /// constants; this keeps them the ones applied here.
    #[test]
    fn truncation_is_what_the_privacy_statement_says() {
        use schema::privacy_statement::{IPV4_PREFIX_BITS, IPV6_PREFIX_BITS};
        for (address, bits) in [
            ("203.0.113.77", IPV4_PREFIX_BITS),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", IPV6_PREFIX_BITS),
        ] {
            let network = ipnet::IpNet::new(ip(address), bits).unwrap();
            assert_eq!(truncate(ip(address)).addr(), network.network(), "{address}");
        }
    }
}
