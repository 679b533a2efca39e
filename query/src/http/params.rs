//! The site a GET endpoint is asked about in `?site_id=` (realtime, the
//! dashboard's first run), checked one way for all of them: who is asking
//! first (`401`), then the parameter, present and not empty (`400`), then
//! whether the caller may read that site ([`readable_site`]: `403`).

use crate::auth::caller::caller;
use crate::auth::client_net::ClientNet;
use crate::auth::sites::readable_site;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::Query;
use axum::http::{HeaderMap, Method, Uri};
use schema::config::{EditorConfig, SiteConfig};

#[derive(serde::Deserialize)]
struct SiteParams {
    site_id: Option<String>,
}

/// The caller and the configured site the request names, if the caller
/// may read it.
pub fn requested_site<'a>(
    state: &'a AppState,
    net: ClientNet,
    method: &Method,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(&'a EditorConfig, &'a SiteConfig), ApiError> {
    let editor = caller(state, net, method, headers)?;
    let domain = Query::<SiteParams>::try_from_uri(uri)
        .ok()
        .and_then(|Query(p)| p.site_id)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::BadQuery("`site_id` is required".into()))?;
    Ok((editor, readable_site(&state.config, editor, &domain)?))
}
