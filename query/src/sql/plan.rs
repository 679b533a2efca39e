//! A report's plan: the parsed query resolved against one site (its time
//! zone, the resolved range, the clock) and the materialized visits it may
//! read. Both ways of answering it read this and nothing else:
//! [`super::events`] builds the answer from events (and their visits), and
//! [`super::rollups`] reads it from rolled-up totals. [`super::report`]
//! picks one, so neither path knows of the other.
//!
//! # What every body selects
//! Either path yields one row per group: the dimensions as `d0`, `d1`, ...
//! and then the raw numbers `r_visitors`, `r_pageviews`, `r_events`,
//! `r_visits`, `r_bounces`, `r_duration`, `r_visit_pageviews`, in that
//! order ([`RAW_COLUMNS`]); with revenue metrics, then `r_revenue` and
//! `r_revenue_n` (the amounts and revenue events per currency, see
//! [`super::goals`]). [`super::report`] orders and pages the rows by those
//! names (and joins `r_group_visitors` after them for
//! `group_conversion_rate`).

use super::expr::{self, lit};
use super::goals;
use super::visits::{self, Needs, Window};
use crate::api::dates::{self, Span};
use crate::api::request::{Dimension, Filter, Query, TimeGrain};
use chrono_tz::Tz;

/// The raw numbers every body selects after the dimensions, in order:
/// what a report row is read from, and what [`super::threshold`] zeroes.
pub(crate) const RAW_COLUMNS: [&str; 7] = [
    "r_visitors",
    "r_pageviews",
    "r_events",
    "r_visits",
    "r_bounces",
    "r_duration",
    "r_visit_pageviews",
];

/// Rows of materialized tables whose generation is the current one.
pub(crate) const CURRENT: &str =
    "(chunk, generation) IN (SELECT chunk, max(generation) FROM visit_chunks GROUP BY chunk)";

/// Events in `[from, to)` (Unix seconds) are materialized in `visit_events`
/// with their visits; no event is older than `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub from: i64,
    pub to: i64,
}

/// A query against one site's settings, resolved in time.
#[derive(Debug)]
pub struct Plan<'a> {
    pub query: &'a Query,
    pub tz: Tz,
    pub span: Span,
    /// What `time` means for this span.
    pub grain: TimeGrain,
    /// The service's clock, Unix seconds: visits are not read further ahead
    /// than it allows (see [`visits::CLOCK_MARGIN_SECS`]).
    pub now: i64,
    /// Visits materialized by [`crate::jobs::rollup`], if any are used.
    pub coverage: Option<Coverage>,
    /// The query's filter with its `event:goal` conditions rewritten into
    /// what the goals match ([`crate::api::goals::rewrite`]): what SQL reads.
    pub filter: Option<Filter>,
}

impl<'a> Plan<'a> {
    pub fn new(query: &'a Query, tz: Tz, span: Span, now: i64) -> Self {
        Self {
            query,
            tz,
            span,
            grain: dates::auto_grain(&span),
            now,
            coverage: None,
            filter: query
                .filter
                .as_ref()
                .map(|f| crate::api::goals::rewrite(f, &query.goals)),
        }
    }

    /// The expression of a dimension over the relation, in the site's zone.
    pub(crate) fn dimension(&self, d: &Dimension) -> String {
        match d {
            Dimension::Goal => goals::dimension(&self.query.goals),
            _ => expr::dimension(d, self.grain, &lit(self.tz.name())),
        }
    }

    /// ` AND (<filter>)`, or nothing without a filter.
    pub(crate) fn filter_clause(&self) -> String {
        self.filter
            .as_ref()
            .map(|f| format!(" AND ({})", expr::filter(f)))
            .unwrap_or_default()
    }

    /// `, <sums> AS r_revenue, <counts> AS r_revenue_n` over rows where
    /// `cond` holds, with revenue metrics; else nothing.
    pub(crate) fn revenue_select(&self, cond: &str) -> String {
        self.revenue_as(cond, ["r_revenue", "r_revenue_n"])
    }

    /// The revenue sums under the aliases `names`, or nothing.
    pub(crate) fn revenue_as(&self, cond: &str, names: [&str; 2]) -> String {
        if !self.query.wants_revenue() {
            return String::new();
        }
        let [sums, counts] = goals::revenue_sums(&self.query.goals, cond);
        format!(", {sums} AS {}, {counts} AS {}", names[0], names[1])
    }

    /// The dimensions the query groups or filters by.
    pub(crate) fn used_dimensions(&self) -> Vec<&Dimension> {
        let mut dims: Vec<&Dimension> = self.query.dimensions.iter().collect();
        if let Some(f) = &self.query.filter {
            dims.extend(f.dimensions());
        }
        dims
    }

    /// The extra columns the visit relation must carry for this query.
    pub(crate) fn needs(&self) -> Needs {
        let dims = self.used_dimensions();
        let mut needs = Needs::default();
        let add = |list: &mut Vec<&'static str>, c: &'static str| {
            if !list.contains(&c) {
                list.push(c);
            }
        };
        for d in dims {
            match d {
                Dimension::Hostname => add(&mut needs.event_columns, "hostname"),
                Dimension::Prop(_) => {
                    add(&mut needs.event_columns, "props_keys");
                    add(&mut needs.event_columns, "props_values");
                }
                Dimension::Visit(column) => add(&mut needs.visit_columns, column),
                _ => {}
            }
        }
        if self.query.wants_revenue() {
            for column in goals::REVENUE_COLUMNS {
                add(&mut needs.event_columns, column);
            }
        }
        needs
    }

    /// Relation rows built now for the events from `from` to the range's
    /// end that pass `filter` (a clause from [`Self::filter_clause`], or "").
    pub(crate) fn built_rows(&self, needs: &Needs, from: i64, filter: &str) -> String {
        let to = self.span.to.timestamp();
        let window = Window {
            site: &self.query.site_id,
            from,
            to,
            now: self.now,
        };
        format!(
            "SELECT {} FROM ({}) WHERE timestamp >= toDateTime({from}) AND timestamp < toDateTime({to}){filter}",
            needs.columns().join(", "),
            visits::relation(&window, needs)
        )
    }
}

/// `d0`, `d1`, ...: the dimensions' aliases in every body.
pub(crate) fn dim_aliases(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| format!("d{i}"))
}

/// `expr AS d0, expr AS d1, ` (with the trailing separator) or nothing.
pub(crate) fn aliased(dims: &[String]) -> String {
    dims.iter()
        .enumerate()
        .map(|(i, d)| format!("{d} AS d{i}, "))
        .collect()
}

/// ` GROUP BY d0, d1, ...`, or nothing without dimensions.
pub(crate) fn group_by(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let keys: Vec<String> = dim_aliases(n).collect();
    format!(" GROUP BY {}", keys.join(", "))
}
