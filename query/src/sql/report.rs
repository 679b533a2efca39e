//! One Stats API query as SQL, run with limits, and its rows as raw numbers.
//!
//! A [`Report`] holds the query's [`Plan`] and picks the way to answer it:
//! from rolled-up totals ([`super::rollups`]) when they hold the answer
//! exactly, else from events ([`super::events`]). Either body selects the
//! same columns; this module orders and pages them and reads the rows.
//!
//! ClickHouse returns raw sums and counts ([`Raw`]); the ratios and
//! rounding happen in [`crate::api::response`], so every metric is derived
//! from the same few numbers:
//! - `visitors`: distinct visitor ids among matching events in range;
//! - `pageviews`, `events`: matching events in range (`events` excludes
//!   `engagement` events, which only measure time on page);
//! - `visits`: visits that start in range and hold a matching event;
//! - `bounce_rate`: percent of those visits with exactly one pageview and
//!   no interactive custom event;
//! - `visit_duration`: mean seconds from a visit's first event to its last;
//! - `views_per_visit`: mean pageviews per visit;
//! - `percentage`: share of the range's visitors (same filters, no grouping);
//! - `time_on_page`, `scroll_depth`, `exit_rate`: see [`super::engagement`].
//!
//! A filter is evaluated on each event together with its visit's
//! attributes. Grouped by an event dimension, a visit counts once under
//! every value its matching events have; grouped by time, under every
//! bucket it has matching events in.

use super::clickhouse::{fetch_json, number, Limits};
use super::plan::{dim_aliases, Coverage, Plan, RAW_COLUMNS};
use super::threshold::{self, Threshold};
use super::{engagement, events, rollups};
use crate::api::dates::Span;
use crate::api::request::{Dimension, Direction, Metric, Query, SortKey, TimeGrain};
use crate::api::response::{Engagement, Raw, Row};
use crate::api::threshold::MinVisitors;
use crate::error::ApiError;
use chrono_tz::Tz;
use schema::client::ServerVersion;
use schema::Db;
use serde_json::Value;

/// A query against one site's settings, resolved in time, ready to run.
#[derive(Debug)]
pub struct Report<'a> {
    pub plan: Plan<'a>,
    /// The site's k-anonymity threshold, applied to the final rows.
    pub min_visitors: Option<MinVisitors>,
}

#[derive(Debug)]
pub struct Outcome {
    pub rows: Vec<Row>,
    /// Rows before pagination, as ClickHouse counted them.
    pub total_rows: u64,
}

impl<'a> Report<'a> {
    pub fn new(query: &'a Query, tz: Tz, span: Span, now: i64) -> Self {
        Self {
            plan: Plan::new(query, tz, span, now),
            min_visitors: None,
        }
    }

    /// Merges and zeroes rows under the site's threshold, if it has one.
    pub fn with_min_visitors(mut self, k: Option<MinVisitors>) -> Self {
        self.min_visitors = k;
        self
    }

    /// Reads materialized visits where `coverage` allows.
    pub fn with_coverage(mut self, coverage: Option<Coverage>) -> Self {
        self.plan.coverage = coverage;
        self
    }

    /// Buckets `time` by `grain` whatever the range's length (a compared
    /// range is bucketed as the range it is compared with).
    pub fn with_grain(mut self, grain: TimeGrain) -> Self {
        self.plan.grain = grain;
        self
    }

    /// The full SQL for `server`; the format is chosen when it is fetched.
    pub fn sql(&self, server: ServerVersion) -> String {
        let plan = &self.plan;
        let q = plan.query;
        let dims: Vec<String> = q.dimensions.iter().map(|d| plan.dimension(d)).collect();
        // The engagement numbers join each body, so that the threshold
        // merges and zeroes them with the rest.
        let body = |dims: &[String]| {
            let main = rollups::sql(plan, dims).unwrap_or_else(|| events::sql(plan, dims));
            if engagement::wanted(q) {
                engagement::joined(plan, dims, &main)
            } else {
                main
            }
        };
        let body = match self.min_visitors {
            Some(k) => threshold::sql(plan, Threshold { k, server }, &dims, body),
            None => body(&dims),
        };
        format!(
            "{body} ORDER BY {} LIMIT {}, {}",
            self.order_by().join(", "),
            q.offset,
            q.limit
        )
    }

