//! The first-party opt-out page: what is collected, whether this browser is
//! opted out, and buttons to change it. The cookie is readable by the
//! tracker script (not HttpOnly) so it can stay silent too; the collector
//! enforces it either way.
//!
//! The page holds a button that changes a visitor's choice, so it must not
//! be framed (another site could overlay it and trick a click): it says so
//! twice, with `X-Frame-Options` for old browsers and CSP `frame-ancestors`.
//! Its policy allows nothing but its one inline stylesheet, by hash, and
//! its forms posting to this origin; it has no script.

use crate::error::ApiError;
use crate::pipeline::consent;
use crate::privacy::client_address;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::response::{Html, IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;

/// About ten years.
const COOKIE_MAX_AGE_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// What the page may load and who may frame it: see the module doc. The
/// hash is sha256 of [`STYLE`], in base64; a test recomputes it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
    style-src 'sha256-5nXoXGH29D15aUQmr46rOHiArhkn+ayRX04Qd3gemTw='; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let opted_out = consent::opted_out(&headers, &state.config.collector.optout_cookie);
    let sites = &state.config.site;
    let signals_everywhere = sites.iter().all(|s| s.respect_dnt && s.respect_gpc);
    let html = render(
        opted_out,
        signals_everywhere,
        &statement_links(&state.config),
    );
    let headers = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ];
    (headers, Html(html)).into_response()
}

pub async fn opt_out(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    refuse_cross_site(&headers)?;
    let cookie = cookie(&state, peer, &headers, "1", COOKIE_MAX_AGE_SECONDS);
    Ok(back_to_page(cookie))
}

pub async fn opt_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    refuse_cross_site(&headers)?;
    let cookie = cookie(&state, peer, &headers, "", 0);
    Ok(back_to_page(cookie))
}

/// Another site must not flip a visitor's choice by posting a form here.
/// Browsers say where a request comes from in `Sec-Fetch-Site`; the site's
/// own pages (same origin, or a sibling subdomain) and direct visits pass.
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return Err(ApiError::Forbidden(
            "opt-out changes must come from this site's own pages",
        ));
    }
    Ok(())
}

/// 303 to the page, relative so it works under any path prefix.
fn back_to_page(cookie: String) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static("optout"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, value);
    }
    response
}

fn cookie(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    value: &str,
    max_age: u64,
) -> String {
    let c = &state.config.collector;
    let mut cookie = format!(
        "{}={value}; Path=/; Max-Age={max_age}; SameSite=Lax",
        c.optout_cookie
    );
    if let Some(domain) = &c.optout_cookie_domain {
        cookie.push_str(&format!("; Domain={domain}"));
    }
    if is_https(state, peer, headers) {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The scheme the browser used: from a trusted proxy's headers, or the
/// configured public URL.
fn is_https(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    let c = &state.config.collector;
    if c.public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        return true;
    }
    if !client_address::is_trusted(peer.ip(), &c.trusted_proxies) {
        return false;
    }
    let header_says = |name: &str, needle: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
    };
    header_says("x-forwarded-proto", "https") || header_says("forwarded", "proto=https")
}

/// A link to each site's privacy statement (`/privacy`), when the config
/// publishes statements (`[privacy]`); else nothing.
fn statement_links(config: &schema::Config) -> String {
    if config.privacy.is_none() || config.site.is_empty() {
        return String::new();
    }
    // Domains passed config validation: lowercase letters, digits, `-`, `.`.
    let links: Vec<String> = config
        .site
        .iter()
        .map(|s| format!(r#"<a href="privacy?site={0}">{0}</a>"#, s.domain))
        .collect();
    format!(
        "<p>What is recorded, in full: the privacy statement of {}.</p>",
        links.join(", ")
    )
}

fn render(opted_out: bool, signals_everywhere: bool, statements: &str) -> String {
    let (status, button) = if opted_out {
        (
            "This browser is <strong>opted out</strong>: none of its visits are counted.",
            r#"<form method="post" action="optin"><button type="submit">Count my visits again</button></form>"#,
        )
    } else {
        (
            "Visits from this browser are counted anonymously.",
            r#"<form method="post" action="optout"><button type="submit">Opt out of analytics</button></form>"#,
        )
    };
    let signals = if signals_everywhere {
        "Do Not Track and Global Privacy Control signals are honoured: with either on, nothing is counted."
    } else {
        "Do Not Track and Global Privacy Control signals are honoured on the sites that choose to."
    };
    PAGE.replace("{style}", STYLE)
        .replace("{status}", status)
        .replace("{button}", button)
        .replace("{signals}", signals)
        .replace("{statements}", statements)
}

/// The page's only stylesheet, allowed by its hash in
/// [`CONTENT_SECURITY_POLICY`]: change one, change the other.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.5rem 1rem;cursor:pointer}.status{padding:1rem;background:#f4f4f4;border-radius:.5rem}";

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Analytics opt-out</title>
<style>{style}</style>
</head><body>
<h1>Privacy-friendly analytics</h1>
<p>This site counts page views with its own analytics service. No third party receives your visit.</p>
<ul>
<li>No cookies or local storage are used to track you.</li>
<li>Your IP address and your browser's user agent are never stored. Your address is shortened and combined with the user agent into an anonymous daily identifier; the key behind it is erased after two days, so visits cannot be linked across days or traced back to you.</li>
<li>What is stored: the page, the referring site, campaign tags, and the time.</li>
<li>{signals}</li>
</ul>
<p class="status">{status}</p>
{button}
{statements}
<p><small>Opting out sets a cookie that only says "do not count me". Clearing your cookies removes it.</small></p>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_shows_the_matching_status_and_action() {
        let out = render(true, true, "");
        assert!(out.contains("opted out"));
        assert!(out.contains(r#"action="optin""#));
        assert!(out.contains("with either on, nothing is counted"));
        let counted = render(false, false, "");
        assert!(counted.contains("counted anonymously"));
        assert!(counted.contains(r#"action="optout""#));
        assert!(counted.contains("on the sites that choose to"));
    }

    #[test]
    fn the_page_links_each_site_statement_when_one_is_published() {
        let mut config = schema::Config::default();
        config
            .site
            .push(schema::config::SiteConfig::new("a.example"));
        assert_eq!(statement_links(&config), "");
        config.privacy = Some(schema::config::PrivacyConfig {
            controller: "Acme".into(),
            contact: "privacy@acme.example".into(),
            hosting_location: None,
        });
        let links = statement_links(&config);
        assert!(
            links.contains(r#"<a href="privacy?site=a.example">a.example</a>"#),
            "{links}"
        );
        assert!(render(false, true, &links).contains(&links));
    }
}
