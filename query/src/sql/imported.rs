//! Imported history (`imported_stats`, written by `schema import`) added
//! to a report's rows, for `include.imports`.
//!
//! Imported totals are daily and per dimension value, so a report can use
//! them only when they hold its answer ([`answerable`]): time by day, week
//! or month (not hour); at most one dimension besides time, among those
//! imported; filters only on that same dimension (or, without one, all on
//! a single imported dimension); metrics derived from visitors, visits,
//! pageviews, events, bounces and durations.
//!
//! The imported rows become a relation with the column names events have
//! (`timestamp` as the local midnight of the day, the dimension's value
//! under its stored column name), so the plan's dimension and filter
//! expressions apply to them unchanged. Their groups are added to the
//! native report's groups by summing the raw numbers.
//!
//! # Native data wins
//! A day with any native event of the site (in the site's zone) takes no
//! imported totals: a publisher who ran both trackers for a while sees each
//! day counted once, from their own data.
//!
//! Visitors of imported days add up across days, as in Plausible: the
//! identifiers that could tell the same visitor on two days were never kept.

use super::clickhouse::{fetch_json, number, Limits};
use super::expr::{self, lit};
use super::plan::{aliased, group_by, Plan};
use crate::api::imports::Imported;
use crate::api::request::{Dimension, Filter, Metric, TimeGrain};
use crate::error::ApiError;
use chrono::NaiveDate;
use schema::Db;

/// Why imported totals cannot serve a query, in Plausible's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Dimensions, filters or metrics the daily totals do not hold.
    UnsupportedQuery,
    /// Time bucketed finer than a day.
    UnsupportedInterval,
}

/// The visit and event dimensions stored in `imported_stats`.
fn imported(d: &Dimension) -> bool {
    match d {
        Dimension::Page | Dimension::Name | Dimension::EntryPage | Dimension::ExitPage => true,
        Dimension::Visit(column) => matches!(
            *column,
            "source"
                | "referrer"
                | "utm_medium"
                | "utm_source"
                | "utm_campaign"
                | "utm_content"
                | "utm_term"
                | "device"
                | "browser"
                | "browser_version"
                | "os"
                | "os_version"
                | "country"
                | "region"
                | "city"
        ),
        _ => false,
    }
}

fn metric_imported(m: Metric) -> bool {
    matches!(
        m,
        Metric::Visitors
            | Metric::Visits
            | Metric::Pageviews
            | Metric::Events
            | Metric::BounceRate
            | Metric::VisitDuration
            | Metric::ViewsPerVisit
            | Metric::Percentage
    )
}

/// The imported dimension whose rows answer the plan (`None` for the
/// day's totals), or why none can.
pub fn answerable(plan: &Plan) -> Result<Option<Dimension>, Skip> {
    let q = plan.query;
    if q.dimensions.iter().any(|d| match d {
        Dimension::Time(TimeGrain::Auto) => plan.grain == TimeGrain::Hour,
        Dimension::Time(g) => *g == TimeGrain::Hour,
        _ => false,
    }) {
        return Err(Skip::UnsupportedInterval);
    }
    if !q.metrics.iter().all(|m| metric_imported(*m)) {
        return Err(Skip::UnsupportedQuery);
    }
    let others: Vec<&Dimension> = q.dimensions.iter().filter(|d| !d.is_time()).collect();
    let filtered: Vec<&Dimension> = q
        .filter
        .as_ref()
        .map(Filter::dimensions)
        .unwrap_or_default();
    let dim = match (others.as_slice(), filtered.first()) {
        ([], None) => return Ok(None),
        ([d], _) | ([], Some(d)) => *d,
        _ => return Err(Skip::UnsupportedQuery),
    };
    if !imported(dim) || filtered.iter().any(|f| *f != dim) {
        return Err(Skip::UnsupportedQuery);
    }
    Ok(Some(dim.clone()))
}

/// The report body of `native` (the native body, selecting `d0`.. and the
/// raw numbers) with the imported groups of `dim` added.
pub fn merged(plan: &Plan, dims: &[String], native: &str, dim: Option<&Dimension>) -> String {
    let n = dims.len();
    let keys: Vec<String> = (0..n)
        .map(|i| format!("toString(d{i}) AS d{i}, "))
        .collect();
    let raw = "toUInt64(r_visitors) AS r_visitors, toUInt64(r_pageviews) AS r_pageviews, \
               toUInt64(r_events) AS r_events, toUInt64(r_visits) AS r_visits, \
               toUInt64(r_bounces) AS r_bounces, toUInt64(r_duration) AS r_duration, \
               toUInt64(r_visit_pageviews) AS r_visit_pageviews";
    let keys = keys.concat();
    format!(
        "SELECT {}sum(r_visitors) AS r_visitors, sum(r_pageviews) AS r_pageviews, \
         sum(r_events) AS r_events, sum(r_visits) AS r_visits, sum(r_bounces) AS r_bounces, \
         sum(r_duration) AS r_duration, sum(r_visit_pageviews) AS r_visit_pageviews \
         FROM (SELECT {keys}{raw} FROM ({native}) UNION ALL SELECT {keys}{raw} FROM ({})){}",
        (0..n).map(|i| format!("d{i}, ")).collect::<String>(),
        body(plan, dims, dim),
        group_by(n)
    )
}

