//! The daily salt behind visitor ids: 32 random bytes per UTC day, agreed on
//! by every collector through ClickHouse, kept for today and yesterday only.
//!
//! Agreement without a lock: each collector that finds no salt for a day
//! inserts a random candidate, and everyone uses the smallest candidate of
//! the day. A periodic refresh makes collectors that raced at midnight
//! converge within one refresh interval.
//!
//! Erasure: rotation drops every day before yesterday from the table (whole
//! partitions) and from memory (the bytes are zeroized on drop). The salt
//! bytes never leave this module: callers get hashes, not salts.

use crate::clock::Clock;
use crate::visitor;
use rand::RngCore;
use schema::{Db, DbError, SaltRow};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

type Salt = Zeroizing<[u8; 32]>;

/// The salts in use: today's, and yesterday's while it exists.
struct DaySalts {
    day: u16,
    today: Salt,
    /// False while ClickHouse could not be reached to agree on today's salt;
    /// the local candidate is offered again on the next refresh.
    agreed: bool,
    #[allow(dead_code)] // kept so sessions crossing midnight can be joined later
    yesterday: Option<Salt>,
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

    /// The visitor id under today's salt, rotating first if the day changed.
    pub async fn visitor_id(
        &self,
        site: &str,
        truncated_ip: IpAddr,
        user_agent: &str,
    ) -> Result<u64, DbError> {
        let today = self.clock.today();
        if self.current_day() != Some(today) {
            // Errors here are tolerated: refresh installs a local salt.
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "salt refresh failed; using a local salt");
            }
        }
        let salts = self.snapshot().ok_or_else(|| DbError::SchemaMismatch {
            table: "salts".into(),
            detail: "no salt is loaded".into(),
        })?;
        Ok(visitor::visitor_id(
            &salts.today,
            site,
            truncated_ip,
            user_agent,
        ))
    }

    /// The day of the salt in use.
    pub fn current_day(&self) -> Option<u16> {
        self.snapshot().map(|s| s.day)
    }

    /// Agrees on today's salt with the other collectors, loads yesterday's,
    /// and erases older ones. On a storage error the collector keeps working
    /// with a local salt for today, and the error is returned.
    pub async fn refresh(&self) -> Result<(), DbError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let today = self.clock.today();
        let previous = self.snapshot().filter(|s| s.day == today);
        match self.load(today, previous.as_deref()).await {
            Ok(salts) => {
                self.install(salts);
                Ok(())
            }
            Err(e) => {
                if previous.is_none() {
                    self.install(self.local_salts(today));
                }
                Err(e)
            }
        }
    }

    /// Refreshes every `every` until `stop`, so a day change erases old salts
    /// even when no beacon arrives, and racing collectors converge.
    pub fn spawn_rotation(
        self: Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                if let Err(e) = self.refresh().await {
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
        let yesterday = today.saturating_sub(1);
        self.erase_before(yesterday).await?;
        let offer = previous
            .filter(|p| !p.agreed)
            .map_or_else(random_salt, |p| p.today.clone());
        let today_salt = self.agree(today, &offer).await?;
        let yesterday_salt = self.smallest(yesterday).await?;
        Ok(DaySalts {
            day: today,
            today: today_salt,
            agreed: true,
            yesterday: yesterday_salt,
        })
    }

    /// The day's winning salt, offering `offer` first if the day has none.
    async fn agree(&self, day: u16, offer: &Salt) -> Result<Salt, DbError> {
        if let Some(salt) = self.smallest(day).await? {
            return Ok(salt);
        }
        let row = SaltRow {
            day,
            salt: **offer,
            created_at: u32::try_from(self.clock.now()).unwrap_or(u32::MAX),
        };
        let mut insert = self.db.client().insert::<SaltRow>("salts").await?;
        insert.write(&row).await?;
        insert.end().await?;
        self.smallest(day)
            .await?
            .ok_or_else(|| DbError::SchemaMismatch {
                table: "salts".into(),
                detail: "an inserted salt could not be read back".into(),
            })
    }

    async fn smallest(&self, day: u16) -> Result<Option<Salt>, DbError> {
        let row: Option<SaltRow> = self
            .db
            .client()
            .query("SELECT ?fields FROM salts WHERE toUInt16(day) = ? ORDER BY salt LIMIT 1")
            .bind(day)
            .fetch_optional()
            .await?;
        Ok(row.map(|r| Zeroizing::new(r.salt)))
    }

    /// Drops the partition of every day before `keep_from`.
    async fn erase_before(&self, keep_from: u16) -> Result<(), DbError> {
        let sql =
            format!("SELECT DISTINCT toString(day) FROM salts WHERE toUInt16(day) < {keep_from}");
        let days = self.db.fetch_tsv(&sql).await?;
        for day in days.lines().filter(|d| is_iso_date(d)) {
            self.db
                .execute(&format!("ALTER TABLE salts DROP PARTITION '{day}'"))
                .await?;
            tracing::info!(day, "expired salt erased");
        }
        Ok(())
    }
}

fn random_salt() -> Salt {
    let mut salt = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(salt.as_mut());
    salt
}

/// Guards the string spliced into `DROP PARTITION`.
fn is_iso_date(s: &str) -> bool {
    s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_date_guard() {
        assert!(is_iso_date("2026-11-30"));
        assert!(!is_iso_date("2026-11-30' OR 1"));
        assert!(!is_iso_date("20261130"));
    }

    #[test]
    fn random_salts_differ() {
        assert_ne!(*random_salt(), *random_salt());
    }
}
