//! The daily salt behind visitor ids: 32 random bytes per UTC day, agreed on
//! by every collector through ClickHouse, kept for today and yesterday only.
//!
//! Agreement without a lock: each collector that finds no salt for a day
//! offers a random candidate, and everyone uses the smallest candidate of
//! the day. Two collectors that race at midnight may briefly use different
//! salts; the periodic refresh makes them converge within one interval.
//!
//! Erasure: rotation drops every day before yesterday from the table (whole
//! partitions) and from memory (the bytes are zeroized on drop). The salt
//! bytes never leave this module except to ClickHouse: callers get hashes.
//!
//! Midnight: ids change with the salt, so a visit that crosses a UTC
//! midnight would split in two. For events in the first
//! [`STITCH_WINDOW_SECONDS`] after midnight the hasher also gives the id the
//! visitor had under the previous day's salt ([`DayHasher::previous_day_id`]),
//! stored as `prev_visitor_id`; the query service merges a visitor's id of
//! day D with that id of day D-1 to keep one visit across midnight.
//!
//! Imports ([`ImportSalts`]): events of today and yesterday are hashed under
//! the real salts, so they join live traffic; older days, whose salts are
//! erased, get a random salt made for one import request and dropped
//! (zeroized) with it. It is never stored, logged or offered to ClickHouse.

use crate::clock::{day_of, Clock, SECONDS_PER_DAY};
use crate::privacy::visitor;
use crate::privacy::TruncatedIp;
use rand::RngCore;
use schema::{salts, Db, DbError, SaltRow};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

type Salt = Zeroizing<[u8; 32]>;

/// Seconds after a UTC midnight during which an event also records its
/// visitor's id under the previous day's salt. A visit ends after 30 minutes
/// without an event, so no visit that started before midnight can continue
/// later than this without an event inside the window.
pub const STITCH_WINDOW_SECONDS: u64 = schema::event::MIDNIGHT_STITCH_SECONDS;

/// The salts in use: the day's, and the day before's while it exists.
struct DaySalts {
    day: u16,
    today: Salt,
    /// False while ClickHouse could not be reached to agree on the day's
    /// salt; the local candidate is offered again on the next refresh.
    agreed: bool,
    /// For events stamped just before midnight that arrive just after.
    yesterday: Option<Salt>,
}

impl DaySalts {
    fn for_day(&self, day: u16) -> Option<&Salt> {
        if day == self.day {
            Some(&self.today)
        } else if day + 1 == self.day {
            self.yesterday.as_ref()
        } else {
            None
        }
    }
}

/// Computes visitor ids for one day without exposing its salt.
pub struct DayHasher {
    salts: Arc<DaySalts>,
    day: u16,
}

impl DayHasher {
    /// A hasher under a fixed salt, for benchmarks and tests.
    pub fn fixed(day: u16, salt: [u8; 32]) -> Self {
        let salts = DaySalts {
            day,
            today: Zeroizing::new(salt),
            agreed: true,
            yesterday: None,
        };
        Self {
            salts: Arc::new(salts),
            day,
        }
    }

    pub fn visitor_id(&self, site: &str, truncated_ip: TruncatedIp, user_agent: &str) -> u64 {
        let salt = self
            .salts
            .for_day(self.day)
            .expect("checked when the hasher was made");
        visitor::visitor_id(salt, site, truncated_ip, user_agent)
    }

    /// The id the same visitor had under the previous UTC day's salt, for an
    /// event stamped `timestamp` within [`STITCH_WINDOW_SECONDS`] after the
    /// midnight that starts this hasher's day; 0 at any other time, or when
    /// the previous day's salt is not available. Stored as
    /// `prev_visitor_id`, it lets the query service keep one visit across
    /// midnight. (A real id of 0 has a chance of 2^-64; it reads as "none".)
    pub fn previous_day_id(
        &self,
        site: &str,
        truncated_ip: TruncatedIp,
        user_agent: &str,
        timestamp: u64,
    ) -> u64 {
        let in_window = timestamp % SECONDS_PER_DAY < STITCH_WINDOW_SECONDS;
        if !in_window || day_of(timestamp) != self.day {
            return 0;
        }
        let previous = self.day.checked_sub(1).and_then(|d| self.salts.for_day(d));
        previous.map_or(0, |salt| {
            visitor::visitor_id(salt, site, truncated_ip, user_agent)
        })
    }
}

