//! The small questions the handlers ask besides reports: a site's visitors
//! in the last minutes (realtime), the local day of its first event (what
//! `date_range: "all"` starts on), and whether it has any event at all (the
//! dashboard's first run). They run under the same limits as reports.

use super::clickhouse::{fetch_json, number, Limits};
use super::expr::{lit, visitors_fn};
use crate::error::ApiError;
use chrono::NaiveDate;
use chrono_tz::Tz;
use schema::Db;

/// Distinct visitors of `site` with an event at or after `since` (Unix seconds).
pub async fn visitors_since(
    db: &Db,
    site: &str,
    since: i64,
    limits: Limits,
) -> Result<u64, ApiError> {
    let sql = format!(
        "SELECT {}(visitor_id) FROM events WHERE site = {} AND timestamp >= toDateTime({since})",
        visitors_fn(""),
        lit(site)
    );
    let json = fetch_json(db, &sql, limits).await?;
    Ok(json.pointer("/data/0/0").and_then(number).unwrap_or(0))
}

/// The local day of the site's first event, for `date_range: "all"`.
pub async fn first_event_day(
    db: &Db,
    site: &str,
    tz: Tz,
    limits: Limits,
) -> Result<Option<NaiveDate>, ApiError> {
    let sql = format!(
        "SELECT count() AS n, toString(toDate(min(timestamp), {})) AS first FROM events WHERE site = {}",
        lit(tz.name()),
        lit(site)
    );
    let json = fetch_json(db, &sql, limits).await?;
    let row = json.pointer("/data/0").cloned().unwrap_or_default();
    if row.get(0).and_then(number).unwrap_or(0) == 0 {
        return Ok(None);
    }
    Ok(row
        .get(1)
        .and_then(|v| v.as_str())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()))
}

/// Whether `site` has any event yet. The sort key starts with `site`, so
/// the index skips other sites' rows and `LIMIT 1` stops at the first row
/// found: cheap enough for the dashboard to ask every few seconds while it
/// waits for a site's first pageview.
pub async fn has_events(db: &Db, site: &str, limits: Limits) -> Result<bool, ApiError> {
    let sql = format!("SELECT 1 FROM events WHERE site = {} LIMIT 1", lit(site));
    let json = fetch_json(db, &sql, limits).await?;
    Ok(json.pointer("/data/0").is_some())
}
