//! A site's k-anonymity threshold (`[[site]] min_visitors = K`) as the
//! answers apply it: which numbers it hides and how a hidden one reads.
//!
//! One rule everywhere: a count of fewer than K visitors, none included,
//! is not shown. Hiding the zeros too means a hidden value says only
//! "fewer than K", never "between 1 and K-1". Breakdown rows are merged
//! before this rule applies (see [`crate::sql::threshold`]), so it only
//! ever hides time buckets, aggregates, realtime counts and an `(other)`
//! row that is itself still small.

use super::response::Raw;
use schema::config::SiteConfig;
use serde_json::Value;

/// The dimension value of the row that small breakdown rows merge into.
pub const OTHER: &str = "(other)";

/// K: the fewest visitors a shown number may be about (at least 2, as
/// the config's validation ensures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinVisitors(u64);

impl MinVisitors {
    /// The site's threshold, if it has one.
    pub fn of(site: &SiteConfig) -> Option<Self> {
        site.min_visitors.map(|k| Self(k.into()))
    }

    pub fn k(self) -> u64 {
        self.0
    }

    /// Whether a count of `visitors` is hidden.
    pub fn hides(self, visitors: u64) -> bool {
        visitors < self.0
    }

    /// Whether a result row's numbers are hidden (all of them: its other
    /// numbers are about the same few visitors).
    pub fn hides_row(self, raw: &Raw) -> bool {
        self.hides(raw.visitors)
    }

    /// How a hidden count reads where a number cannot be null (realtime,
    /// CSV cells): `"<K"`.
    pub fn fewer(self) -> String {
        format!("<{}", self.0)
    }

    /// `visitors` as realtime answers it: the number, or `"<K"`.
    pub fn realtime(self, visitors: u64) -> Value {
        if self.hides(visitors) {
            self.fewer().into()
        } else {
            visitors.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_under_k_are_hidden_zero_included() {
        let mut site = SiteConfig::new("a.example");
        assert_eq!(MinVisitors::of(&site), None);
        site.min_visitors = Some(5);
        let k = MinVisitors::of(&site).unwrap();
        assert!((0..5).all(|n| k.hides(n)));
        assert!(!k.hides(5) && !k.hides(6));
        assert_eq!(k.realtime(4), Value::from("<5"));
        assert_eq!(k.realtime(0), Value::from("<5"));
        assert_eq!(k.realtime(5), Value::from(5));
    }
}
