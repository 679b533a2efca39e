//! Probes and metrics for operators: liveness (`/healthz`), readiness
//! (`/readyz`: ClickHouse answers, and the spool is not falling behind) and
//! the Prometheus text (`/metrics`).

use crate::delivery::spool::Spool;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// More spooled bytes than this means ClickHouse is not keeping up.
const SPOOL_BACKLOG: u64 = 16 * 1024 * 1024;

/// A readiness probe that waits longer than this is a failed probe.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when ClickHouse answers quickly.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match schema::client::within(READY_TIMEOUT, state.db.ping()).await {
        Ok(()) => match state
            .spool
            .as_ref()
            .map(Spool::used)
            .filter(|&b| b > SPOOL_BACKLOG)
        {
            // Still accepting, but ClickHouse is behind: say so.
            Some(bytes) => format!("degraded: {bytes} bytes waiting in the spool").into_response(),
            None => "ready".into_response(),
        },
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "clickhouse unreachable").into_response()
        }
    }
}

pub async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    state.metrics.queue_depth.set(state.queue.depth() as i64);
    state.metrics.queue_bytes.set(state.queue.bytes() as i64);
    let spooled = state.spool.as_ref().map_or(0, Spool::used);
    state
        .metrics
        .spool_bytes
        .set(i64::try_from(spooled).unwrap_or(i64::MAX));
    let oldest = state.spool.as_ref().and_then(Spool::oldest_age);
    let oldest = oldest.map_or(0, |age| i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
    state.metrics.spool_oldest_seconds.set(oldest);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
