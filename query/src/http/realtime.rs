//! `GET /api/v1/stats/realtime/visitors?site_id=`: the visitors of the last
//! five minutes as a bare number, as in Plausible's v1 API.

use crate::auth::caller::caller;
use crate::auth::client_net::ClientNet;
use crate::auth::sites::readable_site;
use crate::error::ApiError;
use crate::sql::lookups;
use crate::state::AppState;
use axum::extract::{Query as UrlQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// How far back "realtime" looks, as in Plausible.
const REALTIME_SECS: i64 = 300;

#[derive(serde::Deserialize)]
pub struct RealtimeParams {
    site_id: Option<String>,
}

/// `GET /api/v1/stats/realtime/visitors?site_id=`: a bare number.
pub async fn realtime_visitors(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    params: Result<UrlQuery<RealtimeParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let editor = caller(&state, net, &method, &headers)?;
    let domain = params
        .ok()
        .and_then(|UrlQuery(p)| p.site_id)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::BadQuery("`site_id` is required".into()))?;
    readable_site(&state.config, editor, &domain)?;
    let _slot = state.admission.admit(editor)?;
    let since = (state.now)().timestamp() - REALTIME_SECS;
    let visitors = lookups::visitors_since(&state.db, &domain, since, state.limits).await?;
    Ok(Json(visitors).into_response())
}
