//! The `?site_id=` that the GET endpoints naming one site take (realtime,
//! the dashboard's first run), read one way for all of them: present and
//! not empty, else `400`. Handlers ask for it after they know the caller,
//! so an anonymous request gets `401` whatever its query string.

use crate::error::ApiError;
use axum::extract::Query;
use axum::http::Uri;

#[derive(serde::Deserialize)]
struct SiteParams {
    site_id: Option<String>,
}

/// The request's `site_id`.
pub fn site_id(uri: &Uri) -> Result<String, ApiError> {
    Query::<SiteParams>::try_from_uri(uri)
        .ok()
        .and_then(|Query(p)| p.site_id)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::BadQuery("`site_id` is required".into()))
}
