//! The query service's HTTP surface: the Stats API, realtime visitors,
//! the dashboard and its sign-in, health checks, and CORS for the origins
//! the config lists.

use crate::error::ApiError;
use crate::report::{self, Limits, Report};
use crate::request::{self, DateRange, Query};
use crate::response::{self, Answer};
use crate::session::Sessions;
use crate::{auth, dashboard, dates, login};
use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use schema::config::{EditorConfig, SiteConfig};
use schema::{Config, Db};
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How far back "realtime" looks, as in Plausible.
const REALTIME_SECS: i64 = 300;

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub limits: Limits,
    /// The current time; tests pin it.
    pub now: Box<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    pub sessions: Sessions,
    pub login_limit: governor::DefaultDirectRateLimiter,
}

pub fn app(state: Arc<AppState>) -> Router {
    let cors = cors(&state.config.query.cors_origins);
    Router::new()
        .route("/api/v2/query", post(stats_query))
        .route("/api/v1/stats/realtime/visitors", get(realtime_visitors))
        .layer(cors)
        // Same-origin only: no CORS layer, so no other site may call these.
        .route("/api/dashboard/login", post(login::login))
        .route("/api/dashboard/logout", post(login::logout))
        .route("/api/dashboard/sites", get(login::sites))
        .merge(dashboard::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
}

async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "clickhouse unreachable"),
    }
}

/// The site, if this editor may read it. Unknown sites are refused like
/// forbidden ones unless the editor may read every site, so a token cannot
/// probe which sites exist.
fn readable_site<'a>(
    state: &'a AppState,
    editor: &EditorConfig,
    domain: &str,
) -> Result<&'a SiteConfig, ApiError> {
    if !editor.may_read(domain) {
        return Err(ApiError::Forbidden(domain.into()));
    }
    state
        .config
        .site(domain)
        .ok_or_else(|| ApiError::BadQuery(format!("`site_id`: no site `{domain}` is configured")))
}

fn site_zone(site: &SiteConfig) -> Tz {
    site.timezone.parse().unwrap_or(Tz::UTC)
}

async fn stats_query(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let editor = auth::caller(&state, &method, &headers)?;
    let body: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadQuery(format!("the body is not valid JSON: {e}")))?;
    let query = request::parse(&body)?;
    let site = readable_site(&state, editor, &query.site_id)?;
    let tz = site_zone(site);
    let first_event = match query.date_range {
        DateRange::Named(ref n) if n == "all" => {
            first_event_day(&state, &query.site_id, tz).await?
        }
        _ => None,
    };
    let now = (state.now)();
    let span = dates::resolve(&query.date_range, tz, now, first_event);
    let coverage = coverage(&state).await?;
    let report = Report::new(&query, tz, span, now.timestamp()).with_coverage(coverage);
    let outcome = report.run(&state.db, state.limits).await?;
    let total_visitors = if response::needs_total(&query) {
        total_visitors(&state, &query, tz, span, now.timestamp(), coverage).await?
    } else {
        0
    };
    let time_labels = query.time_labels.then(|| {
        let grain = query
            .dimensions
            .iter()
            .find_map(|d| match d {
                request::Dimension::Time(g) => Some(*g),
                _ => None,
            })
            .unwrap_or(request::TimeGrain::Auto);
        dates::labels(&span, grain, tz)
    });
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
    span: dates::Span,
    now: i64,
    coverage: Option<report::Coverage>,
) -> Result<u64, ApiError> {
    let total = Query {
        metrics: vec![request::Metric::Visitors],
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
async fn coverage(state: &AppState) -> Result<Option<report::Coverage>, ApiError> {
    if !state.config.query.rollups {
        return Ok(None);
    }
    Ok(crate::rollup::coverage(&state.db).await?)
}

/// The local day of the site's first event, for `date_range: "all"`.
async fn first_event_day(
    state: &AppState,
    site: &str,
    tz: Tz,
) -> Result<Option<NaiveDate>, ApiError> {
    let sql = format!(
        "SELECT count() AS n, toString(toDate(min(timestamp), {})) AS first FROM events WHERE site = {}",
        crate::sql::lit(tz.name()),
        crate::sql::lit(site)
    );
    let json = report::fetch_json(&state.db, &sql, state.limits).await?;
    let row = json.pointer("/data/0").cloned().unwrap_or_default();
    if row.get(0).and_then(report::number).unwrap_or(0) == 0 {
        return Ok(None);
    }
    Ok(row
        .get(1)
        .and_then(|v| v.as_str())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()))
}

#[derive(serde::Deserialize)]
struct RealtimeParams {
    site_id: Option<String>,
}

/// `GET /api/v1/stats/realtime/visitors?site_id=`: a bare number.
async fn realtime_visitors(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    params: Result<UrlQuery<RealtimeParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let editor = auth::caller(&state, &method, &headers)?;
    let domain = params
        .ok()
        .and_then(|UrlQuery(p)| p.site_id)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::BadQuery("`site_id` is required".into()))?;
    readable_site(&state, editor, &domain)?;
    let since = (state.now)().timestamp() - REALTIME_SECS;
    let sql = format!(
        "SELECT {}(visitor_id) FROM events WHERE site = {} AND timestamp >= toDateTime({since})",
        crate::sql::visitors_fn(""),
        crate::sql::lit(&domain)
    );
    let json = report::fetch_json(&state.db, &sql, state.limits).await?;
    let visitors = json
        .pointer("/data/0/0")
        .and_then(report::number)
        .unwrap_or(0);
    Ok(Json(visitors).into_response())
}
