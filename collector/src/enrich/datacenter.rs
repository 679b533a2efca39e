//! Optional datacenter traffic filter: a set of CIDR ranges (cloud and
//! hosting providers) whose traffic is dropped as non-human.
//!
//! The ranges come from `[collector] datacenter_ranges_file`, one CIDR range
//! a line. They are normalised once at start-up into sorted, merged,
//! non-overlapping inclusive integer ranges per address family, so a lookup
//! is a binary search: O(log n), no allocation, no locks.
//!
//! Lookups take the *truncated* address (IPv4 /24, IPv6 /48), because the
//! full address is never kept past the privacy step. A range narrower than
//! the truncation prefix therefore matches only if it contains the
//! truncated network address itself: `192.0.2.0/28` matches `192.0.2.0`
//! (every truncated address of that /24), while `192.0.2.128/25` never
//! matches. Lists are almost always made of /24-or-wider blocks, so this
//! loses little; widening narrow ranges to /24 instead would drop whole
//! neighbourhoods of residential traffic on the strength of one host.

use crate::privacy::TruncatedIp;
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Why a ranges file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DatacenterError {
    #[error("cannot read datacenter ranges file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {text:?} is not a CIDR range or IP address", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        text: String,
    },
}

/// Datacenter networks, ready for membership tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Datacenters {
    /// Inclusive `(first, last)` ranges, sorted by `first`, merged so none
    /// overlap or touch: that is what makes the binary search exact.
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Datacenters {
    /// Reads a file of CIDR ranges, one per line. Blank lines and `#`
    /// comments (whole-line or trailing) are ignored; a bare address counts
    /// as a single-host range. Errors name the file and the 1-based line.
    pub fn from_file(path: &Path) -> Result<Self, DatacenterError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatacenterError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut ranges = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let entry = raw.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            let net = parse_entry(entry).ok_or_else(|| DatacenterError::Parse {
                path: path.to_owned(),
                line: index + 1,
                text: entry.to_owned(),
            })?;
            ranges.push(net);
        }
        Ok(Self::from_ranges(ranges))
    }

    /// Builds the set from ranges in any order, overlapping or not. Host
    /// bits below a range's prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn from_ranges(ranges: impl IntoIterator<Item = IpNet>) -> Self {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for net in ranges {
            match net.trunc() {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        Self {
            v4: merge(v4),
            v6: merge(v6),
        }
    }

    /// The number of disjoint ranges left after merging overlapping and
    /// adjacent ones (so two halves of a /23 count as one).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether the truncated address lies in a datacenter range; see the
    /// module doc for ranges narrower than the truncation prefix.
    pub fn contains(&self, ip: TruncatedIp) -> bool {
        self.contains_addr(ip.addr())
    }

    /// The range search itself, on any address (the unit tests probe range
    /// edges with addresses no truncation gives).
    fn contains_addr(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => in_ranges(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => in_ranges(&self.v6, u128::from(v6)),
        }
    }
}

