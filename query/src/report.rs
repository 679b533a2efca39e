//! One Stats API query as SQL, run with limits, and its rows as metrics.
//!
//! ClickHouse returns raw sums and counts; the ratios and rounding happen
//! here, so every metric is derived from the same few numbers:
//! - `visitors`: distinct visitor ids among matching events in range;
//! - `pageviews`, `events`: matching events in range (`events` excludes
//!   `engagement` events, which only measure time on page);
//! - `visits`: visits that start in range and hold a matching event;
//! - `bounce_rate`: percent of those visits with exactly one pageview and
//!   no interactive custom event;
//! - `visit_duration`: mean seconds from a visit's first event to its last;
//! - `views_per_visit`: mean pageviews per visit;
//! - `percentage`: share of the range's visitors (same filters, no grouping).
//!
//! A filter is evaluated on each event together with its visit's
//! attributes. Grouped by an event dimension, a visit counts once under
//! every value its matching events have; grouped by time, under every
//! bucket it has matching events in.

use crate::dates::{self, Span};
use crate::error::ApiError;
use crate::request::{Dimension, Direction, Filter, Metric, Query, SortKey, TimeGrain};
use crate::sql::{self, lit};
use crate::visits::{self, Needs, Window};
use chrono_tz::Tz;
use schema::Db;
use serde_json::Value;
use std::time::Duration;

/// Rows of materialized tables whose generation is the current one.
pub(crate) const CURRENT: &str =
    "(chunk, generation) IN (SELECT chunk, max(generation) FROM visit_chunks GROUP BY chunk)";

/// The raw numbers behind every metric of one result row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Raw {
    pub visitors: u64,
    pub pageviews: u64,
    pub events: u64,
    pub visits: u64,
    pub bounces: u64,
    pub duration_sum: u64,
    pub visit_pageviews: u64,
}

impl Raw {
    /// The metric's value as the API reports it.
    pub fn metric(&self, m: Metric, total_visitors: u64) -> Value {
        let per_visit = |x: u64| {
            if self.visits == 0 {
                0.0
            } else {
                x as f64 / self.visits as f64
            }
        };
        match m {
            Metric::Visitors => self.visitors.into(),
            Metric::Visits => self.visits.into(),
            Metric::Pageviews => self.pageviews.into(),
            Metric::Events => self.events.into(),
            Metric::BounceRate => ((per_visit(self.bounces) * 100.0).round() as u64).into(),
            Metric::VisitDuration => (per_visit(self.duration_sum).round() as u64).into(),
            Metric::ViewsPerVisit => round_to(per_visit(self.visit_pageviews), 2).into(),
            Metric::Percentage => {
                if total_visitors == 0 {
                    0.0.into()
                } else {
                    round_to(self.visitors as f64 * 100.0 / total_visitors as f64, 1).into()
                }
            }
        }
    }
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub dimensions: Vec<String>,
    pub raw: Raw,
}

/// A query against one site's settings, resolved in time.
#[derive(Debug)]
pub struct Report<'a> {
    pub query: &'a Query,
    pub tz: Tz,
    pub span: Span,
    pub grain: TimeGrain,
    /// The service's clock, Unix seconds: visits are not read further ahead
    /// than it allows (see [`visits::CLOCK_MARGIN_SECS`]).
    pub now: i64,
    /// Visits materialized by [`crate::rollup`], if any are used.
    pub coverage: Option<Coverage>,
}

/// Events in `[from, to)` (Unix seconds) are materialized in `visit_events`
/// with their visits; no event is older than `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub from: i64,
    pub to: i64,
}

/// Limits every report query runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub seconds: u32,
    pub memory_bytes: u64,
}

#[derive(Debug)]
pub struct Outcome {
    pub rows: Vec<Row>,
    /// Rows before pagination, as ClickHouse counted them.
    pub total_rows: u64,
}

impl<'a> Report<'a> {
    pub fn new(query: &'a Query, tz: Tz, span: Span, now: i64) -> Self {
        let grain = dates::auto_grain(&span);
        Self {
            query,
            tz,
            span,
            grain,
            now,
            coverage: None,
        }
    }

    /// Reads materialized visits where `coverage` allows.
    pub fn with_coverage(mut self, coverage: Option<Coverage>) -> Self {
        self.coverage = coverage;
        self
    }

