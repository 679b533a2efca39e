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

use crate::clock::Clock;
use crate::visitor;
use rand::RngCore;
use schema::{salts, Db, DbError, SaltRow};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

type Salt = Zeroizing<[u8; 32]>;

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

    pub fn visitor_id(&self, site: &str, truncated_ip: IpAddr, user_agent: &str) -> u64 {
        let salt = self
            .salts
            .for_day(self.day)
            .expect("checked when the hasher was made");
        visitor::visitor_id(salt, site, truncated_ip, user_agent)
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

    /// Refreshes every `every` until `stop`, so a day change erases old salts
    /// even when no beacon arrives, and racing collectors converge.
    pub fn spawn_rotation(
        self: Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        crate::periodic::every(every, stop, move || {
            let store = self.clone();
            async move {
                if let Err(e) = store.refresh().await {
                    tracing::warn!(error = %e, "salt refresh failed");
                }
            }
        })
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
}
