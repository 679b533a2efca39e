//! Reports answered from `visit_totals`, the hourly totals per dimension
//! value that a materialized view keeps from the materialized visits (and
//! `visit_totals_daily`, the materializer's merge of whole UTC days).
//!
//! Reports whose answer those totals hold exactly qualify: no filter;
//! at most one dimension besides time, among the rolled-up ones; an event
//! dimension only with event metrics; time only with event metrics (visit
//! metrics by time count a visit in every bucket it has events in); and a
//! range that starts and ends on whole hours in a zone whose offset is whole
//! hours. Hours after the materialized ones are added from events, the
//! same way the view adds them.
//!
//! This path reads only the [`Plan`]; [`super::report`] asks it first and
//! falls back to [`super::events`] when it declines.

use super::expr::{self, lit, visitors_fn};
use super::plan::{aliased, Plan, CURRENT};
use super::visits::DAY;
use crate::api::request::{Dimension, TimeGrain, DIMENSIONS};
use chrono::Offset;

/// Whether the view totals `d` (migration 9, where `dim = ''` holds the
/// totals without a dimension): every dimension of [`DIMENSIONS`] but time.
fn rolled_up(d: &Dimension) -> bool {
    !d.is_time() && DIMENSIONS.iter().any(|(_, x)| x == d)
}

/// The report's SQL over the rollup (without order and limit), if it
/// qualifies. `dims` are the dimensions' expressions over the relation.
pub fn sql(plan: &Plan, dims: &[String]) -> Option<String> {
    let coverage = plan.coverage?;
    let (from, to) = (plan.span.from.timestamp(), plan.span.to.timestamp());
    if coverage.to <= from || !qualifies(plan) {
        return None;
    }
    let q = plan.query;
    let other = q.dimensions.iter().find(|d| !d.is_time());
    let dim = other.map_or(String::new(), Dimension::name);
    // Over the unioned rows, the non-time dimension's stored value is
    // `value`, renamed to its column's name so that `dims` read it as they
    // read the relation (values that read the same make one group).
    let value = other.map_or("value".to_string(), |d| {
        format!("value AS {}", expr::stored(d))
    });
    let end = to.min(coverage.to);
    let stored = stored_rows(plan, &lit(&dim), from, end);
    let rows = if coverage.to < to {
        format!("{stored} UNION ALL {}", tail(plan, other, coverage.to))
    } else {
        stored
    };
    let keys: Vec<String> = (0..dims.len()).map(|i| format!("d{i}")).collect();
    // Groups exist where the report built from events has rows: events in
    // range, or (when visits are built) visits starting in range.
    let having = if q.needs_visits() {
        "r_events > 0 OR r_visits > 0"
    } else {
        "r_events > 0"
    };
    let group = if keys.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {} HAVING {having}", keys.join(", "))
    };
    Some(format!(
        "SELECT {}{}(visitors) AS r_visitors, sumMerge(pageviews) AS r_pageviews, \
         sumMerge(events) AS r_events, sumMerge(visits) AS r_visits, sumMerge(bounces) AS r_bounces, \
         sumMerge(duration) AS r_duration, sumMerge(visit_pageviews) AS r_visit_pageviews \
         FROM (SELECT chunk AS timestamp, {value}, visitors, pageviews, events, visits, bounces, duration, \
         visit_pageviews FROM ({rows})){group}",
        aliased(dims),
        visitors_fn("IfMerge")
    ))
}

/// The stored totals of `dim` for `[from, end)`: whole UTC days from the
/// daily totals where those exist, every other hour from the hourly ones.
/// The hourly conditions go in `PREWHERE`, so that the states of hours a
/// day already covers are never read.
fn stored_rows(plan: &Plan, dim: &str, from: i64, end: i64) -> String {
    let site = lit(&plan.query.site_id);
    let hours = format!(
        "SELECT chunk, value, visitors, pageviews, events, visits, bounces, duration, visit_pageviews \
         FROM visit_totals PREWHERE site = {site} AND dim = {dim} AND chunk >= toDateTime({from}) \
         AND chunk < toDateTime({end}) AND {CURRENT}"
    );
    let (first_day, end_day) = (
        (from + DAY - 1).div_euclid(DAY) * DAY,
        end.div_euclid(DAY) * DAY,
    );
    if end_day <= first_day || !days_suffice(plan) {
        return hours;
    }
    let days = format!(
        "SELECT day FROM visit_days WHERE day >= toDate(toDateTime({first_day}, 'UTC')) \
         AND day < toDate(toDateTime({end_day}, 'UTC'))"
    );
    format!(
        "{hours} AND toDate(chunk) NOT IN ({days}) UNION ALL \
         SELECT toDateTime(toUInt32(day) * 86400, 'UTC') AS chunk, value, visitors, pageviews, events, \
         visits, bounces, duration, visit_pageviews FROM visit_totals_daily \
         PREWHERE site = {site} AND dim = {dim} AND day IN ({days}) \
         AND (day, generation) IN (SELECT day, max(generation) FROM visit_days GROUP BY day)"
    )
}

