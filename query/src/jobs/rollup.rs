//! Materialized visits: the visit relation of [`crate::sql::visits`],
//! stored in `visit_events` hour by hour, so that reports read visits
//! instead of building them from raw events each time. This is the
//! materializer's bookkeeping (which hours, which generation, when) and the
//! loop that runs it; the statements it runs are in [`crate::sql::materialize`].
//!
//! # How it stays equal to building visits at query time
//! - An hour's rows are made by the very SQL a report would run (the
//!   relation over a window of that hour), keeping the hour's events. A
//!   report reads stored rows for events in the materialized hours and
//!   builds the rest, after them, itself. Either way an event's visit is
//!   read from [`visits::LOOKBACK_SECS`] before to [`visits::LOOKAHEAD_SECS`]
//!   after the window, so the two agree for every visit shorter than that;
//!   for a longer one each sees the part its window holds.
//! - Hours are materialized once they ended an hour ago, contiguously from
//!   the hour of the first event, so a report only needs the covered span.
//! - Every event records when it reached the server (`inserted_at`). Each
//!   run looks for events inserted since the last run whose hour is already
//!   materialized (imports, a spool replay after an outage, a visit that
//!   went on), and materializes again every hour whose visits such an event
//!   can change. A new materialization gets a new generation; reports read
//!   only the newest generation of each hour, and older ones are deleted.
//!
//! Until a run has picked up a late event (at most one interval), reports
//! of the hours it touches do not include it.

use crate::sql::materialize;
use crate::sql::plan::Coverage;
use crate::sql::visits::{self, Window};
use schema::{Config, Db, DbError};
use std::collections::{BTreeMap, BTreeSet};
use tokio_util::sync::CancellationToken;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// Hours are materialized once they ended this long ago: most visits that
/// started in them are over by then.
const SETTLE_SECS: i64 = HOUR;
/// Largest span materialized by one statement, to bound its memory.
const BATCH_SECS: i64 = 24 * HOUR;
/// An event inserted up to this long before an hour was read may still
/// have been in flight (visible only after the read): such an hour is
/// redone.
const READ_MARGIN_SECS: i64 = 2;
/// Inserts are looked for from a little before the previous run started:
/// a row's `inserted_at` is taken when its insert starts, and it becomes
/// visible when the insert ends, which for the collector's batches is well
/// within this. Too wide a margin re-materializes hours for nothing.
const INSERT_MARGIN_SECS: i64 = 5;

/// What a run did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Hours materialized for the first time.
    pub new_hours: usize,
    /// Hours materialized again because of late events.
    pub redone_hours: usize,
}

/// The materializer's memory between runs.
#[derive(Debug, Default)]
pub struct Rollup {
    /// Server time from which inserts count as late; `None` before the
    /// first run, which takes it from the last materialization.
    since: Option<i64>,
}

impl Rollup {
    /// One run: redo hours made stale by late events, then materialize the
    /// hours that have settled. `sites` are the configured domains.
    pub async fn run_once(&mut self, db: &Db, sites: &[String]) -> Result<RunReport, DbError> {
        let now = server_now(db).await?;
        self.run_at(db, sites, now).await
    }

    /// A run as if the server's clock said `now` (tests pick which hours
    /// have settled).
    pub async fn run_at(
        &mut self,
        db: &Db,
        sites: &[String],
        now: i64,
    ) -> Result<RunReport, DbError> {
        let coverage = coverage(db).await?;
        let since = match self.since {
            Some(since) => since,
            None => last_materialized_at(db).await?.unwrap_or(now) - INSERT_MARGIN_SECS,
        };
        let mut report = RunReport::default();
        let settled = (now - SETTLE_SECS).div_euclid(HOUR) * HOUR;
        let Some(first) = first_event_hour(db, sites).await? else {
            self.since = Some(now - INSERT_MARGIN_SECS);
            return Ok(report);
        };
        let (covered_from, covered_to) = coverage.map_or((first, first), |c| (c.from, c.to));
        let mut touched = Vec::new();
        // Late events before the covered span extend it backwards.
        if first < covered_from {
            materialize(db, sites, first, covered_from).await?;
            report.new_hours += hours(first, covered_from);
            touched.push((first, covered_from));
        }
        let stale = stale_hours(db, since, covered_from, covered_to).await?;
        for (from, to) in ranges(&stale) {
            let generation = materialize(db, sites, from, to).await?;
            delete_older_generations(db, from, to, generation).await?;
            report.redone_hours += hours(from, to);
            touched.push((from, to));
        }
        let end = covered_to.max(settled);
        if covered_to < settled {
            materialize(db, sites, covered_to.max(first), settled).await?;
            report.new_hours += hours(covered_to.max(first), settled);
            touched.push((covered_to.max(first), settled));
        }
        make_days(db, first.min(covered_from), end, &touched).await?;
        self.since = Some(now - INSERT_MARGIN_SECS);
        Ok(report)
    }
}