    /// The full SQL; the format is chosen when it is fetched.
    pub fn sql(&self) -> String {
        let q = self.query;
        let dims: Vec<String> = q.dimensions.iter().map(|d| self.dimension(d)).collect();
        let body = if let Some(body) = crate::rollup_sql::sql(self, &dims) {
            body
        } else if q.needs_visits() {
            self.visits_sql(&dims)
        } else {
            self.events_sql(&dims)
        };
        format!(
            "{body} ORDER BY {} LIMIT {}, {}",
            self.order_by().join(", "),
            q.offset,
            q.limit
        )
    }

    pub(crate) fn dimension(&self, d: &Dimension) -> String {
        sql::dimension(d, self.grain, &lit(self.tz.name()))
    }

    fn filter_clause(&self) -> String {
        self.query
            .filter
            .as_ref()
            .map(|f| format!(" AND ({})", sql::filter(f)))
            .unwrap_or_default()
    }

    /// Event metrics straight from the events table, when no visit is needed.
    fn events_sql(&self, dims: &[String]) -> String {
        let select = aliased(dims);
        format!(
            "SELECT {select}{uniq}(visitor_id) AS r_visitors, countIf(name = 'pageview') AS r_pageviews, \
             count() AS r_events, toUInt64(0) AS r_visits, toUInt64(0) AS r_bounces, \
             toUInt64(0) AS r_duration, toUInt64(0) AS r_visit_pageviews \
             FROM events WHERE site = {site} AND timestamp >= toDateTime({from}) \
             AND timestamp < toDateTime({to}) AND name != 'engagement'{filter}{group}",
            uniq = sql::visitors_fn(""),
            site = lit(&self.query.site_id),
            from = self.span.from.timestamp(),
            to = self.span.to.timestamp(),
            filter = self.filter_clause(),
            group = group_by(dims.len()),
        )
    }

    /// Metrics over the visit relation. When every dimension and filter is
    /// a visit attribute (the same on all of a visit's events), one pass
    /// suffices: each visit is counted at its first event. Otherwise rows
    /// are first grouped per (group, visit), so that a visit's numbers count
    /// once per group it has matching events in (each visit keeps its
    /// visitor ids with repeats, which the distinct count outside ignores
    /// and which is cheaper than keeping them unique).
    fn visits_sql(&self, dims: &[String]) -> String {
        let rows = format!(
            "SELECT *, timestamp >= toDateTime({from}) AND timestamp < toDateTime({to}) \
             AND name != 'engagement' AS in_events, v_start >= {from} AND v_start < {to} AS in_visits \
             FROM ({source}) WHERE in_events OR in_visits",
            from = self.span.from.timestamp(),
            to = self.span.to.timestamp(),
            source = self.rows_in_range(&self.needs()),
        );
        if self.per_visit_attributes_only() {
            return format!(
                "SELECT {select}{uniq_if}(visitor_id, in_events) AS r_visitors, \
                 countIf(in_events AND name = 'pageview') AS r_pageviews, countIf(in_events) AS r_events, \
                 countIf(is_first AND in_visits) AS r_visits, countIf(is_first AND in_visits AND v_bounce) AS r_bounces, \
                 sumIf(v_duration, is_first AND in_visits) AS r_duration, \
                 sumIf(v_pageviews, is_first AND in_visits) AS r_visit_pageviews FROM ({rows}){group}",
                select = aliased(dims),
                uniq_if = sql::visitors_fn("If"),
                group = group_by(dims.len()),
            );
        }
        let per_visit = format!(
            "SELECT {select}vkey, v_start, groupArrayIf(visitor_id, in_events) AS vids, \
             countIf(in_events AND name = 'pageview') AS pv, countIf(in_events) AS ev, \
             any(in_visits) AS vin, any(v_bounce) AS b, any(v_duration) AS dur, any(v_pageviews) AS vpv \
             FROM ({rows}) GROUP BY {keys}vkey, v_start",
            select = aliased(dims),
            keys = dim_aliases(dims.len()).map(|a| a + ", ").collect::<String>(),
        );
        let outer: String = dim_aliases(dims.len()).map(|a| a + ", ").collect();
        format!(
            "SELECT {outer}{uniq_array}(vids) AS r_visitors, sum(pv) AS r_pageviews, sum(ev) AS r_events, \
             countIf(vin) AS r_visits, countIf(vin AND b) AS r_bounces, sumIf(dur, vin) AS r_duration, \
             sumIf(vpv, vin) AS r_visit_pageviews FROM ({per_visit}){group}",
            uniq_array = sql::visitors_fn("Array"),
            group = group_by(dims.len()),
        )
    }

    /// True when no dimension or filter varies within a visit.
    fn per_visit_attributes_only(&self) -> bool {
        self.used_dimensions().iter().all(|d| d.needs_visits())
    }

