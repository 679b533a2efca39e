//! A report's body under a site's k-anonymity threshold
//! ([`MinVisitors`]), as SQL wrapped around the body either path builds,
//! so that the threshold applies to the final rows whatever the filters.
//!
//! # Breakdown rows merge
//! With a dimension besides time, the body runs once to find the small
//! groups (fewer than K visitors), then again with every non-time
//! dimension replaced by `(other)` for rows in those groups. The `(other)`
//! row is therefore counted from the merged rows themselves, like any
//! group (a visitor in two small groups counts once), never summed from
//! the small rows' numbers; the big rows and the totals stay as they were.
//! A time dimension is kept, so each time bucket has its own `(other)`.
//! Both runs read the same relation the same way, on either path: the
//! events ([`super::events`]) or the rollups ([`super::rollups`]), whose
//! visitor states merge into the exact union.
//!
//! # Small rows are zeroed
//! Then every row still under K (a time bucket, an aggregate, a small
//! `(other)`) gets zeros for all its numbers before the report orders and
//! pages the rows, so not even their order tells small numbers apart;
//! [`crate::api::response`] answers them as suppressed.
//!
//! The set of small groups is read with `GLOBAL IN`: in cluster mode the
//! body reads `Distributed` tables, and a plain `IN` there would run the
//! set's own distributed query once per shard (which ClickHouse refuses).
//! On current releases the set's query goes through the `view` table
//! function: their analyzer loses the grouped column ("Not found column
//! ... in block") when a set's subquery holds an `ARRAY JOIN`, as visits
//! built at query time do; 18.16 has no `view` and no such trouble.

use super::engagement;
use super::expr::lit;
use super::plan::{dim_aliases, Plan, RAW_COLUMNS};
use crate::api::threshold::{MinVisitors, OTHER};
use schema::client::ServerVersion;

/// The first release with the `view` table function (20.x has it; the
/// releases we run are 18.16 and 24 on).
const VIEW_SINCE: ServerVersion = ServerVersion(21, 1);

/// The threshold and the server it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Threshold {
    pub k: MinVisitors,
    pub server: ServerVersion,
}

/// The report's body (without order and limit) under `k`. `dims` are the
/// dimensions' expressions over the relation and `body` builds a body
/// from such expressions (the caller's choice of path).
pub fn sql(
    plan: &Plan,
    t: Threshold,
    dims: &[String],
    body: impl Fn(&[String]) -> String,
) -> String {
    let merged = if plan.query.dimensions.iter().any(|d| !d.is_time()) {
        body(&merged_dims(plan, t, dims, &body))
    } else {
        body(dims)
    };
    let mut columns = RAW_COLUMNS.to_vec();
    if engagement::wanted(plan.query) {
        columns.extend(engagement::COLUMNS);
    }
    zero_small_rows(
        &merged,
        dims.len(),
        &columns,
        t.k,
        plan.query.wants_revenue(),
    )
}

/// Each non-time dimension as `(other)` for rows whose group (all the
/// dimensions' values, time included) has fewer than `k` visitors.
fn merged_dims(
    plan: &Plan,
    t: Threshold,
    dims: &[String],
    body: impl Fn(&[String]) -> String,
) -> Vec<String> {
    let keys: Vec<String> = dim_aliases(dims.len()).collect();
    let mut small = format!(
        "SELECT {} FROM ({}) WHERE r_visitors < {}",
        keys.join(", "),
        body(dims),
        t.k.k()
    );
    if t.server >= VIEW_SINCE {
        small = format!("SELECT * FROM view({small})");
    }
    let group = format!("({})", dims.join(", "));
    plan.query
        .dimensions
        .iter()
        .zip(dims)
        .map(|(d, expr)| {
            if d.is_time() {
                expr.clone()
            } else {
                format!("if({group} GLOBAL IN ({small}), {}, {expr})", lit(OTHER))
            }
        })
        .collect()
}

