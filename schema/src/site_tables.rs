//! Which tables hold a site's data: every MergeTree table of the database
//! with a `site` column, found in `system.tables`, so that a table added by
//! a later migration is covered by retention, deletion and their tests
//! without a list to keep up to date.
//!
//! Views are skipped (their rows live in the tables they write to), and so
//! are `Distributed` tables (their rows live in the hosts' local tables).
//! `visit_chunks` and `visit_days` have no `site` column: they record which
//! hours and days were materialized, for every site at once, and hold no
//! site's data.

use crate::client::{Db, DbError};
use std::collections::BTreeMap;

/// Time columns retention understands, in the order they are looked for.
/// `visit_events` has both `timestamp` and `chunk`; its rows expire by
/// `timestamp`, like the events they come from.
const TIME_COLUMNS: [&str; 3] = ["timestamp", "chunk", "day"];

/// A table with site data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTable {
    pub name: String,
    /// The column a row's age is read from, if the table has one.
    pub time: Option<TimeColumn>,
    /// True when the table is `PARTITION BY toYYYYMM(<time column>)`, so a
    /// whole month can be dropped at once.
    pub monthly: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeColumn {
    pub name: String,
    /// `Date` (a day number) rather than `DateTime` (seconds).
    pub is_date: bool,
}

impl TimeColumn {
    /// The UTC day number (days since the Unix epoch) of a row, as SQL.
    pub fn day_sql(&self) -> String {
        if self.is_date {
            format!("toUInt32({})", self.name)
        } else {
            format!("intDiv(toUInt32({}), 86400)", self.name)
        }
    }

    /// The row's month as `YYYYMM`, the value of a monthly partition.
    pub fn month_sql(&self) -> String {
        format!("toYYYYMM({})", self.name)
    }
}

/// The site-data tables of `db`'s database, `events` first: it is the
/// source the others are derived from, so it is erased before them.
pub async fn site_tables(db: &Db) -> Result<Vec<SiteTable>, DbError> {
    let database = db.database();
    let tables = db
        .fetch_rows(&format!(
            "SELECT name, engine, partition_key FROM system.tables WHERE database = '{database}'"
        ))
        .await?;
    let columns = db
        .fetch_rows(&format!(
            "SELECT table, name, type FROM system.columns WHERE database = '{database}' \
             AND name IN ('site', 'timestamp', 'chunk', 'day')"
        ))
        .await?;
    let mut by_table: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for row in &columns {
        if let [table, name, ty] = row.as_slice() {
            by_table.entry(table).or_default().push((name, ty));
        }
    }
    let mut found: Vec<SiteTable> = tables
        .iter()
        .filter_map(|row| match row.as_slice() {
            [name, engine, partition_key] if engine.ends_with("MergeTree") => {
                describe(name, partition_key, by_table.get(name.as_str())?)
            }
            _ => None,
        })
        .collect();
    // `events_local` on a cluster's hosts.
    let is_events = |name: &str| {
        name.strip_suffix(crate::cluster::LOCAL_SUFFIX)
            .unwrap_or(name)
            == "events"
    };
    found.sort_by_key(|t| (!is_events(&t.name), t.name.clone()));
    Ok(found)
}

/// The sum of a one-number query (such as a `count()`) over all hosts.
pub async fn sum_over(hosts: &[Db], sql: &str) -> Result<u64, DbError> {
    let mut total = 0;
    for db in hosts {
        let text = db.fetch_tsv(sql).await?;
        total += text
            .trim()
            .parse::<u64>()
            .map_err(|_| DbError::Unexpected(format!("`{sql}` gave `{}`", text.trim())))?;
    }
    Ok(total)
}

fn describe(name: &str, partition_key: &str, columns: &[(&str, &str)]) -> Option<SiteTable> {
    columns.iter().find(|(c, _)| *c == "site")?;
    let time = TIME_COLUMNS.iter().find_map(|wanted| {
        let (column, ty) = columns.iter().find(|(c, _)| c == wanted)?;
        Some(TimeColumn {
            name: (*column).to_owned(),
            is_date: *ty == "Date",
        })
    });
    let monthly = time
        .as_ref()
        .is_some_and(|t| partition_key.replace(' ', "") == t.month_sql());
    Some(SiteTable {
        name: name.to_owned(),
        time,
        monthly,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_needs_a_site_column() {
        assert_eq!(describe("t", "", &[("timestamp", "DateTime")]), None);
    }

    #[test]
    fn time_column_and_monthly_partitions_are_recognised() {
        let events = describe(
            "visit_events",
            "toYYYYMM(timestamp)",
            &[
                ("site", "String"),
                ("chunk", "DateTime('UTC')"),
                ("timestamp", "DateTime('UTC')"),
            ],
        )
        .unwrap();
        let time = events.time.as_ref().unwrap();
        assert_eq!(time.name, "timestamp");
        assert!(events.monthly);
        assert_eq!(time.day_sql(), "intDiv(toUInt32(timestamp), 86400)");

        let daily = describe(
            "visit_totals_daily",
            "toYYYYMM(day)",
            &[("site", "String"), ("day", "Date")],
        )
        .unwrap();
        assert_eq!(daily.time.as_ref().unwrap().day_sql(), "toUInt32(day)");
        assert!(daily.monthly);

        let other = describe("x", "tuple()", &[("site", "String"), ("day", "Date")]).unwrap();
        assert!(!other.monthly);
    }
}