/// Daily totals serve unless the report buckets by time finer than UTC
/// days can: by hour, or in a zone other than UTC.
fn days_suffice(plan: &Plan) -> bool {
    let timed = plan.query.dimensions.iter().find_map(|d| match d {
        Dimension::Time(g) => Some(*g),
        _ => None,
    });
    match timed {
        None => true,
        Some(grain) => {
            let grain = if grain == TimeGrain::Auto {
                plan.grain
            } else {
                grain
            };
            grain != TimeGrain::Hour && plan.tz == chrono_tz::Tz::UTC
        }
    }
}

/// The hours after the materialized ones, totalled like the view does
/// (values as stored). Reports of event metrics only read them straight
/// from `events`: their numbers do not depend on visits, and building
/// visits costs several scans.
fn tail(plan: &Plan, dim: Option<&Dimension>, from: i64) -> String {
    let value = dim.map_or("''".to_string(), expr::stored);
    let (visit_sums, rows) = if plan.query.needs_visits() {
        (
            "sumState(toUInt64(is_first)) AS visits, sumState(toUInt64(is_first AND v_bounce)) AS bounces, \
             sumState(toUInt64(if(is_first, v_duration, 0))) AS duration, \
             sumState(toUInt64(if(is_first, v_pageviews, 0))) AS visit_pageviews",
            format!("({})", plan.built_rows(&plan.needs(), from, "")),
        )
    } else {
        (
            "sumState(toUInt64(0)) AS visits, sumState(toUInt64(0)) AS bounces, \
             sumState(toUInt64(0)) AS duration, sumState(toUInt64(0)) AS visit_pageviews",
            format!(
                "events WHERE site = {} AND timestamp >= toDateTime({from}) \
                 AND timestamp < toDateTime({})",
                lit(&plan.query.site_id),
                plan.span.to.timestamp()
            ),
        )
    };
    format!(
        "SELECT toStartOfHour(timestamp) AS chunk, {value} AS value, \
         {uniq}(visitor_id, name != 'engagement') AS visitors, \
         sumState(toUInt64(name = 'pageview')) AS pageviews, sumState(toUInt64(name != 'engagement')) AS events, \
         {visit_sums} FROM {rows} GROUP BY chunk, value",
        uniq = visitors_fn("IfState")
    )
}

fn qualifies(plan: &Plan) -> bool {
    let q = plan.query;
    // Event metrics too: with `uniqCombined` states, merging daily totals
    // beats counting distinct visitors over raw events (BENCHMARKS.md).
    if q.filter.is_some() {
        return false;
    }
    let visit_metrics = q.metrics.iter().any(|m| m.needs_visits());
    let others: Vec<&Dimension> = q.dimensions.iter().filter(|d| !d.is_time()).collect();
    let rolled = match others.as_slice() {
        [] => true,
        [d] => {
            let event_level = !d.needs_visits();
            rolled_up(d) && !(event_level && visit_metrics)
        }
        _ => false,
    };
    let timed = q.dimensions.iter().any(Dimension::is_time);
    rolled && !(timed && visit_metrics) && whole_hours(plan)
}

/// The range starts and ends on whole UTC hours, and the site's zone is a
/// whole number of hours from UTC at both ends, so hourly totals fall
/// entirely inside or outside every local day and hour.
fn whole_hours(plan: &Plan) -> bool {
    let ends = [plan.span.from, plan.span.to];
    ends.iter().all(|t| {
        let offset = t.with_timezone(&plan.tz).offset().fix().local_minus_utc();
        t.timestamp() % 3600 == 0 && offset % 3600 == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_rolls_up_every_listed_dimension() {
        let migration = include_str!("../../../schema/migrations/0009_engagement_visits.sql");
        // The view's and the tables' visitor states are the ones reports merge.
        let state = visitors_fn("IfState");
        assert!(migration.contains(&format!("{state}(visitor_id, name != 'engagement')")));
        let column = format!("AggregateFunction({}, UInt64, UInt8)", visitors_fn("If"));
        assert_eq!(migration.matches(&column).count(), 2, "{column}");
        let rolled: Vec<&str> = DIMENSIONS
            .iter()
            .filter(|(_, d)| rolled_up(d))
            .map(|(name, _)| *name)
            .collect();
        for name in rolled {
            assert!(
                migration.contains(&format!("'{name}'")),
                "{name} is not in the view"
            );
        }
    }
}
