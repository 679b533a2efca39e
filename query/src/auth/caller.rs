//! Who is asking: an editor by bearer token (API clients) or by dashboard
//! session cookie (the browser), with the cross-site request checks that
//! cookie authentication needs. Refused tokens count against the client
//! network's budget ([`super::throttle`]); past it, no token from there is
//! tried until the window ends.

use super::client_net::ClientNet;
use super::session;
use crate::error::ApiError;
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderName, Method};
use schema::config::EditorConfig;

/// The header the dashboard's scripts send. A cross-site page cannot add a
/// custom header without a CORS preflight, which this service never grants
/// for it, so its presence shows the request came from our own scripts.
pub static CSRF_HEADER: HeaderName = HeaderName::from_static("x-requested-with");
static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The editor behind a request: its bearer token if it sends one, else its
/// session cookie. Cookie-authenticated requests that change or read data
/// by POST must also pass [`same_origin`].
pub fn caller<'a>(
    state: &'a AppState,
    net: ClientNet,
    method: &Method,
    headers: &HeaderMap,
) -> Result<&'a EditorConfig, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let now = (state.now)().timestamp();
        let failures = &state.token_failures;
        failures
            .allows(net, now)
            .map_err(ApiError::TooManyTokenFailures)?;
        let editor = value
            .to_str()
            .ok()
            .and_then(schema::auth::bearer)
            .and_then(|token| schema::auth::find_editor(&state.config.editor, token));
        return editor.ok_or_else(|| match failures.take(net, now) {
            Ok(()) => ApiError::Unauthorized,
            Err(retry) => ApiError::TooManyTokenFailures(retry),
        });
    }
    let cookie = session::from_headers(headers).ok_or(ApiError::Unauthorized)?;
    let editor = state
        .sessions
        .verify(&state.config.editor, cookie, (state.now)())
        .ok_or(ApiError::Unauthorized)?;
    if method != Method::GET && method != Method::HEAD {
        same_origin(headers)?;
    }
    Ok(editor)
}

/// Refuses a browser request that another site could have made: it must
/// carry [`CSRF_HEADER`], and a browser's `Sec-Fetch-Site` (when sent) must
/// say same-origin.
pub fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let custom = headers
        .get(&CSRF_HEADER)
        .is_some_and(|v| !v.as_bytes().is_empty());
    let fetch_site_ok = headers
        .get(&SEC_FETCH_SITE)
        .is_none_or(|v| v == "same-origin");
    if custom && fetch_site_ok {
        Ok(())
    } else {
        Err(ApiError::CrossSite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_origin_needs_the_custom_header_and_no_cross_site_fetch() {
        assert!(same_origin(&headers(&[("x-requested-with", "dashboard")])).is_ok());
        assert!(same_origin(&headers(&[
            ("x-requested-with", "dashboard"),
            ("sec-fetch-site", "same-origin")
        ]))
        .is_ok());
        assert!(same_origin(&headers(&[])).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_err());
        assert!(same_origin(&headers(&[
            ("x-requested-with", "dashboard"),
            ("sec-fetch-site", "cross-site")
        ]))
        .is_err());
        assert!(same_origin(&headers(&[
            ("x-requested-with", "dashboard"),
            ("sec-fetch-site", "same-site")
        ]))
        .is_err());
    }
}
