//! The collector's HTTP surface as one function, so handlers and status
//! mapping can be exercised without a socket.

use crate::batcher::EventQueue;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::salt::SaltStore;
use crate::spool::Spool;
use crate::tracker::TrackerScript;
use crate::{cors, import, ingest, optout, tracker};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, StatusCode};
use schema::{Config, Db};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::util::MapResponseLayer;

/// What every handler shares.
pub struct AppState {
    pub config: Arc<Config>,
    pub pipeline: Pipeline,
    pub db: Db,
    pub salts: Arc<SaltStore>,
    pub queue: EventQueue,
    /// Present with `durability = "spool"`: accepted rows go here instead.
    pub spool: Option<Spool>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the collector starts stopping, so long requests (an
    /// import) can end in time to answer.
    pub stopping: CancellationToken,
    /// How long an import waits for room in the queue or spool before 503.
    pub import_wait: Duration,
    /// `GET /js/script.js`, prepared at start-up.
    pub tracker: TrackerScript,
}

/// More spooled bytes than this means ClickHouse is not keeping up.
const SPOOL_BACKLOG: u64 = 16 * 1024 * 1024;

/// A readiness probe that waits longer than this is a failed probe.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn app(state: Arc<AppState>) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        // CORS headers come from the handlers (see `cors`).
        .route("/api/event", post(ingest::event).options(cors::preflight))
        // No CORS: an admin's tool, not a page, posts imports.
        .route("/api/import", post(import::import))
        .route("/js/script.js", get(tracker::serve))
        .route("/optout", get(optout::page).post(optout::opt_out))
        .route("/optin", post(optout::opt_in))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // A plain response map (no boxed middleware future per request).
        .layer(MapResponseLayer::new(move |response: Response| {
            count_refusals(&metrics, &response);
            response
        }))
        .with_state(state)
}

/// Ready when ClickHouse answers quickly.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
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

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
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

/// Counts every error status by code, whichever layer produced it.
fn count_refusals(metrics: &Metrics, response: &Response) {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        metrics.rejected(status.as_u16());
    }
}
