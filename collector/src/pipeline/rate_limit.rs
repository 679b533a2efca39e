//! Rate limits with `governor`: per visitor (keyed by the visitor id, a
//! salted hash that already includes the site, never an address) and per
//! site. Beacons over a limit are dropped as `rate-limited`.
//!
//! Keyed limiters remember every key they have seen, so a periodic clean-up
//! forgets keys whose limit has fully recovered, which bounds their memory
//! by the number of visitors active within one limit period.

use governor::clock::DefaultClock;
use governor::state::keyed::DashMapStateStore;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use schema::config::{CollectorConfig, SiteConfig};
use std::collections::HashMap;
use std::num::NonZeroU32;

/// Keyed by visitor id, which is already a salted hash: foldhash (seeded
/// per process) spreads it as well as SipHash does, at a fraction of the
/// cost on every beacon.
type VisitorLimiter = RateLimiter<u64, DashMapStateStore<u64, Hasher>, DefaultClock>;
type Hasher = foldhash::fast::RandomState;

#[derive(Debug, Default)]
pub struct RateLimits {
    visitor: Option<VisitorLimiter>,
    /// One limiter per configured site: the set is fixed, so no clean-up
    /// and no allocation per check.
    sites: HashMap<String, DefaultDirectRateLimiter, Hasher>,
}

impl RateLimits {
    /// A limit of 0 in the config turns that limiter off.
    pub fn new(c: &CollectorConfig, sites: &[SiteConfig]) -> Self {
        let visitor = NonZeroU32::new(c.visitor_events_per_minute)
            .map(|n| RateLimiter::dashmap_with_hasher(Quota::per_minute(n), Hasher::default()));
        let sites = NonZeroU32::new(c.site_events_per_second)
            .map(|n| {
                sites
                    .iter()
                    .map(|s| (s.domain.clone(), RateLimiter::direct(Quota::per_second(n))))
                    .collect()
            })
            .unwrap_or_default();
        Self { visitor, sites }
    }

    /// Takes one event from the visitor's and then the site's allowance. A
    /// visitor over its own limit does not use up the site's.
    pub fn allow(&self, site: &str, visitor_id: u64) -> bool {
        let visitor_ok = self
            .visitor
            .as_ref()
            .is_none_or(|l| l.check_key(&visitor_id).is_ok());
        visitor_ok && self.sites.get(site).is_none_or(|l| l.check().is_ok())
    }

    /// Keys tracked now, for tests and metrics.
    pub fn tracked_keys(&self) -> usize {
        self.visitor.as_ref().map_or(0, |l| l.len())
    }

    /// Forgets fully recovered keys.
    pub fn clean_up(&self) {
        if let Some(l) = &self.visitor {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32, per_second: u32) -> RateLimits {
        let c = CollectorConfig {
            visitor_events_per_minute: per_minute,
            site_events_per_second: per_second,
            ..CollectorConfig::default()
        };
        let sites = [SiteConfig::new("a.com"), SiteConfig::new("b.com")];
        RateLimits::new(&c, &sites)
    }

    #[test]
    fn a_visitor_gets_its_allowance_and_no_more() {
        let l = limits(3, 0);
        let allowed = (0..5).filter(|_| l.allow("a.com", 7)).count();
        assert_eq!(allowed, 3);
        assert!(l.allow("a.com", 8), "another visitor has its own allowance");
    }

    #[test]
    fn a_site_limit_covers_all_its_visitors() {
        let l = limits(0, 2);
        let allowed = (0..10u64).filter(|v| l.allow("a.com", *v)).count();
        assert!(allowed <= 3, "{allowed} allowed at 2/s");
        assert!(l.allow("b.com", 1), "another site has its own allowance");
    }

    #[test]
    fn zero_turns_limits_off() {
        let l = limits(0, 0);
        assert!((0..1000).all(|_| l.allow("a.com", 1)));
        assert_eq!(l.tracked_keys(), 0);
    }

    #[test]
    fn clean_up_keeps_only_keys_still_limited() {
        let l = limits(1000, 0);
        for visitor in 0..100 {
            l.allow("a.com", visitor);
        }
        assert_eq!(l.tracked_keys(), 100);
        l.clean_up();
        // Each key used a thousandth of its allowance a moment ago: not yet
        // recovered, so kept. Recovery takes 60 ms per event at 1000/min.
        assert_eq!(l.tracked_keys(), 100);
        std::thread::sleep(std::time::Duration::from_millis(120));
        l.clean_up();
        assert_eq!(l.tracked_keys(), 0);
    }
}