    /// Explicit order first, then the default: time ascending, the first
    /// metric descending, and every dimension ascending so that pages of
    /// results are stable.
    fn order_by(&self) -> Vec<String> {
        let q = self.plan.query;
        let dim_alias = |d: &Dimension| {
            let i = q
                .dimensions
                .iter()
                .position(|x| x == d)
                .expect("checked at parse");
            format!("d{i}")
        };
        let mut order: Vec<String> = q
            .order_by
            .iter()
            .map(|(key, dir)| {
                let expr = match key {
                    SortKey::Metric(m) => metric_order(*m).to_string(),
                    SortKey::Dimension(d) => dim_alias(d),
                };
                format!("{expr} {}", direction(*dir))
            })
            .collect();
        if q.order_by.is_empty() {
            if let Some(t) = q.dimensions.iter().find(|d| d.is_time()) {
                order.push(format!("{} ASC", dim_alias(t)));
            }
            order.push(format!("{} DESC", metric_order(q.metrics[0])));
        }
        order.extend(dim_aliases(q.dimensions.len()).map(|a| a + " ASC"));
        order
    }

    /// Runs the report under `limits`.
    pub async fn run(&self, db: &Db, limits: Limits) -> Result<Outcome, ApiError> {
        let sql = self.sql(db.version());
        tracing::debug!(%sql, "report");
        let json = fetch_json(db, &sql, limits).await?;
        let total_rows = json
            .get("rows_before_limit_at_least")
            .and_then(number)
            .unwrap_or(0);
        let data = json
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let query = self.plan.query;
        let dims = query.dimensions.len();
        let extra = if engagement::wanted(query) {
            engagement::COLUMNS.len()
        } else {
            0
        };
        let rows = data
            .iter()
            .map(|row| parse_row(row, dims, extra))
            .collect::<Result<Vec<_>, _>>()?;
        let total_rows = total_rows.max(query.offset + rows.len() as u64);
        Ok(Outcome { rows, total_rows })
    }
}

fn metric_order(m: Metric) -> &'static str {
    match m {
        Metric::Visitors | Metric::Percentage => "r_visitors",
        Metric::Visits => "r_visits",
        Metric::Pageviews => "r_pageviews",
        Metric::Events => "r_events",
        Metric::BounceRate => "if(r_visits = 0, 0, r_bounces / r_visits)",
        Metric::VisitDuration => "if(r_visits = 0, 0, r_duration / r_visits)",
        Metric::ViewsPerVisit => "if(r_visits = 0, 0, r_visit_pageviews / r_visits)",
        Metric::TimeOnPage => "if(r_engaged_visits = 0, 0, r_engaged_ms / r_engaged_visits)",
        Metric::ScrollDepth => "if(r_scrolled_visits = 0, 0, r_scroll_sum / r_scrolled_visits)",
        Metric::ExitRate => "if(r_page_visits = 0, 0, r_exits / r_page_visits)",
    }
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    }
}

/// A row of `dims` dimensions, the numbers every body selects, then
/// `extra` engagement numbers ([`engagement::COLUMNS`]) when asked for.
fn parse_row(row: &Value, dims: usize, extra: usize) -> Result<Row, ApiError> {
    let unexpected = || ApiError::Storage(schema::DbError::Unexpected(format!("report row {row}")));
    let cells = row.as_array().ok_or_else(unexpected)?;
    if cells.len() != dims + RAW_COLUMNS.len() + extra {
        return Err(unexpected());
    }
    let dimensions = cells[..dims]
        .iter()
        .map(|c| c.as_str().map(String::from).ok_or_else(unexpected))
        .collect::<Result<Vec<_>, _>>()?;
    let n: Vec<u64> = cells[dims..]
        .iter()
        .map(|c| number(c).unwrap_or(0))
        .collect();
    Ok(Row {
        dimensions,
        raw: Raw {
            visitors: n[0],
            pageviews: n[1],
            events: n[2],
            visits: n[3],
            bounces: n[4],
            duration_sum: n[5],
            visit_pageviews: n[6],
            engagement: Engagement::from_numbers(&n[RAW_COLUMNS.len()..]),
        },
    })
}
