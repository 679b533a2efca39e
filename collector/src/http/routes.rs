//! The collector's HTTP surface as one function, so handlers and status
//! mapping can be exercised without a socket.

use super::{cors, health, import, ingest, optout, tracker};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tower::util::MapResponseLayer;

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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_text))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // A plain response map (no boxed middleware future per request).
        .layer(MapResponseLayer::new(move |response: Response| {
            count_refusals(&metrics, &response);
            response
        }))
        .with_state(state)
}

/// Counts every error status by code, whichever layer produced it.
fn count_refusals(metrics: &Metrics, response: &Response) {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        metrics.rejected(status.as_u16());
    }
}