/// A CIDR range, or a bare address as a host range.
fn parse_entry(entry: &str) -> Option<IpNet> {
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Sorts and coalesces inclusive ranges that overlap or touch.
fn merge<T: Copy + Ord + Successor>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            // `last + 1` would overflow at the top of the space, where the
            // range necessarily reaches anyway; `checked` handles both.
            Some(prev) if prev.1.successor().is_none_or(|next| first <= next) => {
                prev.1 = prev.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    merged.shrink_to_fit();
    merged
}

/// The last range starting at or before `x` is the only one that can hold it.
fn in_ranges<T: Copy + Ord>(ranges: &[(T, T)], x: T) -> bool {
    let after = ranges.partition_point(|&(first, _)| first <= x);
    after > 0 && x <= ranges[after - 1].1
}

/// `x + 1`, or `None` at the top of the address space.
trait Successor: Sized {
    fn successor(self) -> Option<Self>;
}

impl Successor for u32 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl Successor for u128 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn set(ranges: &[&str]) -> Datacenters {
        Datacenters::from_ranges(ranges.iter().map(|r| r.parse::<IpNet>().unwrap()))
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn parses_ranges_comments_and_blank_lines() {
        let f = file(
            "# AWS\n\n  3.0.0.0/9  \n52.94.0.0/22 # us-east-1\n2600:1f00::/24\n198.51.100.7\n",
        );
        let dc = Datacenters::from_file(f.path()).unwrap();
        assert_eq!(dc.len(), 4);
        assert!(dc.contains_addr(ip("3.127.255.0")));
        assert!(dc.contains_addr(ip("52.94.3.0")));
        assert!(dc.contains_addr(ip("2600:1f12:abcd::")));
        assert!(dc.contains_addr(ip("198.51.100.7")));
        assert!(!dc.contains_addr(ip("3.128.0.0")));
        // Through the pipeline's door: a host range does not match the
        // truncated address of its own /24 unless it is the network address.
        assert!(!dc.contains(crate::privacy::truncate(ip("198.51.100.7"))));
        assert!(dc.contains(crate::privacy::truncate(ip("3.127.255.201"))));
    }

    #[test]
    fn bad_line_is_named_by_file_and_number() {
        let f = file("# header\n10.0.0.0/8\n\n10.0.0.0/33\n");
        let err = Datacenters::from_file(f.path()).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, DatacenterError::Parse { line: 4, .. }),
            "{err:?}"
        );
        assert!(message.contains(":4:"), "{message}");
        assert!(message.contains("10.0.0.0/33"), "{message}");
        assert!(
            message.contains(&f.path().display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn missing_file_is_named() {
        let err = Datacenters::from_file(Path::new("/nonexistent/ranges.txt")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ranges.txt"), "{err}");
    }

    #[test]
    fn empty_file_is_empty_set() {
        let dc = Datacenters::from_file(file("# nothing yet\n\n").path()).unwrap();
        assert!(dc.is_empty());
        assert_eq!(dc.len(), 0);
        assert!(!dc.contains_addr(ip("1.2.3.0")));
        assert!(!dc.contains_addr(ip("2001:db8::")));
    }

    #[test]
    fn v4_edges() {
        let dc = set(&["10.0.0.0/16", "192.0.2.0/24"]);
        assert!(dc.contains_addr(ip("10.0.0.0")));
        assert!(dc.contains_addr(ip("10.0.255.255")));
        assert!(!dc.contains_addr(ip("9.255.255.255")));
        assert!(!dc.contains_addr(ip("10.1.0.0")));
        assert!(dc.contains_addr(ip("192.0.2.0")));
        assert!(!dc.contains_addr(ip("192.0.1.0")));
        assert!(!dc.contains_addr(ip("192.0.3.0")));
        assert!(!dc.contains_addr(ip("0.0.0.0")));
        assert!(!dc.contains_addr(ip("255.255.255.255")));
    }

    #[test]
    fn v6_edges_and_families_stay_apart() {
        let dc = set(&["2001:db8::/48", "10.0.0.0/8"]);
        assert!(dc.contains_addr(ip("2001:db8::")));
        assert!(dc.contains_addr(ip("2001:db8:0:ffff:ffff:ffff:ffff:ffff")));
        assert!(!dc.contains_addr(ip("2001:db8:1::")));
        assert!(!dc.contains_addr(ip("2001:db7:ffff::")));
        // 10/8 as an IPv6 prefix is not IPv4 space; a mapped address is.
        assert!(!dc.contains_addr(ip("a00::")));
        assert!(dc.contains_addr(ip("::ffff:10.1.2.0")));
    }

    #[test]
    fn overlapping_nested_and_adjacent_ranges_merge() {
        let dc = set(&[
            "10.0.0.0/8",
            "10.20.0.0/16", // nested
            "11.0.0.0/9",   // adjacent to 10/8
            "11.64.0.0/10", // overlaps 11.0/9
            "11.200.0.0/16",
            "2001:db8::/32",
            "2001:db8:8000::/33",
        ]);
        assert_eq!(dc.len(), 3, "{dc:?}");
        assert!(dc.contains_addr(ip("10.20.5.0")));
        assert!(dc.contains_addr(ip("11.127.255.0")));
        assert!(!dc.contains_addr(ip("11.128.0.0")));
        assert!(dc.contains_addr(ip("11.200.0.0")));
        assert!(dc.contains_addr(ip("2001:db8:ffff::")));
    }

    #[test]
    fn whole_space_and_host_bits() {
        let dc = set(&["0.0.0.0/0", "::/0", "255.255.255.255/32"]);
        assert_eq!(dc.len(), 2);
        assert!(dc.contains_addr(ip("255.255.255.255")));
        assert!(dc.contains_addr(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        let dc = set(&["10.1.2.3/8"]);
        assert!(dc.contains_addr(ip("10.0.0.0")));
    }

    #[test]
    fn narrow_range_matches_only_the_truncated_network_address() {
        let dc = set(&["192.0.2.0/28", "198.51.100.128/25", "2001:db8:0:1::/64"]);
        assert!(dc.contains_addr(ip("192.0.2.0")));
        assert!(!dc.contains_addr(ip("198.51.100.0")));
        assert!(!dc.contains_addr(ip("2001:db8::")));
    }
}
