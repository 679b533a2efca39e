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
//! - `conversion_rate`: share of the visitors of the same filters without
//!   the top-level goal and property ones (no grouping), and
//!   `group_conversion_rate` the same per group, joined here as
//!   `r_group_visitors` ([`crate::api::goals::without_goal_filters`]);
//! - `total_revenue`, `average_revenue`: sums and counts of revenue goal
//!   events per currency (`r_revenue`, `r_revenue_n`, see
//!   [`super::goals`]), named in a currency by [`crate::api::response`].
//!
//! A filter is evaluated on each event together with its visit's
//! attributes. Grouped by an event dimension, a visit counts once under
//! every value its matching events have; grouped by time, under every
//! bucket it has matching events in.

use super::clickhouse::{fetch_json, number, Limits};
use super::plan::{dim_aliases, Coverage, Plan, RAW_COLUMNS};
use super::threshold::{self, Threshold};
use super::{engagement, events, imported, rollups};
use crate::api::dates::Span;
use crate::api::goals::without_goal_filters;
use crate::api::request::{Dimension, Direction, Metric, Query, SortKey, TimeGrain};
use crate::api::response::{Engagement, Extra, Raw, Revenue, Row};
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
    /// With `include.imports` on a site with imports: add the imported
    /// totals of this dimension (`None`: the day's totals) to the rows.
    imported: Option<Option<Dimension>>,
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
            imported: None,
        }
    }

    /// Merges and zeroes rows under the site's threshold, if it has one.
    pub fn with_min_visitors(mut self, k: Option<MinVisitors>) -> Self {
        self.min_visitors = k;
        self
    }

    /// Adds imported history when the query asks for it (`include.imports`),
    /// the site `has_imports` and the totals can answer the query. Call it
    /// after [`Self::with_grain`]: the grain decides.
    pub fn with_imports(mut self, has_imports: bool) -> Self {
        if has_imports && self.plan.query.imports {
            self.imported = imported::answerable(&self.plan).ok();
        }
        self
    }

    /// Reads materialized visits where `coverage` allows; not for revenue,
    /// whose columns only the events table holds.
    pub fn with_coverage(mut self, coverage: Option<Coverage>) -> Self {
        self.plan.coverage = coverage.filter(|_| !self.plan.query.wants_revenue());
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
            let main = if engagement::wanted(q) {
                engagement::joined(plan, dims, &main)
            } else {
                main
            };
            // Imported totals join before the threshold, which then
            // counts the merged groups.
            match &self.imported {
                Some(dim) => imported::merged(plan, dims, &main, dim.as_ref()),
                None => main,
            }
        };
        let body = match self.min_visitors {
            Some(k) => threshold::sql(plan, Threshold { k, server }, &dims, body),
            None => body(&dims),
        };
        // Joined to the final rows, after any threshold merged them; and
        // the columns in the order rows are read in ([`final_columns`]).
        let body = if q.metrics.contains(&Metric::GroupConversionRate) {
            self.with_group_visitors(&body)
        } else if q.wants_revenue() {
            format!("SELECT {} FROM ({body})", final_columns(q).join(", "))
        } else {
            body
        };
        format!(
            "{body} ORDER BY {} LIMIT {}, {}",
            self.order_by().join(", "),
            q.offset,
            q.limit
        )
    }

    /// `body` with each group's visitors under the same filters without the
    /// top-level goal and property ones (`r_group_visitors`), grouped by
    /// the same dimensions but `event:goal`: the base of
    /// `group_conversion_rate`, joined on the dimensions' values.
    fn with_group_visitors(&self, body: &str) -> String {
        let plan = &self.plan;
        let q = plan.query;
        let kept: Vec<(usize, &Dimension)> = q
            .dimensions
            .iter()
            .enumerate()
            .filter(|(_, d)| **d != Dimension::Goal)
            .collect();
        let totals_query = Query {
            metrics: vec![Metric::Visitors],
            dimensions: kept.iter().map(|(_, d)| (*d).clone()).collect(),
            filter: q.filter.as_ref().and_then(without_goal_filters),
            order_by: Vec::new(),
            ..q.clone()
        };
        let mut totals_plan = Plan::new(&totals_query, plan.tz, plan.span, plan.now);
        totals_plan.grain = plan.grain;
        totals_plan.coverage = plan.coverage;
        let totals_dims: Vec<String> = totals_query
            .dimensions
            .iter()
            .map(|d| totals_plan.dimension(d))
            .collect();
        let totals = rollups::sql(&totals_plan, &totals_dims)
            .unwrap_or_else(|| events::sql(&totals_plan, &totals_dims));
        // The totals' dimension `j` is the report's `i`. Renamed through
        // `k<i>`: ClickHouse substitutes aliases, so `d0 AS d1, d1 AS d2`
        // in one SELECT would read the new `d1`.
        let via_k: Vec<String> = kept
            .iter()
            .enumerate()
            .map(|(j, (i, _))| format!("d{j} AS k{i}, "))
            .collect();
        let to_d: Vec<String> = kept
            .iter()
            .map(|(i, _)| format!("k{i} AS d{i}, "))
            .collect();
        let right = format!(
            "(SELECT {}r_group_visitors FROM (SELECT {}r_visitors AS r_group_visitors FROM ({totals}))) AS group_totals",
            to_d.concat(),
            via_k.concat()
        );
        // Columns named: `*` differs between releases (18.16 adds the
        // joined table's keys).
        let columns = final_columns(q).join(", ");
        if kept.is_empty() {
            return format!("SELECT {columns} FROM ({body}) AS report CROSS JOIN {right}");
        }
        let keys: Vec<String> = kept.iter().map(|(i, _)| format!("d{i}")).collect();
        format!(
            "SELECT {columns} FROM ({body}) AS report ANY LEFT JOIN {right} USING {}",
            keys.join(", ")
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
        let shape = Shape {
            dims: query.dimensions.len(),
            engagement: if engagement::wanted(query) {
                engagement::COLUMNS.len()
            } else {
                0
            },
            revenue: query.wants_revenue(),
            group: query.metrics.contains(&Metric::GroupConversionRate),
        };
        let rows = data
            .iter()
            .map(|row| parse_row(row, &shape))
            .collect::<Result<Vec<_>, _>>()?;
        let total_rows = total_rows.max(query.offset + rows.len() as u64);
        Ok(Outcome { rows, total_rows })
    }
}

