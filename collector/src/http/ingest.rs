//! `POST /api/event` over HTTP: content type, a bounded body, parsing, then
//! the [`crate::pipeline`] decides, and the rows are queued.

use crate::beacon::{self, Beacon};
use crate::clock::day_of;
use crate::error::ApiError;
use crate::http::cors;
use crate::pipeline::outcome::{DropReason, DROPPED_HEADER};
use crate::pipeline::Request;
use crate::privacy::{client_address, ClientAddress};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where beacons are posted.
pub const PATH: &str = "/api/event";

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const CONTENT_TYPES: &[&str] = &["application/json", "text/plain"];

/// The router's beacon route ([`crate::http::routes::app`], which tests
/// drive without a socket); a listener answers beacons through
/// [`crate::http::connection`], with the same [`beacon`].
pub async fn event(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    // The whole request rather than a `HeaderMap` extractor, which would
    // clone every header.
    request: axum::extract::Request,
) -> Response {
    beacon(&state, peer, request).await
}

/// Answers one beacon. Every answer, refusals and errors included, carries
/// the CORS headers.
pub async fn beacon<B>(state: &AppState, peer: SocketAddr, request: http::Request<B>) -> Response
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut response = match handle(state, peer, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    cors::allow(response.headers_mut());
    response
}

async fn handle<B>(
    state: &AppState,
    peer: SocketAddr,
    request: http::Request<B>,
) -> Result<Response, ApiError>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    check_content_type(headers, CONTENT_TYPES, "application/json or text/plain")?;
    let deadline = Duration::from_millis(state.config.collector.body_read_timeout_ms);
    let bytes = tokio::time::timeout(deadline, read_body(body, headers))
        .await
        .map_err(|_| ApiError::BodyTimeout(deadline))??;
    let user_agent = user_agent(headers);
    let beacon = parse(&bytes, user_agent.is_some())?;
    let user_agent = user_agent.unwrap_or_default();
    state.metrics.fields_ignored(beacon.ignored);

    let c = &state.config.collector;
    let client =
        ClientAddress::of_request(peer.ip(), headers, &c.trusted_proxies, c.forwarded_header);
    if client_address::forwarding_ignored(
        peer.ip(),
        headers,
        &c.trusted_proxies,
        c.forwarded_header,
    ) {
        state.metrics.forwarded_ignored.inc();
    }
    let now = state.clock.now();
    let kind = beacon.kind.clone();
    let request = Request {
        beacon,
        headers,
        client,
        user_agent: &user_agent,
        now,
    };
    let accepted = match state.pipeline.check(&request) {
        Ok(accepted) => accepted,
        Err(reason) => return Ok(dropped(state, reason)),
    };
    let hasher = state.salts.hasher(day_of(now)).await?;
    let rows = match state.pipeline.rows(request, accepted, &hasher) {
        Ok(rows) => rows,
        Err(reason) => return Ok(dropped(state, reason)),
    };
    let page_views = state.pipeline.page_views();
    let (rows, pending) = match page_views.check(&kind, rows, now) {
        Ok(checked) => checked,
        Err(reason) => return Ok(dropped(state, reason)),
    };
    let count = rows.len() as u64;
    let queued = match &state.spool {
        // 202 only once the rows are fsynced.
        Some(spool) => spool.append(rows).await.map_err(|_| ApiError::Overloaded),
        None => state
            .queue
            .try_push_all(rows)
            .map_err(|_| ApiError::Overloaded),
    };
    if let Err(error) = queued {
        page_views.not_stored(pending);
        return Err(error);
    }
    page_views.stored(pending, now);
    state.metrics.accepted.inc_by(count);
    Ok(ok())
}

/// Only the `allowed` media types (for beacons: JSON, and text/plain, which
/// `sendBeacon` sends; both are parsed as JSON). A missing content type is
/// accepted too, as Plausible does.
pub(crate) fn check_content_type(
    headers: &HeaderMap,
    allowed: &[&str],
    expected: &'static str,
) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = lossy(value.as_bytes());
    let mime = text.split(';').next().unwrap_or("").trim();
    // Compared without lowering a copy: this runs on every beacon.
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(mime)) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            got: mime.to_ascii_lowercase(),
            expected,
        })
    }
}

/// The body length the client declared, if it did.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Refuses a declared length over the limit before reading, then reads with
/// a cap in case the declaration lied or was absent (chunked bodies).
async fn read_body<B>(body: B, headers: &HeaderMap) -> Result<Bytes, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large = ApiError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    if declared_length(headers).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large);
    }
    match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large),
        Err(_) => Err(ApiError::field("request", "the body could not be read")),
    }
}

/// A non-empty `User-Agent`, trimmed and lossily decoded (browsers may send
/// non-ASCII); borrowed from the header in the usual all-ASCII case.
fn user_agent(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let value = headers.get(header::USER_AGENT)?;
    let text = match lossy(value.as_bytes()) {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
    };
    (!text.is_empty()).then_some(text)
}

/// A header's text, lossily decoded. Checked with `str::from_utf8` first:
/// it validates ASCII a word at a time, where `from_utf8_lossy` walks
/// every byte (2% of a beacon's instructions under callgrind).
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Body errors and a missing user agent are reported together.
fn parse(bytes: &[u8], has_user_agent: bool) -> Result<Beacon, ApiError> {
    let result = beacon::parse(bytes);
    if has_user_agent {
        return result.map_err(ApiError::BadInput);
    }
    let mut errors = result.err().unwrap_or_default();
    errors.add("user_agent", "a User-Agent header is required");
    Err(ApiError::BadInput(errors))
}

/// `202 ok`, built directly: what `(StatusCode::ACCEPTED, "ok").into_response()`
/// answers, without its intermediate steps, on every beacon.
fn ok() -> Response {
    let mut response = Response::new(Body::from("ok"));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, TEXT_PLAIN.clone());
    response
}

static TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

fn dropped(state: &AppState, reason: DropReason) -> Response {
    state.metrics.dropped(reason);
    let mut response = ok();
    response
        .headers_mut()
        .insert(DROPPED_HEADER, HeaderValue::from_static(reason.as_str()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_borrowed_when_valid_and_replaced_where_not() {
        assert!(matches!(
            lossy(b"Mozilla/5.0"),
            Cow::Borrowed("Mozilla/5.0")
        ));
        assert!(matches!(
            lossy("Zürich".as_bytes()),
            Cow::Borrowed("Zürich")
        ));
        assert_eq!(lossy(b"Mozilla/\xff5.0"), "Mozilla/\u{FFFD}5.0");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::USER_AGENT,
            http::HeaderValue::from_bytes(b"  Agent \xe9 ").unwrap(),
        );
        assert_eq!(user_agent(&headers).as_deref(), Some("Agent \u{FFFD}"));
    }
}
