//! CORS for `POST /api/event`, as fixed headers: any origin may post a
//! beacon (pages on the site's own origin or a sibling subdomain do), and
//! may read `X-Analytics-Dropped`. JSON bodies trigger a preflight,
//! `text/plain` ones (what `sendBeacon` sends) do not.
//!
//! The headers are what `tower_http`'s `CorsLayer` with any origin sends,
//! written straight into the response: the layer costs a header map built
//! and merged per request, on the collector's hottest path.

use axum::response::{IntoResponse, Response};
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

static ANY: HeaderValue = HeaderValue::from_static("*");
static EXPOSE: HeaderValue = HeaderValue::from_static(crate::pipeline::outcome::DROPPED_HEADER);
static VARY_ON: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);
static METHODS: HeaderValue = HeaderValue::from_static("POST");
static HEADERS: HeaderValue = HeaderValue::from_static("content-type");
/// A day: browsers cap it lower anyway.
static MAX_AGE: HeaderValue = HeaderValue::from_static("86400");

/// Adds the headers of an answer to a cross-origin beacon.
pub fn allow(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY.clone());
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE.clone());
    headers.append(VARY, VARY_ON.clone());
}

/// `OPTIONS /api/event`: the preflight of a JSON beacon.
pub async fn preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY.clone());
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS.clone());
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HEADERS.clone());
    headers.insert(ACCESS_CONTROL_MAX_AGE, MAX_AGE.clone());
    headers.append(VARY, VARY_ON.clone());
    response
}
