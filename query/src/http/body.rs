//! Every request's body read whole before a handler sees it: under a size
//! cap (checked against the declared `Content-Length` first, then while
//! reading) and a deadline (`[query] body_read_timeout_ms`), so a client
//! cannot hold a handler, or memory, by sending slowly or sending much.
//! Headers have their own bounds in the listener ([`schema::listener`]).

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::sync::Arc;
use std::time::Duration;

/// The largest request body: a Stats API query with every filter value at
/// its longest is well under it.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Middleware: replaces the body with its bytes, read within the bounds.
pub async fn bounded(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let deadline = Duration::from_millis(state.config.query.body_read_timeout_ms);
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return ApiError::BodyTooLarge(MAX_BODY_BYTES).into_response();
    }
    let bytes = match tokio::time::timeout(deadline, Limited::new(body, MAX_BODY_BYTES).collect())
        .await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::BodyTooLarge(MAX_BODY_BYTES).into_response()
        }
        Ok(Err(_)) => {
            return ApiError::BadQuery("the request body could not be read".into()).into_response()
        }
        Err(_) => return ApiError::BodyTimeout(deadline).into_response(),
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
