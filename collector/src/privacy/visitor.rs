//! The visitor id: a keyed blake3 hash of site, truncated address and user
//! agent under the day's salt, cut to 64 bits. Without the salt, which is
//! erased after two days, the id cannot be linked back to anyone.

use super::TruncatedIp;
use std::net::IpAddr;

/// Each part is length-prefixed so that no two different inputs
/// concatenate to the same bytes.
pub fn visitor_id(salt: &[u8; 32], site: &str, ip: TruncatedIp, user_agent: &str) -> u64 {
    let mut octets = [0u8; 16];
    let ip: &[u8] = match ip.addr() {
        IpAddr::V4(v4) => {
            octets[..4].copy_from_slice(&v4.octets());
            &octets[..4]
        }
        IpAddr::V6(v6) => {
            octets = v6.octets();
            &octets
        }
    };
    let parts = [site.as_bytes(), ip, user_agent.as_bytes()];
    let digest = match framed_on_stack(&parts) {
        Some((buf, len)) => blake3::keyed_hash(salt, &buf[..len]),
        None => {
            let mut hasher = blake3::Hasher::new_keyed(salt);
            for part in parts {
                hasher.update(&(part.len() as u64).to_le_bytes());
                hasher.update(part);
            }
            hasher.finalize()
        }
    };
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Bytes hashed in one call when they fit: nearly every user agent does.
const FRAMED_MAX: usize = 512;

/// The length-prefixed parts in one buffer on the stack, or `None` when
/// they do not fit (the caller then feeds the hasher part by part, which
/// gives the same digest). One call over a buffer costs the hasher less
/// than six small updates, on every beacon.
fn framed_on_stack(parts: &[&[u8]; 3]) -> Option<([u8; FRAMED_MAX], usize)> {
    let len: usize = parts.iter().map(|p| 8 + p.len()).sum();
    if len > FRAMED_MAX {
        return None;
    }
    let mut buf = [0u8; FRAMED_MAX];
    let mut at = 0;
    for part in parts {
        buf[at..at + 8].copy_from_slice(&(part.len() as u64).to_le_bytes());
        buf[at + 8..at + 8 + part.len()].copy_from_slice(part);
        at += 8 + part.len();
    }
    Some((buf, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 32] = [7; 32];

    fn ip(s: &str) -> TruncatedIp {
        super::super::truncate(s.parse().unwrap())
    }

    #[test]
    fn matches_an_independent_blake3_computation() {
        // Built by hand from the documented encoding, not by visitor_id.
        let mut input = Vec::new();
        input.extend_from_slice(&11u64.to_le_bytes());
        input.extend_from_slice(b"example.com");
        input.extend_from_slice(&4u64.to_le_bytes());
        input.extend_from_slice(&[192, 0, 2, 0]);
        input.extend_from_slice(&2u64.to_le_bytes());
        input.extend_from_slice(b"UA");
        let expected = blake3::keyed_hash(&SALT, &input);
        let expected = u64::from_le_bytes(expected.as_bytes()[..8].try_into().unwrap());
        assert_eq!(
            visitor_id(&SALT, "example.com", ip("192.0.2.0"), "UA"),
            expected
        );
    }

    #[test]
    fn a_user_agent_too_long_for_the_stack_buffer_hashes_the_same_way() {
        // Built by hand, as above; long enough for the part-by-part path.
        let ua = "Mozilla/5.0 ".repeat(60);
        let mut input = Vec::new();
        for part in [
            &b"example.com"[..],
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ua.as_bytes(),
        ] {
            input.extend_from_slice(&(part.len() as u64).to_le_bytes());
            input.extend_from_slice(part);
        }
        assert!(input.len() > FRAMED_MAX);
        let expected = blake3::keyed_hash(&SALT, &input);
        let expected = u64::from_le_bytes(expected.as_bytes()[..8].try_into().unwrap());
        assert_eq!(
            visitor_id(&SALT, "example.com", ip("2001:db8::"), &ua),
            expected
        );
        // And one that just fits takes the one-call path with the same rule.
        let fits = "x".repeat(FRAMED_MAX - 8 * 3 - 11 - 4);
        let mut input = Vec::new();
        for part in [&b"example.com"[..], &[192, 0, 2, 0], fits.as_bytes()] {
            input.extend_from_slice(&(part.len() as u64).to_le_bytes());
            input.extend_from_slice(part);
        }
        assert_eq!(input.len(), FRAMED_MAX);
        let expected = blake3::keyed_hash(&SALT, &input);
        let expected = u64::from_le_bytes(expected.as_bytes()[..8].try_into().unwrap());
        assert_eq!(
            visitor_id(&SALT, "example.com", ip("192.0.2.0"), &fits),
            expected
        );
    }

    #[test]
    fn every_input_matters() {
        let base = visitor_id(&SALT, "a.com", ip("192.0.2.0"), "UA");
        assert_ne!(base, visitor_id(&[8; 32], "a.com", ip("192.0.2.0"), "UA"));
        assert_ne!(base, visitor_id(&SALT, "b.com", ip("192.0.2.0"), "UA"));
        assert_ne!(base, visitor_id(&SALT, "a.com", ip("192.0.3.0"), "UA"));
        assert_ne!(base, visitor_id(&SALT, "a.com", ip("192.0.2.0"), "UB"));
    }

    #[test]
    fn length_prefixes_prevent_shifting_bytes_between_parts() {
        let a = visitor_id(&SALT, "ab", ip("192.0.2.0"), "c");
        let b = visitor_id(&SALT, "a", ip("192.0.2.0"), "bc");
        assert_ne!(a, b);
    }
}
