//! Retention: erasing every stored row older than its site's
//! `retention_days`, in `events` and in every table derived from it.
//!
//! An event of UTC day `E` is kept while `today - E <= retention_days`, and
//! erased from the day after. Sites in the database but not in the config
//! (a site removed from it) get the default, [`DEFAULT_RETENTION_DAYS`]:
//! removing a site from the config does not keep its data forever.
//!
//! How rows go: a monthly partition in which every row has expired, for
//! every site that has rows in it, is dropped whole (cheap, immediate);
//! expired rows in other months go with one delete mutation per table,
//! waited for (see [`crate::erase`]). `events` goes first, so that a
//! materializer running meanwhile cannot rebuild derived rows from it.
//!
//! Running it twice, or on several collectors at once, is harmless: a
//! dropped partition or a deleted row is not there the second time.
//!
//! On servers with table TTL (21.1 and later; 18.16 has none) each run also
//! sets every site table's TTL to the same per-site rule, so the server
//! itself expires rows in its merges even while no collector runs. The
//! rule is set with `materialize_ttl_after_modify = 0`, a metadata change
//! that rewrites no part. The run's own drops and deletes stay: they are
//! exact on the day, while a TTL acts only when parts are merged.

use crate::client::{Db, DbError};
use crate::config::{Config, DEFAULT_RETENTION_DAYS};
use crate::erase;
use crate::site_tables::{site_tables, sum_over, SiteTable, TimeColumn};
use std::collections::BTreeMap;
use std::time::Duration;

/// The first day kept for each site (UTC days since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoffs {
    /// Configured sites and their first kept day.
    pub sites: Vec<(String, u32)>,
    /// The first kept day of every other site.
    pub others: u32,
    /// The day the cutoffs were taken on, so each site's retention in days
    /// (for a table TTL) is `today - cutoff`.
    pub today: u32,
}

impl Cutoffs {
    /// The cutoffs on `today` (days since the epoch) for the config's sites.
    pub fn for_config(config: &Config, today: u32) -> Self {
        Self {
            sites: config
                .site
                .iter()
                .map(|s| (s.domain.clone(), today.saturating_sub(s.retention_days)))
                .collect(),
            others: today.saturating_sub(DEFAULT_RETENTION_DAYS),
            today,
        }
    }

    /// `ALTER TABLE ... MODIFY TTL` giving `table` the same rule: a row of
    /// day `E` goes from day `E + retention_days + 1`, as in [`enforce`].
    pub fn ttl_sql(&self, table: &str, time: &TimeColumn) -> String {
        let keep = |cutoff: u32| self.today.saturating_sub(cutoff) + 1;
        let names: Vec<String> = self.sites.iter().map(|(s, _)| format!("'{s}'")).collect();
        let days: Vec<String> = self
            .sites
            .iter()
            .map(|(_, d)| format!("toUInt32({})", keep(*d)))
            .collect();
        let days_kept = if self.sites.is_empty() {
            format!("toUInt32({})", keep(self.others))
        } else {
            format!(
                "transform(site, [{}], [{}], toUInt32({}))",
                names.join(", "),
                days.join(", "),
                keep(self.others)
            )
        };
        format!(
            "ALTER TABLE {table} MODIFY TTL toDate({}) + toIntervalDay({days_kept})",
            time.name
        )
    }

    /// SQL that is true for an expired row; `day` is the SQL of the row's
    /// day number. The domains are validated config values (letters,
    /// digits, dots and dashes), so they need no escaping.
    pub fn expired_sql(&self, day: &str) -> String {
        if self.sites.is_empty() {
            return format!("{day} < {}", self.others);
        }
        let names: Vec<String> = self.sites.iter().map(|(s, _)| format!("'{s}'")).collect();
        let days: Vec<String> = self
            .sites
            .iter()
            .map(|(_, d)| format!("toUInt32({d})"))
            .collect();
        format!(
            "{day} < transform(site, [{}], [{}], toUInt32({}))",
            names.join(", "),
            days.join(", "),
            self.others
        )
    }

    /// The latest first-kept day of any site: no row on or after it expires.
    fn latest(&self) -> u32 {
        self.sites
            .iter()
            .map(|(_, d)| *d)
            .fold(self.others, u32::max)
    }
}

/// What one run removed from one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableOutcome {
    pub table: String,
    /// Months (`YYYYMM`) dropped whole.
    pub dropped_months: Vec<u32>,
    /// Rows those months held.
    pub rows_dropped: u64,
    /// Rows removed by the delete mutation.
    pub rows_deleted: u64,
}

impl TableOutcome {
    pub fn rows(&self) -> u64 {
        self.rows_dropped + self.rows_deleted
    }
}

/// What one run removed, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub tables: Vec<TableOutcome>,
}

impl RetentionReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(TableOutcome::rows).sum()
    }
}

impl std::fmt::Display for RetentionReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for t in &self.tables {
            writeln!(
                f,
                "{}: {} row(s) removed ({} in dropped month(s) {:?}, {} by a delete mutation)",
                t.table,
                t.rows(),
                t.rows_dropped,
                t.dropped_months,
                t.rows_deleted
            )?;
        }
        Ok(())
    }
}