/// The salts of one import request. Each day an import touches gets its
/// salt once and keeps it for the whole request, even if the collector
/// rotates meanwhile:
/// - a day whose salt this collector holds (today, yesterday) uses that
///   real salt, so imported server-side events join live traffic;
/// - any other day (its salt already erased) gets 32 random bytes made for
///   this request, kept in memory only and zeroized when the request ends.
///   Two imports of the same old line therefore give different ids; within
///   one import the same visitor keeps one id per day.
pub struct ImportSalts {
    store: Arc<SaltStore>,
    /// Boxed, so growing the map moves pointers, not copies of salt bytes.
    chosen: HashMap<u16, Box<Salt>>,
    /// A day's salt and its previous day's, built once per day.
    hashers: HashMap<u16, Arc<DaySalts>>,
    ephemeral: usize,
}

impl ImportSalts {
    pub fn new(store: Arc<SaltStore>) -> Self {
        Self {
            store,
            chosen: HashMap::new(),
            hashers: HashMap::new(),
            ephemeral: 0,
        }
    }

    /// The hasher for events of `day`, with the previous day's salt of this
    /// same import (real or ephemeral) for `prev_visitor_id`.
    pub async fn hasher(&mut self, day: u16) -> DayHasher {
        if let Some(salts) = self.hashers.get(&day) {
            return DayHasher {
                salts: salts.clone(),
                day,
            };
        }
        let today = self.salt(day).await;
        let yesterday = match day.checked_sub(1) {
            Some(previous) => Some(self.salt(previous).await),
            None => None,
        };
        let salts = Arc::new(DaySalts {
            day,
            today,
            agreed: true,
            yesterday,
        });
        self.hashers.insert(day, salts.clone());
        DayHasher { salts, day }
    }

    /// Days that got a salt made for this import, for the request's log line.
    pub fn ephemeral_days(&self) -> usize {
        self.ephemeral
    }

    async fn salt(&mut self, day: u16) -> Salt {
        if let Some(salt) = self.chosen.get(&day) {
            return (**salt).clone();
        }
        let salt = match self.store.salt_of(day).await {
            Some(real) => real,
            None => {
                self.ephemeral += 1;
                random_salt()
            }
        };
        self.chosen.insert(day, Box::new(salt.clone()));
        salt
    }
}

pub struct SaltStore {
    db: Db,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Arc<DaySalts>>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SaltStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaltStore")
            .field("day", &self.current_day())
            .finish_non_exhaustive()
    }
}

impl SaltStore {
    /// Loads (or creates) today's salt and erases expired ones.
    pub async fn open(db: Db, clock: Arc<dyn Clock>) -> Result<Arc<Self>, DbError> {
        let store = Arc::new(Self {
            db,
            clock,
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        });
        store.refresh().await?;
        Ok(store)
    }

    /// A hasher for events of `day` (their UTC day), rotating first when
    /// `day` is newer than the salts in memory.
    pub async fn hasher(&self, day: u16) -> Result<DayHasher, DbError> {
        if self.current_day().is_none_or(|current| day > current) {
            self.rotate_to_today().await;
        }
        let salts = self
            .snapshot()
            .ok_or_else(|| DbError::Unexpected("no salt is loaded".into()))?;
        if salts.for_day(day).is_none() {
            return Err(DbError::Unexpected(format!("no salt for day {day}")));
        }
        Ok(DayHasher { salts, day })
    }

    /// The salt of `day` if this collector holds it (today or yesterday),
    /// rotating first when `day` is newer than the salts in memory.
    async fn salt_of(&self, day: u16) -> Option<Salt> {
        if self.current_day().is_none_or(|current| day > current) {
            self.rotate_to_today().await;
        }
        self.snapshot()?.for_day(day).cloned()
    }

    /// The day of the salt in use.
    pub fn current_day(&self) -> Option<u16> {
        self.snapshot().map(|s| s.day)
    }

    /// Rotates unless another request already did while this one waited for
    /// the lock. Storage errors are tolerated: a local salt is used meanwhile.
    async fn rotate_to_today(&self) {
        let _one_at_a_time = self.refresh_lock.lock().await;
        if self.current_day() == Some(self.clock.today()) {
            return;
        }
        if let Err(e) = self.refresh_locked().await {
            tracing::warn!(error = %e, "salt refresh failed; using a local salt for now");
        }
    }

