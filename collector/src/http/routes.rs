//! The collector's HTTP surface as one function, so handlers and status
//! mapping can be exercised without a socket.
//!
//! With `[collector] admin_listen` set, the operator's endpoints (`/metrics`,
//! `/readyz`) move to a listener of their own, and the public port answers
//! `404` for them: the public port is the one the world reaches, and what the
//! metrics say (traffic, drops, queue depth) is for the operator. `/healthz`
//! says nothing but "alive", and stays on both.

use super::{cors, gpc, health, import, ingest, optout, statement, tracker};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tower::util::MapResponseLayer;

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Every route: the one listener when there is no admin listener.
    All,
    /// Everything but `/metrics` and `/readyz`.
    Public,
    /// `/healthz`, `/readyz` and `/metrics` only.
    Admin,
}

/// Every route, on one listener.
pub fn app(state: Arc<AppState>) -> Router {
    router(state, Surface::All)
}

pub fn router(state: Arc<AppState>, surface: Surface) -> Router {
    let metrics = state.metrics.clone();
    let mut router = Router::new().route("/healthz", get(health::healthz));
    if surface != Surface::Admin {
        router = router
            // CORS headers come from the handlers (see `cors`).
            .route(ingest::PATH, post(ingest::event).options(cors::preflight))
            // No CORS: an admin's tool, not a page, posts imports.
            .route("/api/import", post(import::import))
            .route("/js/script.js", get(tracker::serve))
            .route("/optout", get(optout::page).post(optout::opt_out))
            .route("/optin", post(optout::opt_in))
            .route("/privacy", get(statement::statement))
            .route("/.well-known/gpc.json", get(gpc::well_known));
    }
    if surface != Surface::Public {
        router = router
            .route("/readyz", get(health::readyz))
            .route("/metrics", get(health::metrics_text));
    }
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // A plain response map (no boxed middleware future per request).
        .layer(MapResponseLayer::new(move |response: Response| {
            count_refusals(&metrics, &response);
            response
        }))
        .with_state(state)
}

/// Counts every error status by code, whichever layer produced it (and
/// the beacon path of [`super::connection`], which bypasses the layers).
pub(crate) fn count_refusals(metrics: &Metrics, response: &Response) {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        metrics.rejected(status.as_u16());
    }
}
