//! `POST /api/event`: from an HTTP request to queued rows.
//!
//! Order matters for privacy: the body is bounded and parsed, consent is
//! checked, and only then is the client address resolved, truncated and
//! hashed with the user agent. Neither the address nor the user agent goes
//! further than the visitor id computation.

use crate::beacon::{self, Beacon};
use crate::client_ip;
use crate::clock::day_of;
use crate::consent;
use crate::error::ApiError;
use crate::outcome::{DropReason, DROPPED_HEADER};
use crate::routes::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use schema::config::SiteConfig;
use schema::EventRow;
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub async fn event(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_content_type(&headers)?;
    let bytes = read_body(body, &headers).await?;
    let user_agent = user_agent(&headers);
    let beacon = parse(&bytes, user_agent.is_some())?;
    let user_agent = user_agent.unwrap_or_default();

    if consent::opted_out(&headers, &state.config.collector.optout_cookie) {
        return Ok(dropped(&state, DropReason::OptOut));
    }
    let sites = match recorded_sites(&state, &beacon, &headers) {
        Ok(sites) => sites,
        Err(reason) => return Ok(dropped(&state, reason)),
    };

    let c = &state.config.collector;
    let peer_ip = client_ip::resolve(peer.ip(), &headers, &c.trusted_proxies, c.forwarded_header);
    let truncated = client_ip::truncate(peer_ip);
    let now = state.clock.now();
    let mut rows = Vec::with_capacity(sites.len());
    for site in sites {
        let visitor_id = state
            .salts
            .visitor_id(day_of(now), &site.domain, truncated, &user_agent)
            .await?;
        rows.push(event_row(&beacon, &site.domain, visitor_id, now));
    }
    let count = rows.len() as u64;
    state
        .queue
        .try_push_all(rows)
        .map_err(|_| ApiError::Overloaded)?;
    state.metrics.accepted.inc_by(count);
    Ok((StatusCode::ACCEPTED, "ok").into_response())
}

/// JSON and text/plain (what `sendBeacon` sends) are both parsed as JSON. A
/// missing content type is accepted too, as Plausible does.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let mime = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "text/plain" => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType(mime)),
    }
}

/// Refuses a declared length over the limit before reading, then reads with
/// a cap in case the declaration lied or was absent (chunked bodies).
async fn read_body(body: Body, headers: &HeaderMap) -> Result<bytes::Bytes, ApiError> {
    let too_large = ApiError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
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

/// A non-empty `User-Agent`, lossily decoded (browsers may send non-ASCII).
fn user_agent(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::USER_AGENT)?;
    let text = String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
    (!text.is_empty()).then_some(text)
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

/// The configured sites among the beacon's domains that accept this visitor.
/// When none does, the reason for the first refusal.
fn recorded_sites(
    state: &AppState,
    beacon: &Beacon,
    headers: &HeaderMap,
) -> Result<Vec<SiteConfig>, DropReason> {
    let mut first_refusal = None;
    let mut sites = Vec::new();
    for domain in &beacon.domains {
        let refusal = match state.config.site(domain) {
            None => Some(DropReason::UnknownSite),
            Some(site) => consent::site_refuses(site, headers).or_else(|| {
                sites.push(site.clone());
                None
            }),
        };
        first_refusal = first_refusal.or(refusal);
    }
    if sites.is_empty() {
        Err(first_refusal.unwrap_or(DropReason::UnknownSite))
    } else {
        Ok(sites)
    }
}

fn dropped(state: &AppState, reason: DropReason) -> Response {
    state.metrics.dropped(reason);
    (
        StatusCode::ACCEPTED,
        [(DROPPED_HEADER, reason.as_str())],
        "ok",
    )
        .into_response()
}

/// The stored row: page path without query, `utm_*` in their own columns,
/// the referrer as host and path (empty for a self-referral).
pub fn event_row(beacon: &Beacon, site: &str, visitor_id: u64, now: u64) -> EventRow {
    let page = &beacon.page;
    let referrer = beacon
        .referrer
        .as_ref()
        .filter(|r| r.host != page.hostname)
        .map(|r| format!("{}{}", r.host, r.path.trim_end_matches('/')))
        .unwrap_or_default();
    let (props_keys, props_values) = beacon.props.iter().cloned().unzip();
    let revenue = beacon.revenue.as_ref();
    EventRow {
        timestamp: u32::try_from(now).unwrap_or(u32::MAX),
        site: site.to_owned(),
        name: beacon.name.clone(),
        hostname: page.hostname.clone(),
        pathname: page.pathname.clone(),
        visitor_id,
        referrer,
        utm_source: page.utm.source.clone(),
        utm_medium: page.utm.medium.clone(),
        utm_campaign: page.utm.campaign.clone(),
        utm_content: page.utm.content.clone(),
        utm_term: page.utm.term.clone(),
        props_keys,
        props_values,
        interactive: u8::from(beacon.interactive),
        screen_width: beacon.screen_width.unwrap_or(0),
        scroll_depth: beacon.scroll_depth.unwrap_or(0),
        engagement_ms: beacon.engagement_ms.unwrap_or(0),
        revenue_amount: revenue.map(|r| r.amount.clone()).unwrap_or_default(),
        revenue_currency: revenue.map(|r| r.currency.clone()).unwrap_or_default(),
    }
}