/// The body's rows, each with every number of `columns` (the raw ones, and
/// the engagement ones when asked for) zeroed when it has fewer than `k`
/// visitors. The numbers are renamed on the way in, since ClickHouse
/// reads a name an expression is aliased to as that expression.
fn zero_small_rows(
    body: &str,
    dims: usize,
    columns: &[&str],
    k: MinVisitors,
    revenue: bool,
) -> String {
    let keys: Vec<String> = dim_aliases(dims).map(|a| a + ", ").collect();
    let mut inner: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} AS t{i}"))
        .collect();
    let mut outer: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("if(t_small, 0, t{i}) AS {c}"))
        .collect();
    // Revenue per currency passes through: the answer shows no metric of
    // a small row (see `api::response`).
    if revenue {
        for (i, c) in ["r_revenue", "r_revenue_n"].iter().enumerate() {
            inner.push(format!("{c} AS t_rev{i}"));
            outer.push(format!("t_rev{i} AS {c}"));
        }
    }
    format!(
        "SELECT {keys}{outer} FROM (SELECT {keys}r_visitors < {k} AS t_small, {inner} FROM ({body}))",
        keys = keys.concat(),
        outer = outer.join(", "),
        inner = inner.join(", "),
        k = k.k(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::dates::Span;
    use crate::api::request::Query;
    use crate::sql::report::Report;
    use chrono::{NaiveDate, TimeZone, Utc};
    use schema::config::SiteConfig;

    fn query(dimensions: &[&str]) -> Query {
        let body = serde_json::json!({"site_id": "a.example", "metrics": ["visitors"],
            "date_range": ["2024-03-09", "2024-03-09"], "dimensions": dimensions});
        crate::api::parse::parse(&body).unwrap()
    }

    fn sql(q: &Query, k: Option<u32>) -> String {
        sql_on(q, k, ServerVersion(18, 16))
    }

    fn sql_on(q: &Query, k: Option<u32>, server: ServerVersion) -> String {
        let day = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        let span = Span {
            from: Utc.timestamp_opt(1_709_942_400, 0).unwrap(),
            to: Utc.timestamp_opt(1_709_942_400 + 86_400, 0).unwrap(),
            first_day: day,
            last_day: day,
        };
        let mut site = SiteConfig::new("a.example");
        site.min_visitors = k;
        Report::new(q, chrono_tz::Tz::UTC, span, 1_710_000_000)
            .with_min_visitors(MinVisitors::of(&site))
            .sql(server)
    }

    #[test]
    fn without_a_threshold_the_sql_is_untouched() {
        let q = query(&["event:page"]);
        assert!(!sql(&q, None).contains("t_small"));
    }

    #[test]
    fn time_alone_is_zeroed_never_merged() {
        let q = query(&["time:hour"]);
        let text = sql(&q, Some(5));
        assert!(text.contains("r_visitors < 5 AS t_small"), "{text}");
        assert!(!text.contains("GLOBAL IN"), "{text}");
        for column in RAW_COLUMNS {
            assert!(text.contains(&format!("AS {column}")), "{column}");
        }
    }

    #[test]
    fn values_merge_per_time_bucket_and_time_is_kept() {
        let q = query(&["time:day", "event:page"]);
        let text = sql(&q, Some(5));
        // The page is merged by (day, page) groups; the day is never merged.
        assert_eq!(text.matches("'(other)'").count(), 1, "{text}");
        assert!(
            text.contains(
                "if((toString(toDate(timestamp, 'UTC')), pathname) GLOBAL IN (SELECT d0, d1 FROM"
            ),
            "{text}"
        );
        // Current releases read the set through `view`.
        let current = sql_on(&q, Some(5), ServerVersion(24, 8));
        assert!(
            current.contains("GLOBAL IN (SELECT * FROM view(SELECT d0, d1 FROM"),
            "{current}"
        );
    }
}
