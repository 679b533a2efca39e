//! Referrer spam: domains that fake a Referer to advertise themselves in
//! analytics reports. Owns the domain list (Matomo's, vendored under
//! `collector/data/referrer-spam/`, or an operator's file) and the check
//! whether a referrer host falls under it.

/// Lookups are on the hot path; see `schema/src/source/mod.rs` for why foldhash.
type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
use std::path::Path;

/// The vendored list; see `collector/data/referrer-spam/SOURCE.md`.
const VENDORED: &str = include_str!("../../data/referrer-spam/spammers.txt");

/// A set of spam domains. A listed domain covers all its subdomains.
#[derive(Debug, Clone, Default)]
pub struct SpamList {
    domains: HashSet<Box<str>>,
}

impl SpamList {
    /// The list vendored into the binary.
    pub fn vendored() -> Self {
        Self::parse(VENDORED)
    }

    /// Reads a list that replaces the vendored one: one domain a line;
    /// blank lines and `#` comments (whole-line or trailing) are ignored.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        std::fs::read_to_string(path).map(|text| Self::parse(&text))
    }

    /// Number of listed domains.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// True when nothing is listed (then nothing is spam).
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// True when the host or any parent domain of it is listed. Matching is on
    /// whole labels, so `notsemalt.com` and `semalt.com.example` are not
    /// caught by `semalt.com`.
    pub fn is_spam(&self, referrer_host: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let host = crate::text::trim(referrer_host).trim_end_matches('.');
        // Hosts reach us lowercased; only allocate for the odd one that is not.
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(host.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(host)
        };
        let listed = parents(&host).any(|domain| self.domains.contains(domain));
        listed
    }

    fn parse(text: &str) -> Self {
        let domains = text.lines().filter_map(parse_line).collect();
        Self { domains }
    }
}

/// The domain on one line, lowercased, or `None` for a blank or comment line.
fn parse_line(line: &str) -> Option<Box<str>> {
    let line = line.split('#').next().unwrap_or_default();
    let domain = line.trim().trim_end_matches('.');
    // The caller strips "www." from referrer hosts, so a listed "www.x" has
    // to become "x" to ever match.
    let domain = domain.strip_prefix("www.").unwrap_or(domain);
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase().into_boxed_str())
}

/// `a.b.c`, `b.c`, `c`: the host and each parent domain, longest first.
fn parents(host: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(host).filter(|h| !h.is_empty());
    std::iter::from_fn(move || {
        let current = next?;
        next = crate::text::split_at_byte(current, b'.').map(|(_, parent)| parent);
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn vendored_list_is_loaded() {
        let list = SpamList::vendored();
        // The vendored file has 2,347 lines, all distinct domains.
        assert_eq!(list.len(), 2347);
        assert!(!list.is_empty());
    }

    #[test]
    fn listed_domain_is_spam() {
        let list = SpamList::vendored();
        assert!(list.is_spam("semalt.com"));
        assert!(list.is_spam("semalt.net"));
        // Listed upper-case upstream ("QIWI.xyz"); hosts are compared lowercased.
        assert!(list.is_spam("qiwi.xyz"));
        assert!(list.is_spam("SEMALT.com."));
    }

    #[test]
    fn subdomain_of_listed_domain_is_spam() {
        let list = SpamList::vendored();
        assert!(list.is_spam("www.semalt.com"));
        assert!(list.is_spam("a.b.semalt.com"));
    }

    #[test]
    fn lookalikes_are_not_spam() {
        let list = SpamList::vendored();
        assert!(!list.is_spam("notsemalt.com.example"));
        assert!(!list.is_spam("notsemalt.com"));
        assert!(!list.is_spam("semalt.com.example"));
        assert!(!list.is_spam("com"));
        assert!(!list.is_spam("google.com"));
        assert!(!list.is_spam(""));
    }

    #[test]
    fn file_replaces_vendored_list() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "# local additions\n\nspam.example\n  Other.Example.  # trailing\n# semalt.com\nwww.third.example\n").unwrap();
        let list = SpamList::from_file(file.path()).unwrap();
        assert_eq!(list.len(), 3);
        assert!(list.is_spam("spam.example"));
        assert!(list.is_spam("x.spam.example"));
        assert!(list.is_spam("other.example"));
        assert!(list.is_spam("third.example"));
        // Commented out, and the vendored list is gone.
        assert!(!list.is_spam("semalt.com"));
        assert!(!list.is_spam("example"));
    }

    #[test]
    fn empty_file_flags_nothing() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let list = SpamList::from_file(file.path()).unwrap();
        assert!(list.is_empty());
        assert!(!list.is_spam("semalt.com"));
    }

    #[test]
    fn missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = SpamList::from_file(&dir.path().join("absent.txt")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