/// The imported groups alone, selecting what a native body selects.
fn body(plan: &Plan, dims: &[String], dim: Option<&Dimension>) -> String {
    format!(
        "SELECT {}sum(visitors) AS r_visitors, sum(pageviews) AS r_pageviews, \
         sum(events) AS r_events, sum(visits) AS r_visits, sum(bounces) AS r_bounces, \
         sum(duration) AS r_duration, sum(visit_pageviews) AS r_visit_pageviews \
         FROM ({}) WHERE 1{}{}",
        aliased(dims),
        relation(plan, dim),
        plan.filter_clause(),
        group_by(dims.len())
    )
}

/// `imported_stats` rows of `dim` in the plan's days, on days without
/// native events, under the events' column names.
fn relation(plan: &Plan, dim: Option<&Dimension>) -> String {
    let site = lit(&plan.query.site_id);
    let tz = lit(plan.tz.name());
    let (first, last) = (plan.span.first_day, plan.span.last_day);
    let (from, to) = (plan.span.from.timestamp(), plan.span.to.timestamp());
    let value = dim.map_or(String::new(), |d| format!("value AS {}, ", expr::stored(d)));
    let dim_name = dim.map_or(String::new(), Dimension::name);
    format!(
        "SELECT toDateTime(concat(toString(day), ' 00:00:00'), {tz}) AS timestamp, {value}visitors, visits, pageviews, \
         events, bounces, duration, visit_pageviews FROM imported_stats \
         WHERE site = {site} AND dim = {dim} AND day >= toDate('{first}') AND day <= toDate('{last}') \
         AND day NOT IN (SELECT DISTINCT toDate(timestamp, {tz}) FROM events \
         WHERE site = {site} AND timestamp >= toDateTime({from}) AND timestamp < toDateTime({to}))",
        dim = lit(&dim_name)
    )
}

/// The first and last imported day of a site, if it has imports.
pub async fn imported_days(db: &Db, site: &str, limits: Limits) -> Result<Imported, ApiError> {
    let sql = format!(
        "SELECT count() AS n, toString(min(first_day)) AS a, toString(max(day)) AS b \
         FROM imports WHERE site = {}",
        lit(site)
    );
    let json = fetch_json(db, &sql, limits).await?;
    let row = json.pointer("/data/0").cloned().unwrap_or_default();
    if row.get(0).and_then(number).unwrap_or(0) == 0 {
        return Ok(Imported::None);
    }
    let day = |i: usize| {
        row.get(i)
            .and_then(|v| v.as_str())
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    Ok(match (day(1), day(2)) {
        (Some(a), Some(b)) => Imported::Days(a, b),
        _ => Imported::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_dimensions_are_imported() {
        assert!(imported(&Dimension::Page));
        assert!(imported(&Dimension::Visit("source")));
        assert!(!imported(&Dimension::Hostname));
        assert!(!imported(&Dimension::Prop("plan".into())));
    }

    fn verdict(body: serde_json::Value) -> Result<Option<Dimension>, Skip> {
        let query = crate::api::parse::parse(&body).unwrap();
        let now = chrono::Utc::now();
        let tz = chrono_tz::Tz::UTC;
        let span = crate::api::dates::resolve(&query.date_range, tz, now, None).unwrap();
        answerable(&Plan::new(&query, tz, span, now.timestamp()))
    }

    #[test]
    fn what_daily_totals_can_answer() {
        let base = |extra: serde_json::Value| {
            let mut body = serde_json::json!({
                "site_id": "example.com", "metrics": ["visitors"], "date_range": "30d"
            });
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            verdict(body)
        };
        assert_eq!(base(serde_json::json!({})), Ok(None));
        assert_eq!(
            base(serde_json::json!({"dimensions": ["time:day", "visit:source"]})),
            Ok(Some(Dimension::Visit("source")))
        );
        assert_eq!(
            base(serde_json::json!({"filters": [["is", "event:page", ["/a"]]]})),
            Ok(Some(Dimension::Page))
        );
        assert_eq!(
            base(serde_json::json!({"dimensions": ["event:page"],
                "filters": [["is", "visit:country", ["DE"]]]})),
            Err(Skip::UnsupportedQuery)
        );
        assert_eq!(
            base(serde_json::json!({"dimensions": ["time:hour"]})),
            Err(Skip::UnsupportedInterval)
        );
        assert_eq!(
            base(serde_json::json!({"dimensions": ["event:hostname"]})),
            Err(Skip::UnsupportedQuery)
        );
    }
}
