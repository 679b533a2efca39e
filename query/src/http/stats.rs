//! `POST /api/v2/query`: the Stats API. The whole path of a report in one
//! handler: who is asking ([`crate::auth`]), the body parsed into a query
//! ([`crate::api::parse`]), its range resolved in the site's zone
//! ([`crate::api::dates`]), the report run ([`crate::sql::report`]) and,
//! with `include.comparisons`, the compared range's too
//! ([`crate::api::compare`]), and the rows written as JSON or CSV
//! ([`crate::api::response`]).

use crate::api::compare;
use crate::api::dates::{self, Span};
use crate::api::goals;
use crate::api::imports::{self, Imported};
use crate::api::request::{
    Comparison, DateRange, Direction, Filter, Metric, Op, Query, SortKey, TimeGrain, MAX_LIMIT,
};
use crate::api::response::{self, Answer, Compared, Raw, Row};
use crate::api::threshold::MinVisitors;
use crate::auth::caller::caller;
use crate::auth::client_net::ClientNet;
use crate::auth::sites::readable_site;
use crate::error::ApiError;
use crate::jobs;
use crate::sql::plan::Coverage;
use crate::sql::report::Report;
use crate::sql::{imported, lookups};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono_tz::Tz;
use std::sync::Arc;

pub async fn stats_query(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let editor = caller(&state, net, &method, &headers)?;
    let body: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadQuery(format!("the body is not valid JSON: {e}")))?;
    let mut query = crate::api::parse::parse(&body)?;
    let site = readable_site(&state.config, editor, &query.site_id)?;
    goals::attach(&mut query, site.goals())?;
    let _slot = state.admission.admit(editor)?;
    let tz = dates::site_zone(site);
    let first_event = match query.date_range {
        DateRange::Named(ref n) if n == "all" => {
            lookups::first_event_day(&state.db, &query.site_id, tz, state.limits).await?
        }
        _ => None,
    };
    let now = (state.now)();
    let span = dates::resolve(&query.date_range, tz, now, first_event)?;
    if let Some(grain) = query.time_grain() {
        dates::check_buckets(&span, grain)?;
    }
    let coverage = coverage(&state).await?;
    let min_visitors = MinVisitors::of(site);
    let imported_days = match query.imports {
        true => imported::imported_days(&state.db, &query.site_id, state.limits).await?,
        false => Imported::None,
    };
    let has_imports = imported_days != Imported::None;
    let report = Report::new(&query, tz, span, now.timestamp())
        .with_coverage(coverage)
        .with_imports(has_imports)
        .with_min_visitors(min_visitors);
    let imports_meta = query.imports.then(|| {
        let answerable = imported::answerable(&report.plan).map(drop);
        imports::outcome(imported_days, span.first_day, span.last_day, answerable).meta()
    });
    let grain = report.plan.grain;
    let mut outcome = report.run(&state.db, state.limits).await?;
    let total_visitors = if response::needs_total(&query) {
        let at = Range {
            tz,
            span,
            grain: report.plan.grain,
        };
        total_visitors(&state, &query, at, now.timestamp(), (coverage, has_imports)).await?
    } else {
        0
    };
    let conversion_base = if response::needs_conversion_base(&query) {
        let at = Range {
            tz,
            span,
            grain: report.plan.grain,
        };
        conversion_base(&state, &query, at, now.timestamp(), coverage).await?
    } else {
        0
    };
    let time_labels = query
        .time_labels
        .then(|| dates::labels(&span, query.time_grain().unwrap_or(TimeGrain::Auto), tz));
    let compared = match query.comparison {
        Some(comparison) => {
            let labels = dates::labels(&span, grain, tz);
            fill_time_rows(&query, &mut outcome.rows, outcome.total_rows, &labels);
            let range = Range { tz, span, grain };
            let run = Run {
                state: &state,
                now,
                coverage,
                min_visitors,
                has_imports,
            };
            Some(compared(&run, &query, &outcome.rows, range, comparison).await?)
        }
        None => None,
    };
    let answer = Answer {
        query: &query,
        filters: body
            .get("filters")
            .cloned()
            .unwrap_or_else(|| serde_json::json!([])),
        span,
        tz,
        rows: outcome.rows,
        total_rows: outcome.total_rows,
        total_visitors,
        conversion_base,
        time_labels,
        compared,
        min_visitors,
        imports_meta,
    };
    if wants_csv(&headers) {
        let csv = answer
            .csv()
            .map_err(|e| ApiError::BadQuery(format!("cannot write CSV: {e}")))?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response());
    }
    Ok(Json(answer.json()).into_response())
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

/// Visitors in the whole range with the same filters: the base of `percentage`.
/// Not thresholded: no row has more visitors than this, so when it is under
/// the threshold every row that shows a percentage is hidden anyway.
async fn total_visitors(
    state: &AppState,
    query: &Query,
    range: Range,
    now: i64,
    (coverage, has_imports): (Option<Coverage>, bool),
) -> Result<u64, ApiError> {
    let Range { tz, span, grain } = range;
    let total = Query {
        metrics: vec![Metric::Visitors],
        dimensions: Vec::new(),
        order_by: Vec::new(),
        offset: 0,
        limit: 1,
        ..query.clone()
    };
    let outcome = Report::new(&total, tz, span, now)
        .with_grain(grain)
        .with_coverage(coverage)
        .with_imports(has_imports)
        .run(&state.db, state.limits)
        .await?;
    Ok(outcome.rows.first().map_or(0, |r| r.raw.visitors))
}

