//! Wall-clock time behind a trait, so tests can move the day forward and
//! watch salts rotate without waiting for midnight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub const SECONDS_PER_DAY: u64 = 86_400;

pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch, UTC.
    fn now(&self) -> u64;

    /// Days since the Unix epoch, UTC: the salt's day.
    fn today(&self) -> u16 {
        day_of(self.now())
    }
}

/// The UTC day a timestamp falls on, as ClickHouse's `Date` counts it.
pub fn day_of(seconds: u64) -> u16 {
    u16::try_from(seconds / SECONDS_PER_DAY).unwrap_or(u16::MAX)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(seconds: u64) -> Self {
        Self(AtomicU64::new(seconds))
    }

    pub fn set(&self, seconds: u64) {
        self.0.store(seconds, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}
