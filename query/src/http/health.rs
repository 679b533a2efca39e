//! Health checks for load balancers and orchestrators: `/healthz` says the
//! process answers, `/readyz` that ClickHouse does too.

use crate::error::STORAGE_RETRY_SECS;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: ClickHouse answers a ping.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, STORAGE_RETRY_SECS.to_string())],
            "clickhouse unreachable",
        )
            .into_response(),
    }
}
