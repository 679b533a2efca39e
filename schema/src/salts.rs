//! The `salts` table: reading a day's winning salt, offering a candidate,
//! and erasing expired days. Which salt to use, and when, is the
//! collector's business; erasure lives here so that `schema migrate` can
//! enforce it too, even when no collector is running.

use crate::client::{within, Db, DbError, QUERY_TIMEOUT};
use crate::cluster;
use crate::event::SaltRow;
use zeroize::Zeroizing;

/// The smallest candidate of `day` (days since the epoch), which every
/// collector agrees to use.
pub async fn smallest(db: &Db, day: u16) -> Result<Option<Zeroizing<[u8; 32]>>, DbError> {
    let query = db
        .client()
        .query("SELECT ?fields FROM salts WHERE toUInt16(day) = ? ORDER BY salt LIMIT 1")
        .bind(day);
    let row: Option<SaltRow> =
        within(QUERY_TIMEOUT, async { Ok(query.fetch_optional().await?) }).await?;
    Ok(row.map(|r| Zeroizing::new(r.salt)))
}

/// Offers a candidate salt for its day.
pub async fn offer(db: &Db, row: &SaltRow) -> Result<(), DbError> {
    within(QUERY_TIMEOUT, async {
        let mut insert = db.client().insert::<SaltRow>("salts").await?;
        insert.write(row).await?;
        Ok(insert.end().await?)
    })
    .await
}

/// Drops the partition of every day before `keep_from`, on every host in
/// cluster mode, and returns the days it erased (as `YYYY-MM-DD`).
pub async fn erase_before(db: &Db, keep_from: u16) -> Result<Vec<String>, DbError> {
    let sql = format!("SELECT DISTINCT toString(day) FROM salts WHERE toUInt16(day) < {keep_from}");
    let days: Vec<String> = db
        .fetch_tsv(&sql)
        .await?
        .lines()
        .filter(|d| is_iso_date(d))
        .map(str::to_owned)
        .collect();
    let table = cluster::local_table(db, "salts");
    for day in &days {
        // Every host, not only the day's shard: a shard added or a sharding
        // mistake must not leave a candidate behind anywhere.
        cluster::on_every_host(db, &format!("ALTER TABLE {table} DROP PARTITION '{day}'")).await?;
        tracing::info!(day = %day, "expired salt erased");
    }
    Ok(days)
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
}
