//! The route table: every path the query service answers, which handler
//! answers it, and CORS for the origins the config lists (only the Stats
//! API gets it; the dashboard's own API is same-origin only).

use super::{body, dashboard, health, login, realtime, stats};
use crate::state::AppState;
use axum::http::{header, HeaderValue, Method};
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
        .merge(dashboard::routes())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::bounded,
        ))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
}
