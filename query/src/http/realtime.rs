//! `GET /api/v1/stats/realtime/visitors?site_id=`: the visitors of the last
//! five minutes as a bare number, as in Plausible's v1 API; under a site's
//! k-anonymity threshold, fewer than K as the string `"<K"`.

use super::params;
use crate::api::threshold::MinVisitors;
use crate::auth::client_net::ClientNet;
use crate::error::ApiError;
use crate::sql::lookups;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// How far back "realtime" looks, as in Plausible.
pub const REALTIME_SECS: i64 = 300;

/// `GET /api/v1/stats/realtime/visitors?site_id=`: a bare number.
pub async fn realtime_visitors(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (editor, site) = params::requested_site(&state, net, &method, &headers, &uri)?;
    let _slot = state.admission.admit(editor)?;
    let since = (state.now)().timestamp() - REALTIME_SECS;
    let visitors = lookups::visitors_since(&state.db, &site.domain, since, state.limits).await?;
    Ok(match MinVisitors::of(site) {
        Some(k) => Json(k.realtime(visitors)).into_response(),
        None => Json(visitors).into_response(),
    })
}
