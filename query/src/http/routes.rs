//! The route table: every path the query service answers, which handler
//! answers it, and CORS for the origins the config lists (only the Stats
//! API gets it; the dashboard's own API is same-origin only). Around all
//! of it: bodies read within bounds ([`body`]), and the headers every
//! answer carries ([`api_headers`]).

use super::{
    body, dashboard, goals, health, login, prop_keys, realtime, realtime_view, setup, stats,
};
use crate::state::AppState;
use axum::http::{header, HeaderValue, Method};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub fn app(state: Arc<AppState>) -> Router {
    let cors = cors(&state.config.query.cors_origins);
    Router::new()
        .route("/api/v2/query", post(stats::stats_query))
        .route(
            "/api/v1/stats/realtime/visitors",
            get(realtime::realtime_visitors),
        )
        .layer(cors)
        // Same-origin only: no CORS layer, so no other site may call these.
        .route("/api/dashboard/login", post(login::login))
        .route("/api/dashboard/logout", post(login::logout))
        .route("/api/dashboard/sites", get(login::sites))
        .route("/api/dashboard/setup", get(setup::setup))
        .route("/api/dashboard/realtime", get(realtime_view::realtime_view))
        .route("/api/dashboard/goals", get(goals::goals))
        .route("/api/dashboard/prop-keys", get(prop_keys::prop_keys))
        .merge(dashboard::routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::bounded,
        ))
        .layer(axum::middleware::map_response(api_headers))
        .with_state(state)
}

/// Every answer is `nosniff`, so a browser never takes a JSON or CSV answer
/// for a page or a script, and, unless it says otherwise (the dashboard's
/// files are revalidated instead), `no-store`: reports and errors are for
/// their caller only and change with every event.
async fn api_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
}
