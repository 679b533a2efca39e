//! The visitor id: a keyed blake3 hash of site, truncated address and user
//! agent under the day's salt, cut to 64 bits. Without the salt, which is
//! erased after two days, the id cannot be linked back to anyone.

use std::net::IpAddr;

/// Each part is length-prefixed so that no two different inputs
/// concatenate to the same bytes.
pub fn visitor_id(salt: &[u8; 32], site: &str, truncated_ip: IpAddr, user_agent: &str) -> u64 {
    let ip = match truncated_ip.to_canonical() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    let mut hasher = blake3::Hasher::new_keyed(salt);
    for part in [site.as_bytes(), &ip, user_agent.as_bytes()] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; 32] = [7; 32];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
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