    /// The dimensions the query groups or filters by.
    fn used_dimensions(&self) -> Vec<&Dimension> {
        let mut dims: Vec<&Dimension> = self.query.dimensions.iter().collect();
        if let Some(f) = &self.query.filter {
            filter_dimensions(f, &mut dims);
        }
        dims
    }

    /// The relation's rows with a timestamp in range (the only rows a report
    /// counts) that pass the filter: stored rows for events in the
    /// materialized hours, rows built now for events after them. The filter
    /// goes into each branch, since 18.16 does not push it into a union
    /// (and reading only matching rows of `visit_events` is most of the win).
    fn rows_in_range(&self, needs: &Needs) -> String {
        let columns = needs.columns().join(", ");
        let (from, to) = (self.span.from.timestamp(), self.span.to.timestamp());
        let filter = self.filter_clause();
        let Some(c) = self.coverage.filter(|c| c.to > from && c.from < to) else {
            return self.built_rows(needs, from, &filter);
        };
        // Under PREWHERE the filter's columns are read and tested first, and
        // the other conditions and columns only for the rows that pass
        // (about 8% of the filtered report).
        let prewhere = self
            .query
            .filter
            .as_ref()
            .map(|f| format!("PREWHERE {} ", sql::filter(f)))
            .unwrap_or_default();
        let stored = format!(
            "SELECT {columns} FROM visit_events {prewhere}WHERE site = {} \
             AND timestamp >= toDateTime({}) AND timestamp < toDateTime({}) AND {CURRENT}",
            lit(&self.query.site_id),
            from.max(c.from),
            to.min(c.to)
        );
        if c.to >= to {
            return stored;
        }
        // Events after the materialized hours get their visits built now.
        format!(
            "{stored} UNION ALL {}",
            self.built_rows(needs, c.to, &filter)
        )
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
        needs
    }

    /// Explicit order first, then the default: time ascending, the first
    /// metric descending, and every dimension ascending so that pages of
    /// results are stable.
    fn order_by(&self) -> Vec<String> {
        let q = self.query;
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
        let sql = self.sql();
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
        let dims = self.query.dimensions.len();
        let rows = data
            .iter()
            .map(|row| parse_row(row, dims))
            .collect::<Result<Vec<_>, _>>()?;
        let total_rows = total_rows.max(self.query.offset + rows.len() as u64);
        Ok(Outcome { rows, total_rows })
    }
}

fn filter_dimensions<'f>(f: &'f Filter, out: &mut Vec<&'f Dimension>) {
    match f {
        Filter::Compare { dimension, .. } => out.push(dimension),
        Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| filter_dimensions(f, out)),
        Filter::Not(f) => filter_dimensions(f, out),
    }
}

fn dim_aliases(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| format!("d{i}"))
}

/// `expr AS d0, expr AS d1, ` (with the trailing separator) or nothing.
fn aliased(dims: &[String]) -> String {
    dims.iter()
        .enumerate()
        .map(|(i, d)| format!("{d} AS d{i}, "))
        .collect()
}

fn group_by(n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let keys: Vec<String> = dim_aliases(n).collect();
    format!(" GROUP BY {}", keys.join(", "))
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
    }
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    }
}

/// ClickHouse's JSON quotes 64-bit integers; accept either form.
pub(crate) fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn parse_row(row: &Value, dims: usize) -> Result<Row, ApiError> {
    let unexpected = || ApiError::Storage(schema::DbError::Unexpected(format!("report row {row}")));
    let cells = row.as_array().ok_or_else(unexpected)?;
    if cells.len() != dims + 7 {
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
        },
    })
}

/// Runs one report query with ClickHouse's time and memory limits.
pub async fn fetch_json(db: &Db, sql: &str, limits: Limits) -> Result<Value, ApiError> {
    let mut client = db
        .client()
        .clone()
        .with_setting("max_execution_time", limits.seconds.to_string())
        .with_setting("max_memory_usage", limits.memory_bytes.to_string());
    // `total_rows` comes from `rows_before_limit_at_least`, which current
    // releases only count in full when asked to.
    if db.version().needs_exact_rows_before_limit() {
        client = client.with_setting("exact_rows_before_limit", "1");
    }
    // A little longer than ClickHouse's own limit, so its clearer error wins.
    let wait = Duration::from_secs(u64::from(limits.seconds) + 5);
    let bytes = schema::client::within(wait, async {
        let mut cursor = client.query(sql).fetch_bytes("JSONCompact")?;
        Ok(cursor.collect().await?)
    })
    .await
    .map_err(ApiError::from_report)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Storage(schema::DbError::Unexpected(format!("report JSON: {e}"))))
}
