//! The network a request comes from, as the sign-in limits count it: the
//! peer address truncated to its /24 (IPv4) or /48 (IPv6). One client
//! gets one budget however many addresses of its network it uses, and
//! clients elsewhere are not affected by it.
//!
//! The peer is the socket's: behind a reverse proxy every client shares
//! the proxy's budget (forwarding headers are not read here). The type
//! keeps the truncated address to itself: it has no `Display`, and its
//! `Debug` shows nothing, so it cannot end up in a log line.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientNet(Net);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Net {
    V4([u8; 3]),
    V6([u8; 6]),
    /// No peer address was recorded (not served by the listener).
    Unknown,
}

impl ClientNet {
    /// The /24 or /48 of `ip`; an IPv4-mapped IPv6 address counts as IPv4.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Self(Net::V4([a, b, c]))
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                Self(Net::V6([o[0], o[1], o[2], o[3], o[4], o[5]]))
            }
        }
    }
}

impl std::fmt::Debug for ClientNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientNet(..)")
    }
}

/// From the peer address the listener records on every request
/// ([`schema::listener`]).
impl<S: Send + Sync> FromRequestParts<S> for ClientNet {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Self(Net::Unknown), |ConnectInfo(peer)| Self::of(peer.ip())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> ClientNet {
        ClientNet::of(s.parse().unwrap())
    }

    #[test]
    fn addresses_share_a_network_by_their_first_24_or_48_bits() {
        assert_eq!(net("198.51.100.7"), net("198.51.100.250"));
        assert_ne!(net("198.51.100.7"), net("198.51.101.7"));
        assert_eq!(net("::ffff:198.51.100.7"), net("198.51.100.9"));
        assert_eq!(net("2001:db8:1::1"), net("2001:db8:1:ffff::2"));
        assert_ne!(net("2001:db8:1::1"), net("2001:db8:2::1"));
        assert_eq!(format!("{:?}", net("198.51.100.7")), "ClientNet(..)");
    }
}