/// Runs the materializer every `[query] rollup_every_seconds` until `stop`.
pub async fn run_until(config: Config, db: Db, stop: CancellationToken) {
    let sites: Vec<String> = config.site.iter().map(|s| s.domain.clone()).collect();
    let every = std::time::Duration::from_secs(config.query.rollup_every_seconds.into());
    let mut rollup = Rollup::default();
    loop {
        // A run is not interrupted half way: a generation is only read once
        // it is recorded whole, so stopping between statements is safe too.
        match rollup.run_once(&db, &sites).await {
            Ok(report) if report != RunReport::default() => {
                tracing::info!(
                    new = report.new_hours,
                    redone = report.redone_hours,
                    "visits materialized"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "materializing visits failed; reports build them instead")
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// The span of materialized hours, if any.
pub async fn coverage(db: &Db) -> Result<Option<Coverage>, DbError> {
    Ok(match counted(db, materialize::COVERAGE).await?.as_deref() {
        Some([from, to]) => Some(Coverage {
            from: *from,
            to: *to,
        }),
        _ => None,
    })
}

/// The numbers after the leading `count()` of a one-row query, or `None`
/// when it counted nothing (the other aggregates are then meaningless).
async fn counted(db: &Db, sql: &str) -> Result<Option<Vec<i64>>, DbError> {
    let text = db.fetch_tsv(sql).await?;
    let numbers: Vec<i64> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    Ok(match numbers.split_first() {
        Some((n, rest)) if *n > 0 => Some(rest.to_vec()),
        _ => None,
    })
}

/// A one-column query's numbers.
async fn column(db: &Db, sql: &str) -> Result<BTreeSet<i64>, DbError> {
    Ok(db
        .fetch_tsv(sql)
        .await?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect())
}

async fn server_now(db: &Db) -> Result<i64, DbError> {
    let text = db.fetch_tsv(materialize::SERVER_NOW).await?;
    text.trim()
        .parse()
        .map_err(|_| DbError::Unexpected(format!("server time `{}`", text.trim())))
}

async fn last_materialized_at(db: &Db) -> Result<Option<i64>, DbError> {
    let sql = materialize::LAST_MATERIALIZED_AT;
    Ok(counted(db, sql).await?.and_then(|v| v.first().copied()))
}

async fn first_event_hour(db: &Db, sites: &[String]) -> Result<Option<i64>, DbError> {
    if sites.is_empty() {
        return Ok(None);
    }
    let sql = materialize::first_event_hour(sites);
    Ok(counted(db, &sql).await?.and_then(|v| v.first().copied()))
}

/// Materialized hours whose visits an event inserted since `since`, and
/// after the hour was read, can change: those whose read window (from
/// [`visits::LOOKBACK_SECS`] before the hour to [`visits::LOOKAHEAD_SECS`]
/// after it) holds the event. Hours without events of their own were not
/// read, and only need redoing when the event is in them.
async fn stale_hours(db: &Db, since: i64, from: i64, to: i64) -> Result<BTreeSet<i64>, DbError> {
    if from >= to {
        return Ok(BTreeSet::new());
    }
    let late = materialize::late_inserts(
        since,
        (from - visits::LOOKAHEAD_SECS - HOUR).max(0),
        to + visits::LOOKBACK_SECS,
    );
    let late = pairs(db, &late).await?;
    if late.is_empty() {
        return Ok(BTreeSet::new());
    }
    let read = materialize::read_times(from, to);
    let read_at: BTreeMap<i64, i64> = pairs(db, &read).await?.into_iter().collect();
    let mut stale = BTreeSet::new();
    for (hour, inserted) in late {
        let first = (hour - visits::LOOKAHEAD_SECS - HOUR).div_euclid(HOUR) * HOUR;
        let last = hour + visits::LOOKBACK_SECS;
        for h in (first..=last).step_by(HOUR as usize) {
            let redo = match read_at.get(&h) {
                Some(read) => inserted + READ_MARGIN_SECS >= *read,
                None => h == hour,
            };
            if redo && h >= from && h < to {
                stale.insert(h);
            }
        }
    }
    Ok(stale)
}

async fn pairs(db: &Db, sql: &str) -> Result<Vec<(i64, i64)>, DbError> {
    Ok(db
        .fetch_tsv(sql)
        .await?
        .lines()
        .filter_map(|line| {
            let (a, b) = line.trim().split_once('\t')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect())
}

/// Contiguous `[from, to)` spans of the given hours.
fn ranges(hours: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    ranges_of(hours, HOUR)
}

/// Contiguous `[from, to)` spans of the given starts of `step`-long units.
fn ranges_of(starts: &BTreeSet<i64>, step: i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &s in starts {
        match out.last_mut() {
            Some((_, to)) if *to == s => *to = s + step,
            _ => out.push((s, s + step)),
        }
    }
    out
}

fn hours(from: i64, to: i64) -> usize {
    usize::try_from((to - from).max(0) / HOUR).unwrap_or(0)
}

/// Materializes the events of `[from, to)` with their visits, for every
/// site, under one new generation, then records the hours. Hours without
/// events cost nothing. Returns the generation.
async fn materialize(db: &Db, sites: &[String], from: i64, to: i64) -> Result<u64, DbError> {
    let generation = new_generation();
    let busy = hours_with_events(db, sites, from, to).await?;
    let mut read_at: BTreeMap<i64, i64> = BTreeMap::new();
    for (run_from, run_to) in ranges(&busy) {
        let mut start = run_from;
        while start < run_to {
            let end = (start + BATCH_SECS).min(run_to);
            let now = server_now(db).await?;
            for hour in (start..end).step_by(HOUR as usize) {
                read_at.insert(hour, now);
            }
            for site in sites {
                let window = Window {
                    site,
                    from: start,
                    to: end,
                    now,
                };
                db.execute(&materialize::store_visits(&window, generation))
                    .await?;
            }
            start = end;
        }
    }
    // The span's first hour is recorded even without events, so that the
    // span counts as covered.
    let rows: Vec<(i64, Option<i64>)> = busy
        .iter()
        .copied()
        .chain((!busy.contains(&from)).then_some(from))
        .map(|hour| (hour, read_at.get(&hour).copied()))
        .collect();
    for chunk in rows.chunks(1000) {
        db.execute(&materialize::record_hours(generation, to, chunk))
            .await?;
    }
    tracing::debug!(
        from,
        to,
        generation,
        hours = busy.len(),
        "visits materialized"
    );
    Ok(generation)
}

/// The hours of `[from, to)` with events of the sites.
async fn hours_with_events(
    db: &Db,
    sites: &[String],
    from: i64,
    to: i64,
) -> Result<BTreeSet<i64>, DbError> {
    column(db, &materialize::hours_with_events(sites, from, to)).await
}

/// Merges the hourly totals of every complete UTC day in `[from, to)` that
/// has no daily totals yet or overlaps a span materialized in this run.
async fn make_days(db: &Db, from: i64, to: i64, touched: &[(i64, i64)]) -> Result<(), DbError> {
    let made: BTreeSet<i64> = column(db, materialize::DAYS_MADE)
        .await?
        .into_iter()
        .map(|d| d * DAY)
        .collect();
    let first = (from + DAY - 1).div_euclid(DAY) * DAY;
    let days: BTreeSet<i64> = (first..to.div_euclid(DAY) * DAY)
        .step_by(DAY as usize)
        .filter(|d| !made.contains(d) || touched.iter().any(|(a, b)| *a < d + DAY && *b > *d))
        .collect();
    for (start, end) in ranges_of(&days, DAY) {
        let mut day = start;
        while day < end {
            let stop = (day + 31 * DAY).min(end);
            make_days_span(db, day, stop).await?;
            day = stop;
        }
    }
    Ok(())
}

async fn make_days_span(db: &Db, from: i64, to: i64) -> Result<(), DbError> {
    let generation = new_generation();
    db.execute(&materialize::merge_days(from, to, generation))
        .await?;
    let days = (from..to).step_by(DAY as usize);
    db.execute(&materialize::record_days(generation, days))
        .await?;
    db.execute(&materialize::delete_older_days(from, to, generation))
        .await
}

/// Generations only need to grow; nanoseconds since the epoch do, and two
/// query services materializing at once still pick one complete set.
fn new_generation() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

async fn delete_older_generations(
    db: &Db,
    from: i64,
    to: i64,
    generation: u64,
) -> Result<(), DbError> {
    for sql in materialize::delete_older_hours(from, to, generation) {
        db.execute(&sql).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_group_into_contiguous_ranges() {
        let set: BTreeSet<i64> = [0, HOUR, 2 * HOUR, 5 * HOUR, 7 * HOUR, 8 * HOUR].into();
        assert_eq!(
            ranges(&set),
            [(0, 3 * HOUR), (5 * HOUR, 6 * HOUR), (7 * HOUR, 9 * HOUR)]
        );
        assert!(ranges(&BTreeSet::new()).is_empty());
    }
}
