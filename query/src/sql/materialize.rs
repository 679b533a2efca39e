//! The statements the rollup materializer ([`crate::jobs::rollup`]) runs:
//! its bookkeeping reads, the inserts that store visits hour by hour and
//! merge whole days of totals, and the deletes of superseded generations.
//!
//! The bookkeeping (which hours, which generation, when) stays in the job;
//! only the SQL text is here, beside the report SQL that reads what these
//! statements write (reports read only the newest generation: `CURRENT`
//! in [`super::plan`]).

use super::expr::{lit, visitors_fn};
use super::plan::CURRENT;
use super::visits::{self, Needs, Window};

/// One row: `count()`, then the first and the end of the materialized hours.
pub const COVERAGE: &str =
    "SELECT count(), toUInt32(min(chunk)), toUInt32(max(covered_to)) FROM visit_chunks";

/// The server's clock, Unix seconds.
pub const SERVER_NOW: &str = "SELECT toUInt32(now())";

/// One row: `count()`, then when the last hour was materialized.
pub const LAST_MATERIALIZED_AT: &str =
    "SELECT count(), toUInt32(max(materialized_at)) FROM visit_chunks";

/// The UTC days that have daily totals, as day numbers.
pub const DAYS_MADE: &str = "SELECT DISTINCT toUInt32(day) FROM visit_days";

/// `site IN (...)` for the configured sites.
fn site_in(sites: &[String]) -> String {
    let list: Vec<String> = sites.iter().map(|s| lit(s)).collect();
    format!("site IN ({})", list.join(", "))
}

/// One row: `count()`, then the hour of the sites' first event.
pub fn first_event_hour(sites: &[String]) -> String {
    format!(
        "SELECT count(), toUInt32(toStartOfHour(min(timestamp))) FROM events WHERE {}",
        site_in(sites)
    )
}

/// `(hour, last inserted_at)` of events inserted since `since` and stamped
/// in `[from, to)`, per hour.
pub fn late_inserts(since: i64, from: i64, to: i64) -> String {
    format!(
        "SELECT toUInt32(toStartOfHour(timestamp)) AS h, toUInt32(max(inserted_at)) FROM events \
         WHERE inserted_at >= toDateTime({since}) AND timestamp >= toDateTime({from}) AND timestamp < toDateTime({to}) \
         GROUP BY h"
    )
}

/// `(hour, last read_at)` of the materialized hours in `[from, to)`.
pub fn read_times(from: i64, to: i64) -> String {
    format!(
        "SELECT toUInt32(chunk), toUInt32(max(read_at)) FROM visit_chunks \
         WHERE chunk >= toDateTime({from}) AND chunk < toDateTime({to}) GROUP BY chunk"
    )
}

/// The hours of `[from, to)` with events of the sites.
pub fn hours_with_events(sites: &[String], from: i64, to: i64) -> String {
    format!(
        "SELECT DISTINCT toUInt32(toStartOfHour(timestamp)) FROM events \
         WHERE {} AND timestamp >= toDateTime({from}) AND timestamp < toDateTime({to})",
        site_in(sites)
    )
}

/// Stores the events of `window` (one site) with their visits, every
/// column of the relation, under `generation`.
pub fn store_visits(window: &Window, generation: u64) -> String {
    let needs = Needs::all();
    let columns = needs.columns().join(", ");
    format!(
        "INSERT INTO visit_events (site, chunk, generation, {columns}) \
         SELECT {site}, toStartOfHour(timestamp), {generation}, {columns} \
         FROM ({relation}) WHERE timestamp >= toDateTime({start}) AND timestamp < toDateTime({end})",
        site = lit(window.site),
        relation = visits::relation(window, &needs),
        start = window.from,
        end = window.to,
    )
}

/// Records `hours` as materialized under `generation`, covering up to
/// `covered_to`, each with when its events were read (`None`: now).
pub fn record_hours(generation: u64, covered_to: i64, hours: &[(i64, Option<i64>)]) -> String {
    let rows: Vec<String> = hours
        .iter()
        .map(|(hour, read)| {
            let read = read.map_or("now()".to_string(), |t| format!("toDateTime({t})"));
            format!("(toDateTime({hour}), {generation}, toDateTime({covered_to}), {read}, now())")
        })
        .collect();
    format!(
        "INSERT INTO visit_chunks (chunk, generation, covered_to, read_at, materialized_at) VALUES {}",
        rows.join(", ")
    )
}

/// Merges the current hourly totals of `[from, to)` into daily totals
/// under `generation`.
pub fn merge_days(from: i64, to: i64, generation: u64) -> String {
    format!(
        "INSERT INTO visit_totals_daily (site, day, generation, dim, value, visitors, pageviews, events, \
         visits, bounces, duration, visit_pageviews) \
         SELECT site, toDate(chunk) AS day, {generation}, dim, value, {uniq}(visitors), \
         sumMergeState(pageviews), sumMergeState(events), sumMergeState(visits), sumMergeState(bounces), \
         sumMergeState(duration), sumMergeState(visit_pageviews) FROM visit_totals \
         WHERE chunk >= toDateTime({from}) AND chunk < toDateTime({to}) AND {CURRENT} \
         GROUP BY site, day, dim, value",
        uniq = visitors_fn("IfMergeState")
    )
}

/// Records the UTC days starting at `days` as merged under `generation`.
pub fn record_days(generation: u64, days: impl Iterator<Item = i64>) -> String {
    let rows: Vec<String> = days
        .map(|d| format!("(toDate(toDateTime({d}, 'UTC')), {generation}, now())"))
        .collect();
    format!(
        "INSERT INTO visit_days (day, generation, made_at) VALUES {}",
        rows.join(", ")
    )
}

/// Deletes the daily totals of `[from, to)` older than `generation`.
pub fn delete_older_days(from: i64, to: i64, generation: u64) -> String {
    format!(
        "ALTER TABLE visit_totals_daily DELETE WHERE day >= toDate(toDateTime({from}, 'UTC')) \
         AND day < toDate(toDateTime({to}, 'UTC')) AND generation < {generation}"
    )
}

/// Deletes the stored visits and hourly totals of `[from, to)` older than
/// `generation`. `visit_chunks` keeps its rows: they are small, reports
/// pick the newest generation anyway, and they also record the covered span.
pub fn delete_older_hours(from: i64, to: i64, generation: u64) -> [String; 2] {
    let range = format!(
        "chunk >= toDateTime({from}) AND chunk < toDateTime({to}) AND generation < {generation}"
    );
    ["visit_events", "visit_totals"]
        .map(|table| format!("ALTER TABLE {table} DELETE WHERE {range}"))
}
