//! `POST /api/v2/query`: the Stats API. The whole path of a report in one
//! handler: who is asking ([`crate::auth`]), the body parsed into a query
//! ([`crate::api::parse`]), its range resolved in the site's zone
//! ([`crate::api::dates`]), the report run ([`crate::sql::report`]), and the
//! rows written as JSON or CSV ([`crate::api::response`]).

use crate::api::dates::{self, Span};
use crate::api::request::{DateRange, Dimension, Metric, Query, TimeGrain};
use crate::api::response::{self, Answer};
use crate::auth::caller::caller;
use crate::auth::client_net::ClientNet;
use crate::auth::sites::readable_site;
use crate::error::ApiError;
use crate::jobs;
use crate::sql::lookups;
use crate::sql::plan::Coverage;
use crate::sql::report::Report;
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
    let query = crate::api::parse::parse(&body)?;
    let site = readable_site(&state.config, editor, &query.site_id)?;
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
    let grain = time_grain(&query);
    if let Some(grain) = grain {
        dates::check_buckets(&span, grain)?;
    }
    let coverage = coverage(&state).await?;
    let report = Report::new(&query, tz, span, now.timestamp()).with_coverage(coverage);
    let outcome = report.run(&state.db, state.limits).await?;
    let total_visitors = if response::needs_total(&query) {
        total_visitors(&state, &query, tz, span, now.timestamp(), coverage).await?
    } else {
        0
    };
    let time_labels = query
        .time_labels
        .then(|| dates::labels(&span, grain.unwrap_or(TimeGrain::Auto), tz));
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
        time_labels,
    };
    if wants_csv(&headers) {
        let csv = answer
            .csv()
            .map_err(|e| ApiError::BadQuery(format!("cannot write CSV: {e}")))?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response());
    }
    Ok(Json(answer.json()).into_response())
}

/// The grain of the query's time dimension, if it has one.
fn time_grain(query: &Query) -> Option<TimeGrain> {
    query.dimensions.iter().find_map(|d| match d {
        Dimension::Time(g) => Some(*g),
        _ => None,
    })
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"))
}

/// Visitors in the whole range with the same filters: the base of `percentage`.
async fn total_visitors(
    state: &AppState,
    query: &Query,
    tz: Tz,
    span: Span,
    now: i64,
    coverage: Option<Coverage>,
) -> Result<u64, ApiError> {
    let total = Query {
        metrics: vec![Metric::Visitors],
        dimensions: Vec::new(),
        order_by: Vec::new(),
        offset: 0,
        limit: 1,
        ..query.clone()
    };
    let outcome = Report::new(&total, tz, span, now)
        .with_coverage(coverage)
        .run(&state.db, state.limits)
        .await?;
    Ok(outcome.rows.first().map_or(0, |r| r.raw.visitors))
}

/// Materialized visits to read, unless `[query] rollups` is off.
async fn coverage(state: &AppState) -> Result<Option<Coverage>, ApiError> {
    if !state.config.query.rollups {
        return Ok(None);
    }
    Ok(jobs::rollup::coverage(&state.db).await?)
}