fn metric_order(m: Metric) -> &'static str {
    match m {
        // A conversion rate's base is the same for every row.
        Metric::Visitors | Metric::Percentage | Metric::ConversionRate => "r_visitors",
        Metric::GroupConversionRate => "if(r_group_visitors = 0, 0, r_visitors / r_group_visitors)",
        // Rows in different currencies are ordered by their amounts alone.
        Metric::TotalRevenue => "arraySum(r_revenue.2)",
        Metric::AverageRevenue => {
            "if(arraySum(r_revenue_n.2) = 0, 0, arraySum(r_revenue.2) / arraySum(r_revenue_n.2))"
        }
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

/// Every column of a report's final rows, in order: the dimensions, the
/// raw numbers, the engagement ones, revenue and the group's visitors (the
/// last three when asked for). Bodies select revenue before the joined
/// engagement numbers, so reports with goal metrics end with this list.
fn final_columns(q: &Query) -> Vec<String> {
    let mut columns: Vec<String> = dim_aliases(q.dimensions.len()).collect();
    columns.extend(RAW_COLUMNS.iter().map(|c| c.to_string()));
    if engagement::wanted(q) {
        columns.extend(engagement::COLUMNS.iter().map(|c| c.to_string()));
    }
    if q.wants_revenue() {
        columns.extend(["r_revenue".to_string(), "r_revenue_n".to_string()]);
    }
    if q.metrics.contains(&Metric::GroupConversionRate) {
        columns.push("r_group_visitors".into());
    }
    columns
}

/// The columns of a report's rows: dimensions, the raw numbers, then the
/// engagement numbers ([`engagement::COLUMNS`]), revenue (2) and the
/// group's visitors (1), each when asked for ([`final_columns`]).
struct Shape {
    dims: usize,
    engagement: usize,
    revenue: bool,
    group: bool,
}

fn parse_row(row: &Value, shape: &Shape) -> Result<Row, ApiError> {
    let unexpected = || ApiError::Storage(schema::DbError::Unexpected(format!("report row {row}")));
    let cells = row.as_array().ok_or_else(unexpected)?;
    let dims = shape.dims;
    let numbers = RAW_COLUMNS.len() + shape.engagement;
    let revenue_cells = if shape.revenue { 2 } else { 0 };
    if cells.len() != dims + numbers + revenue_cells + usize::from(shape.group) {
        return Err(unexpected());
    }
    let dimensions = cells[..dims]
        .iter()
        .map(|c| c.as_str().map(String::from).ok_or_else(unexpected))
        .collect::<Result<Vec<_>, _>>()?;
    let n: Vec<u64> = cells[dims..dims + numbers]
        .iter()
        .map(|c| number(c).unwrap_or(0))
        .collect();
    let rest = &cells[dims + numbers..];
    let revenue = if shape.revenue {
        Some(Revenue::from_sum_maps(&rest[0], &rest[1]).ok_or_else(unexpected)?)
    } else {
        None
    };
    let group_visitors = shape
        .group
        .then(|| number(&rest[revenue_cells]).unwrap_or(0));
    Ok(Row {
        extra: Extra {
            revenue,
            group_visitors,
        },
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
