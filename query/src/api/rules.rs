//! The combinations of metrics, dimensions and filters that Plausible
//! refuses, refused here the same way (`400`, with Plausible's wording), so
//! that a query either means the same on both or fails on both.
//!
//! Plausible counts events and sessions in two tables ([`Table`]), and a
//! query's dimensions must exist in the table of each of its metrics:
//! - session metrics (`bounce_rate`, `visit_duration`, `views_per_visit`)
//!   not with event dimensions (`event:*`);
//! - event metrics (`pageviews`, `events`) not with session dimensions
//!   (`visit:entry_page`, `visit:exit_page`);
//! - except when `event:page` is the only event dimension, which Plausible
//!   answers by splitting the query;
//! - `views_per_visit` with no dimension at all, and no `event:page` filter;
//! - `time_on_page` and `scroll_depth` only with an `event:page` dimension
//!   or filter (they are per page), and `exit_rate` only with an
//!   `event:page` dimension (Plausible asks for `visit:exit_page` there and
//!   divides by pageviews; see docs/stats-api.md for why we follow the
//!   issue's definition instead);
//! - conversion rates (and, here, revenue) only with an `event:goal`
//!   filter or dimension.
//!
//! (Filter-level rules, which need to know where in the tree a filter is,
//! are checked while parsing: see [`super::parse`].) Our engine could answer
//! these queries; refusing them keeps every answer one Plausible gives too.

use super::goals;
use super::request::{Dimension, Metric, Query, Table};
use crate::error::ApiError;

/// Refuses a query Plausible would refuse, naming what conflicts.
pub fn check(q: &Query) -> Result<(), ApiError> {
    check_engagement(q)?;
    if let Some(m) = q.metrics.iter().find(|m| goals::needs_goal(**m)) {
        if !goals::has_goal(q) {
            return Err(refused(&format!(
                "Metric `{}` can only be queried with event:goal filters or dimensions.",
                m.name()
            )));
        }
    }
    if q.metrics.contains(&Metric::ViewsPerVisit) {
        let page_filter = q
            .filter
            .as_ref()
            .is_some_and(|f| f.dimensions().contains(&&Dimension::Page));
        if page_filter {
            return Err(refused(
                "Metric `views_per_visit` cannot be queried with a filter on `event:page`",
            ));
        }
        if !q.dimensions.is_empty() {
            return Err(refused(
                "Metric `views_per_visit` cannot be queried with `dimensions`",
            ));
        }
    }
    let event_dims = of_table(
        q.dimensions.iter().map(|d| (d.table(), d.name())),
        Table::Events,
    );
    if event_dims == ["event:page"] {
        return Ok(());
    }
    let metrics = || q.metrics.iter().map(|m| (m.table(), m.name().to_string()));
    let session_metrics = of_table(metrics(), Table::Sessions);
    if !session_metrics.is_empty() && !event_dims.is_empty() {
        return Err(refused(&format!(
            "Session metric(s) {} cannot be queried along with event dimension(s) {}",
            quoted(&session_metrics),
            quoted(&event_dims)
        )));
    }
    let event_metrics = of_table(metrics(), Table::Events);
    let session_dims = of_table(
        q.dimensions.iter().map(|d| (d.table(), d.name())),
        Table::Sessions,
    );
    if !event_metrics.is_empty() && !session_dims.is_empty() {
        return Err(refused(&format!(
            "Event metric(s) {} cannot be queried along with session dimension(s) {}",
            quoted(&event_metrics),
            quoted(&session_dims)
        )));
    }
    Ok(())
}

/// Engagement metrics are per page: each needs the page it is about.
fn check_engagement(q: &Query) -> Result<(), ApiError> {
    let page_dimension = q.dimensions.contains(&Dimension::Page);
    let page_filter = q
        .filter
        .as_ref()
        .is_some_and(|f| f.dimensions().contains(&&Dimension::Page));
    for m in [Metric::TimeOnPage, Metric::ScrollDepth] {
        if q.metrics.contains(&m) && !page_dimension && !page_filter {
            return Err(refused(&format!(
                "Metric `{}` can only be queried with event:page filters or dimensions",
                m.name()
            )));
        }
    }
    if q.metrics.contains(&Metric::ExitRate) && !page_dimension {
        return Err(refused(
            "Metric `exit_rate` can only be queried with an event:page dimension",
        ));
    }
    Ok(())
}

fn refused(message: &str) -> ApiError {
    ApiError::BadQuery(message.into())
}

/// The names of those in `table`, in order.
fn of_table(items: impl Iterator<Item = (Table, String)>, table: Table) -> Vec<String> {
    items.filter(|(t, _)| *t == table).map(|(_, n)| n).collect()
}

