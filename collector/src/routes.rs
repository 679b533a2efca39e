//! The collector's HTTP surface as one function, so handlers and status
//! mapping can be exercised without a socket.

use crate::batcher::EventQueue;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::outcome::DROPPED_HEADER;
use crate::pipeline::Pipeline;
use crate::salt::SaltStore;
use crate::spool::Spool;
use crate::{import, ingest, optout};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderName, Method, StatusCode};
use schema::{Config, Db};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{Any, CorsLayer};

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
}

/// More spooled bytes than this means ClickHouse is not keeping up.
const SPOOL_BACKLOG: u64 = 16 * 1024 * 1024;

/// A readiness probe that waits longer than this is a failed probe.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn app(state: Arc<AppState>) -> Router {
    // Pages on the site's own origin or a sibling subdomain post beacons;
    // JSON bodies trigger a preflight, text/plain ones do not.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static(DROPPED_HEADER)])
        .max_age(Duration::from_secs(24 * 3600));
    let api = Router::new()
        .route("/api/event", post(ingest::event))
        .layer(cors);
    Router::new()
        .merge(api)
        // No CORS: an admin's tool, not a page, posts imports.
        .route("/api/import", post(import::import))
        .route("/optout", get(optout::page).post(optout::opt_out))
        .route("/optin", post(optout::opt_in))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_refusals,
        ))
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

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
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
async fn count_refusals(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        state.metrics.rejected(status.as_u16());
    }
    response
}
