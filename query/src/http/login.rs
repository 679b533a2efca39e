//! The dashboard's own small API: sign in with an editor token (which sets
//! the session cookie), sign out, and the sites the signed-in editor may read.

use crate::api::dates::site_zone;
use crate::auth::caller::{caller, same_origin};
use crate::auth::client_net::ClientNet;
use crate::auth::session;
use crate::auth::throttle::Throttle;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// Sign-in attempts a minute per client network (see [`Throttle`]).
const LOGINS_PER_MINUTE: u32 = 20;
/// Refused bearer tokens a minute per client network.
const TOKEN_FAILURES_PER_MINUTE: u32 = 30;

pub fn login_throttle() -> Throttle {
    Throttle::per_minute(LOGINS_PER_MINUTE)
}

pub fn token_failure_throttle() -> Throttle {
    Throttle::per_minute(TOKEN_FAILURES_PER_MINUTE)
}

#[derive(serde::Deserialize)]
struct LoginBody {
    token: String,
}

/// `POST /api/dashboard/login` with `{"token": "..."}`.
pub async fn login(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Also here: another site must not sign a browser in as someone else.
    same_origin(&headers)?;
    state
        .login_throttle
        .take(net, (state.now)().timestamp())
        .map_err(ApiError::TooManyLogins)?;
    let body: LoginBody = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadQuery("send a JSON body such as {\"token\": \"...\"}".into()))?;
    let editor = schema::auth::find_editor(&state.config.editor, body.token.trim())
        .ok_or(ApiError::LoginRefused)?;
    let value = state.sessions.issue(editor, (state.now)());
    let cookie = state.sessions.set_cookie(&value);
    tracing::info!(editor = %editor.name, "dashboard sign-in");
    Ok(with_cookie(json!({"editor": editor.name}), &cookie))
}

/// `POST /api/dashboard/logout`: ends the editor's sessions if the cookie
/// is one (every copy of it, on every device; see
/// [`crate::auth::session`]), and clears the cookie, signed in or not.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let now = (state.now)();
    if let Some(value) = session::from_headers(&headers) {
        if let Some(editor) = state.sessions.verify(&state.config.editor, value, now) {
            state.sessions.sign_out(editor, now);
            tracing::info!(editor = %editor.name, "dashboard sign-out");
        }
    }
    Ok(with_cookie(json!({}), &state.sessions.clear_cookie()))
}

/// `GET /api/dashboard/sites`: the caller's name and the sites they may read,
/// in config order, with each site's time zone and its local `today`, and
/// the service's clock (`now`): the page works out "yesterday" or "year to
/// date" from these, so its days are the API's even when the browser's
/// clock or zone differ.
pub async fn sites(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let editor = caller(&state, net, &method, &headers)?;
    let now = (state.now)();
    let sites: Vec<_> = state
        .config
        .site
        .iter()
        .filter(|s| editor.may_read(&s.domain))
        .map(|s| {
            let today = now.with_timezone(&site_zone(s)).date_naive();
            json!({"domain": s.domain, "timezone": s.timezone, "today": today.to_string()})
        })
        .collect();
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = json!({"editor": editor.name, "sites": sites, "now": now});
    // `no-store`, like every answer: see `routes::api_headers`.
    Ok(Json(body).into_response())
}

fn with_cookie(body: serde_json::Value, cookie: &str) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