    /// Agrees on today's salt with the other collectors, loads yesterday's,
    /// then erases older ones. On a storage error the collector keeps working
    /// with a local salt for today, and the error is returned.
    pub async fn refresh(&self) -> Result<(), DbError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        self.refresh_locked().await
    }

    async fn refresh_locked(&self) -> Result<(), DbError> {
        let today = self.clock.today();
        let previous = self.snapshot().filter(|s| s.day == today);
        match self.load(today, previous.as_deref()).await {
            Ok(salts) => self.install(salts),
            Err(e) => {
                if previous.is_none() {
                    self.install(self.local_salts(today));
                }
                return Err(e);
            }
        }
        // Separate from agreement, so a failing erase never leaves the
        // collector on a local salt; it is retried on the next refresh.
        salts::erase_before(&self.db, today.saturating_sub(1)).await?;
        Ok(())
    }

    fn snapshot(&self) -> Option<Arc<DaySalts>> {
        self.current.read().expect("salt lock poisoned").clone()
    }

    /// Replacing the value drops the old salts, which zeroizes them.
    fn install(&self, salts: DaySalts) {
        *self.current.write().expect("salt lock poisoned") = Some(Arc::new(salts));
    }

    /// Today's salt when ClickHouse is unreachable. Yesterday's is carried
    /// over only if it is the one in memory.
    fn local_salts(&self, today: u16) -> DaySalts {
        let yesterday = self
            .snapshot()
            .filter(|s| s.day + 1 == today)
            .map(|s| s.today.clone());
        DaySalts {
            day: today,
            today: random_salt(),
            agreed: false,
            yesterday,
        }
    }

    async fn load(&self, today: u16, previous: Option<&DaySalts>) -> Result<DaySalts, DbError> {
        let offer = previous
            .filter(|p| !p.agreed)
            .map_or_else(random_salt, |p| p.today.clone());
        let today_salt = self.agree(today, &offer).await?;
        let yesterday = salts::smallest(&self.db, today.saturating_sub(1)).await?;
        Ok(DaySalts {
            day: today,
            today: today_salt,
            agreed: true,
            yesterday,
        })
    }

    /// The day's winning salt, offering `offer` first if the day has none.
    async fn agree(&self, day: u16, offer: &Salt) -> Result<Salt, DbError> {
        if let Some(salt) = salts::smallest(&self.db, day).await? {
            return Ok(salt);
        }
        let row = SaltRow {
            day,
            salt: **offer,
            created_at: u32::try_from(self.clock.now()).unwrap_or(u32::MAX),
        };
        salts::offer(&self.db, &row).await?;
        salts::smallest(&self.db, day)
            .await?
            .ok_or_else(|| DbError::Unexpected("an offered salt could not be read back".into()))
    }
}

fn random_salt() -> Salt {
    let mut salt = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(salt.as_mut());
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_salts_differ() {
        assert_ne!(*random_salt(), *random_salt());
    }

    #[test]
    fn a_day_uses_its_own_salt_or_yesterdays() {
        let salts = DaySalts {
            day: 100,
            today: Zeroizing::new([1; 32]),
            agreed: true,
            yesterday: Some(Zeroizing::new([2; 32])),
        };
        assert_eq!(**salts.for_day(100).unwrap(), [1; 32]);
        assert_eq!(**salts.for_day(99).unwrap(), [2; 32]);
        assert!(salts.for_day(98).is_none());
        assert!(salts.for_day(101).is_none());
    }

    fn hasher_with(day: u16, yesterday: Option<[u8; 32]>) -> DayHasher {
        let salts = DaySalts {
            day,
            today: Zeroizing::new([1; 32]),
            agreed: true,
            yesterday: yesterday.map(Zeroizing::new),
        };
        DayHasher {
            salts: Arc::new(salts),
            day,
        }
    }

    fn ip() -> TruncatedIp {
        crate::privacy::truncate("192.0.2.0".parse().unwrap())
    }

    #[test]
    fn previous_day_id_only_in_the_first_half_hour_after_midnight() {
        let day = 20_000u16;
        let midnight = u64::from(day) * SECONDS_PER_DAY;
        let hasher = hasher_with(day, Some([2; 32]));
        let expected = visitor::visitor_id(&[2; 32], "a.com", ip(), "UA");
        let at = |seconds| hasher.previous_day_id("a.com", ip(), "UA", midnight + seconds);
        assert_eq!(at(0), expected);
        assert_eq!(at(1799), expected, "the last second of the window");
        assert_eq!(at(1800), 0, "the first second after it");
        assert_eq!(at(43_200), 0);
        assert_ne!(expected, hasher.visitor_id("a.com", ip(), "UA"));
        // A timestamp on another day than the hasher's has no previous id.
        assert_eq!(
            hasher.previous_day_id("a.com", ip(), "UA", midnight + SECONDS_PER_DAY),
            0
        );
    }

    #[test]
    fn previous_day_id_is_zero_without_yesterdays_salt() {
        let day = 20_000u16;
        let midnight = u64::from(day) * SECONDS_PER_DAY;
        let hasher = hasher_with(day, None);
        assert_eq!(
            hasher.previous_day_id("a.com", ip(), "UA", midnight + 10),
            0
        );
        let fixed = DayHasher::fixed(day, [1; 32]);
        assert_eq!(fixed.previous_day_id("a.com", ip(), "UA", midnight + 10), 0);
    }
}