/// Visitors in the whole range with the query's filters but its top-level
/// goal and property ones: the base of `conversion_rate`. Without imported
/// history, as the goals it is the base of were never imported.
async fn conversion_base(
    state: &AppState,
    query: &Query,
    range: Range,
    now: i64,
    coverage: Option<Coverage>,
) -> Result<u64, ApiError> {
    let base = Query {
        filter: query.filter.as_ref().and_then(goals::without_goal_filters),
        ..query.clone()
    };
    total_visitors(state, &base, range, now, (coverage, false)).await
}

/// A report's range: its zone, span and what `time` means in it.
#[derive(Clone, Copy)]
struct Range {
    tz: Tz,
    span: Span,
    grain: TimeGrain,
}

/// What running a report needs besides the query.
struct Run<'a> {
    state: &'a AppState,
    now: chrono::DateTime<chrono::Utc>,
    coverage: Option<Coverage>,
    min_visitors: Option<MinVisitors>,
    /// The site has imported history (used with `include.imports`).
    has_imports: bool,
}

/// The report of the range `comparison` compares `range` with, for the
/// dimension values of `rows` (all of them, whatever the page), bucketed
/// by the same grain.
async fn compared(
    run: &Run<'_>,
    query: &Query,
    rows: &[Row],
    range: Range,
    comparison: Comparison,
) -> Result<Compared, ApiError> {
    let (tz, now) = (range.tz, run.now);
    // Plausible's "today" here is the UTC date of its clock.
    let today = now.date_naive();
    let (first, last) = compare::compared_days(
        range.span.first_day,
        range.span.last_day,
        today,
        &comparison,
    );
    let span = dates::resolve(&DateRange::Dates(first, last), tz, now, None)?;
    let time_buckets = match query.time_grain() {
        Some(_) => dates::labels(&range.span, range.grain, tz)
            .into_iter()
            .zip(dates::labels(&span, range.grain, tz))
            .collect(),
        None => Default::default(),
    };
    let has_values = query.dimensions.iter().any(|d| !d.is_time());
    let mut compared_rows = Default::default();
    if !(has_values && rows.is_empty()) {
        let filter = [query.filter.clone(), rows_filter(query, rows)]
            .into_iter()
            .flatten()
            .reduce(|a, b| Filter::And(vec![a, b]));
        let compared_query = Query {
            filter,
            offset: 0,
            limit: MAX_LIMIT,
            comparison: None,
            ..query.clone()
        };
        let outcome = Report::new(&compared_query, tz, span, now.timestamp())
            .with_grain(range.grain)
            .with_coverage(run.coverage)
            .with_min_visitors(run.min_visitors)
            .with_imports(run.has_imports)
            .run(&run.state.db, run.state.limits)
            .await?;
        compared_rows = outcome
            .rows
            .into_iter()
            .map(|r| (r.dimensions, r.raw))
            .collect();
    }
    let timestamp = now.timestamp();
    let total_visitors = if response::needs_total(query) {
        let at = Range {
            tz,
            span,
            grain: range.grain,
        };
        total_visitors(
            run.state,
            query,
            at,
            timestamp,
            (run.coverage, run.has_imports),
        )
        .await?
    } else {
        0
    };
    let conversion_base = if response::needs_conversion_base(query) {
        let at = Range {
            tz,
            span,
            grain: range.grain,
        };
        conversion_base(run.state, query, at, timestamp, run.coverage).await?
    } else {
        0
    };
    Ok(Compared {
        span,
        rows: compared_rows,
        total_visitors,
        conversion_base,
        time_buckets,
    })
}

/// Limits a compared report to the dimension values of `rows` (each
/// non-time dimension to the values it has there), as Plausible does, so
/// that a page of rows finds its compared rows whatever their rank.
fn rows_filter(query: &Query, rows: &[Row]) -> Option<Filter> {
    let parts: Vec<Filter> = query
        .dimensions
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.is_time())
        .map(|(i, d)| {
            let mut values: Vec<String> = rows.iter().map(|r| r.dimensions[i].clone()).collect();
            values.sort_unstable();
            values.dedup();
            Filter::compare(Op::Is, d.clone(), values)
        })
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(Filter::And(parts)),
    }
}

/// With comparisons, a report by time alone holds every bucket of the
/// range, empty ones too, so each can show its compared value (as in
/// Plausible). Only when the report fits on its first page; in time order
/// unless ordered by a metric.
fn fill_time_rows(query: &Query, rows: &mut Vec<Row>, total_rows: u64, labels: &[String]) {
    let [time] = query.dimensions.as_slice() else {
        return;
    };
    if !time.is_time() || query.offset > 0 || total_rows > query.limit {
        return;
    }
    for label in labels {
        if !rows.iter().any(|r| r.dimensions[0] == *label) {
            rows.push(Row {
                dimensions: vec![label.clone()],
                raw: Raw::default(),
                extra: Default::default(),
            });
        }
    }
    match query.order_by.first() {
        Some((SortKey::Metric(_), _)) => {}
        Some((_, Direction::Desc)) => rows.sort_by(|a, b| b.dimensions.cmp(&a.dimensions)),
        _ => rows.sort_by(|a, b| a.dimensions.cmp(&b.dimensions)),
    }
    rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
}

/// Materialized visits to read, unless `[query] rollups` is off.
async fn coverage(state: &AppState) -> Result<Option<Coverage>, ApiError> {
    if !state.config.query.rollups {
        return Ok(None);
    }
    Ok(jobs::rollup::coverage(&state.db).await?)
}