/// Erases what expired by `cutoffs` from every site table on `hosts` (one
/// host for a single server), reading the tables from the first host.
pub async fn enforce(
    hosts: &[Db],
    cutoffs: &Cutoffs,
    deadline: Duration,
) -> Result<RetentionReport, DbError> {
    let Some(first) = hosts.first() else {
        return Ok(RetentionReport::default());
    };
    let mut report = RetentionReport::default();
    for table in site_tables(first).await? {
        set_ttl(hosts, &table, cutoffs).await?;
        report
            .tables
            .push(enforce_table(hosts, &table, cutoffs, deadline).await?);
    }
    Ok(report)
}

/// Sets the table TTL on every host whose server has one.
async fn set_ttl(hosts: &[Db], table: &SiteTable, cutoffs: &Cutoffs) -> Result<(), DbError> {
    let Some(time) = &table.time else {
        return Ok(());
    };
    let sql = cutoffs.ttl_sql(&table.name, time);
    for db in hosts.iter().filter(|db| db.version().supports_table_ttl()) {
        db.execute_with(&sql, &[("materialize_ttl_after_modify", "0")])
            .await?;
    }
    Ok(())
}

async fn enforce_table(
    hosts: &[Db],
    table: &SiteTable,
    cutoffs: &Cutoffs,
    deadline: Duration,
) -> Result<TableOutcome, DbError> {
    let time = table.time.as_ref().ok_or_else(|| {
        DbError::Unexpected(format!(
            "table `{}` has a `site` column but none of `timestamp`, `chunk`, `day`: \
             retention cannot tell the age of its rows",
            table.name
        ))
    })?;
    let expired = cutoffs.expired_sql(&time.day_sql());
    let mut outcome = TableOutcome {
        table: table.name.clone(),
        ..TableOutcome::default()
    };
    let mut left = 0;
    if table.monthly {
        for (month, (rows, expired_rows)) in months(hosts, table, time, &expired, cutoffs).await? {
            if expired_rows == rows && rows > 0 {
                erase::drop_month(hosts, &table.name, month).await?;
                outcome.dropped_months.push(month);
                outcome.rows_dropped += rows;
            } else {
                left += expired_rows;
            }
        }
    } else {
        let sql = format!("SELECT count() FROM {} WHERE {expired}", table.name);
        left = sum_over(hosts, &sql).await?;
    }
    if left > 0 {
        erase::delete_rows(hosts, &table.name, &expired, deadline).await?;
        outcome.rows_deleted = left;
    }
    Ok(outcome)
}

/// `month -> (rows, expired rows)` over all hosts, for the months that may
/// hold expired rows.
async fn months(
    hosts: &[Db],
    table: &SiteTable,
    time: &TimeColumn,
    expired: &str,
    cutoffs: &Cutoffs,
) -> Result<BTreeMap<u32, (u64, u64)>, DbError> {
    let month = time.month_sql();
    let last = month_of_day(cutoffs.latest());
    let sql = format!(
        "SELECT {month} AS retention_month, count(), countIf({expired}) FROM {} \
         WHERE {month} <= {last} GROUP BY retention_month",
        table.name
    );
    let mut out: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for db in hosts {
        for row in db.fetch_rows(&sql).await? {
            let numbers: Vec<u64> = row.iter().filter_map(|v| v.parse().ok()).collect();
            if let [m, rows, expired_rows] = numbers.as_slice() {
                let entry = out.entry(u32::try_from(*m).unwrap_or(0)).or_default();
                entry.0 += rows;
                entry.1 += expired_rows;
            }
        }
    }
    Ok(out)
}

/// `YYYYMM` of a day number.
pub fn month_of_day(day: u32) -> u32 {
    let date = chrono::DateTime::from_timestamp(i64::from(day) * 86_400, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    use chrono::Datelike;
    u32::try_from(date.year()).unwrap_or(0) * 100 + date.month()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SiteConfig;

    #[test]
    fn cutoffs_follow_each_sites_retention() {
        let mut config = Config::default();
        let mut short = SiteConfig::new("a.com");
        short.retention_days = 10;
        config.site = vec![short, SiteConfig::new("b.com")];
        let c = Cutoffs::for_config(&config, 20_000);
        assert_eq!(
            c.sites,
            [("a.com".to_string(), 19_990), ("b.com".to_string(), 19_210)]
        );
        assert_eq!(c.others, 19_210);
        assert_eq!(c.latest(), 19_990);
        assert_eq!(
            c.expired_sql("d"),
            "d < transform(site, ['a.com', 'b.com'], [toUInt32(19990), toUInt32(19210)], toUInt32(19210))"
        );
        let time = TimeColumn {
            name: "timestamp".into(),
            is_date: false,
        };
        // Kept for 10 and 790 days: gone on the 11th and 791st day after.
        assert_eq!(
            c.ttl_sql("events", &time),
            "ALTER TABLE events MODIFY TTL toDate(timestamp) + toIntervalDay(transform(site, \
             ['a.com', 'b.com'], [toUInt32(11), toUInt32(791)], toUInt32(791)))"
        );
    }

    #[test]
    fn without_sites_everything_gets_the_default() {
        let c = Cutoffs::for_config(&Config::default(), 1000);
        assert_eq!(c.expired_sql("d"), "d < 210");
    }

    #[test]
    fn months_of_days() {
        assert_eq!(month_of_day(0), 197_001);
        // 2024-02-29 is day 19782.
        assert_eq!(month_of_day(19_782), 202_402);
        assert_eq!(month_of_day(19_783), 202_403);
    }
}