/// "`a`, `b`", as Plausible lists names.
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use crate::api::parse::parse;
    use crate::error::ApiError;
    use serde_json::{json, Value};

    fn outcome(metrics: Value, dimensions: Value, filters: Value) -> Result<(), String> {
        let body = json!({"site_id": "a", "date_range": "day", "metrics": metrics,
            "dimensions": dimensions, "filters": filters});
        match parse(&body) {
            Ok(_) => Ok(()),
            Err(ApiError::BadQuery(m)) => Err(m),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn metrics_go_with_the_dimensions_of_their_table() {
        let ok = [
            (
                json!(["visitors", "visits", "percentage"]),
                json!(["event:name"]),
            ),
            (
                json!(["bounce_rate", "visit_duration"]),
                json!(["event:page"]),
            ),
            (
                json!(["pageviews", "events"]),
                json!(["event:page", "visit:entry_page"]),
            ),
            (
                json!(["bounce_rate"]),
                json!(["visit:entry_page", "time:day"]),
            ),
            (
                json!(["pageviews"]),
                json!(["visit:source", "event:props:plan"]),
            ),
        ];
        for (metrics, dims) in ok {
            assert_eq!(
                outcome(metrics.clone(), dims.clone(), json!([])),
                Ok(()),
                "{metrics} {dims}"
            );
        }
        let refused = [
            (
                json!(["visitors", "bounce_rate"]),
                json!(["event:name"]),
                "Session metric(s) `bounce_rate` cannot be queried along with event dimension(s) `event:name`",
            ),
            (
                json!(["visit_duration", "bounce_rate"]),
                json!(["event:page", "event:props:plan"]),
                "Session metric(s) `visit_duration`, `bounce_rate` cannot be queried along with event dimension(s) `event:page`, `event:props:plan`",
            ),
            (
                json!(["events"]),
                json!(["visit:exit_page"]),
                "Event metric(s) `events` cannot be queried along with session dimension(s) `visit:exit_page`",
            ),
        ];
        for (metrics, dims, message) in refused {
            assert_eq!(outcome(metrics, dims, json!([])), Err(message.to_string()));
        }
    }

    #[test]
    fn engagement_metrics_need_the_page() {
        let page_filter = json!([["contains", "event:page", ["/blog"]]]);
        for metric in ["time_on_page", "scroll_depth"] {
            assert_eq!(
                outcome(json!([metric]), json!(["event:page"]), json!([])),
                Ok(())
            );
            assert_eq!(
                outcome(json!([metric]), json!(["time:day"]), page_filter.clone()),
                Ok(())
            );
            assert_eq!(
                outcome(
                    json!(["visitors", metric]),
                    json!(["visit:source"]),
                    json!([])
                ),
                Err(format!(
                    "Metric `{metric}` can only be queried with event:page filters or dimensions"
                ))
            );
        }
        assert_eq!(
            outcome(
                json!(["exit_rate"]),
                json!(["event:page", "time"]),
                json!([])
            ),
            Ok(())
        );
        assert_eq!(
            outcome(json!(["exit_rate"]), json!([]), page_filter),
            Err("Metric `exit_rate` can only be queried with an event:page dimension".into())
        );
    }

    #[test]
    fn goal_metrics_need_a_goal() {
        for metric in ["conversion_rate", "group_conversion_rate", "total_revenue"] {
            assert_eq!(
                outcome(json!([metric]), json!(["visit:source"]), json!([])),
                Err(format!(
                    "Metric `{metric}` can only be queried with event:goal filters or dimensions."
                ))
            );
            assert_eq!(
                outcome(json!([metric]), json!(["event:goal"]), json!([])),
                Ok(())
            );
            let nested = json!([[
                "or",
                [["is", "event:goal", ["A"]], ["is", "event:page", ["/"]]]
            ]]);
            assert_eq!(outcome(json!([metric]), json!([]), nested), Ok(()));
        }
    }

    #[test]
    fn views_per_visit_needs_no_dimension_and_no_page_filter() {
        assert_eq!(
            outcome(
                json!(["views_per_visit"]),
                json!([]),
                json!([["is", "visit:source", ["x"]]])
            ),
            Ok(())
        );
        assert_eq!(
            outcome(json!(["views_per_visit"]), json!(["time"]), json!([])),
            Err("Metric `views_per_visit` cannot be queried with `dimensions`".into())
        );
        assert_eq!(
            outcome(
                json!(["views_per_visit"]),
                json!([]),
                json!([["not", ["or", [["is", "event:page", ["/"]]]]]])
            ),
            Err("Metric `views_per_visit` cannot be queried with a filter on `event:page`".into())
        );
    }
}
