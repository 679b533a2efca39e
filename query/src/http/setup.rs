//! `GET /api/dashboard/setup?site_id=`: what the dashboard needs for a
//! site's first run. The tracker snippet to paste, with the collector's real
//! address, and whether the site has any event yet. The page asks again
//! every few seconds while it waits for the first pageview, so the answer
//! costs one small ClickHouse query ([`lookups::has_events`]).
//!
//! The snippet is written here, not in the page, because only the server
//! knows the config. The query service reads the same file as the
//! collector. The collector's address is `[collector] public_url` when set
//! (the name browsers reach it under, behind a proxy too), else
//! `http://` + `[collector] listen`. When that address is a loopback one
//! the snippet gets `data-local`, without which the tracker stays silent on
//! `localhost` pages (see docs/tracker.md).

use super::params;
use crate::auth::client_net::ClientNet;
use crate::error::ApiError;
use crate::sql::lookups;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schema::config::CollectorConfig;
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

/// `GET /api/dashboard/setup?site_id=`: `has_events` and the snippet, for
/// an editor who may read the site (cookie or bearer, refused as the Stats
/// API refuses).
pub async fn setup(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (_, site) = params::requested_site(&state, net, &method, &headers, &uri)?;
    let has_events = lookups::has_events(&state.db, &site.domain, state.limits).await?;
    let collector = CollectorUrl::from_config(&state.config.collector);
    let body = json!({
        "site_id": site.domain,
        "has_events": has_events,
        "script_url": collector.script_url(),
        "snippet": collector.snippet(&site.domain),
        "collector_url_from": collector.from.as_str(),
        "local": collector.local,
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Which config key the collector's address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlFrom {
    PublicUrl,
    Listen,
}

impl UrlFrom {
    fn as_str(self) -> &'static str {
        match self {
            Self::PublicUrl => "public_url",
            Self::Listen => "listen",
        }
    }
}

/// Where browsers reach the collector, as far as the config says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorUrl {
    /// Without a trailing slash: `https://example.com/stats`.
    base: String,
    from: UrlFrom,
    /// The address is a loopback one, so the pages are too (development).
    local: bool,
}

impl CollectorUrl {
    pub fn from_config(c: &CollectorConfig) -> Self {
        match &c.public_url {
            Some(url) => {
                let base = url.trim_end_matches('/').to_owned();
                let local = is_loopback_host(host_of(&base));
                Self {
                    base,
                    from: UrlFrom::PublicUrl,
                    local,
                }
            }
            None => Self {
                // `SocketAddr` writes IPv6 in brackets, as a URL needs.
                base: format!("http://{}", c.listen),
                from: UrlFrom::Listen,
                local: c.listen.ip().is_loopback(),
            },
        }
    }

    /// The tracker script, beside which the tracker also finds `/api/event`.
    pub fn script_url(&self) -> String {
        format!("{}/js/script.js", self.base)
    }

    /// The tag to paste into every page of `domain`.
    pub fn snippet(&self, domain: &str) -> String {
        let local = if self.local { " data-local" } else { "" };
        format!(
            "<script defer data-domain=\"{}\"{local} src=\"{}\"></script>",
            attribute(domain),
            attribute(&self.script_url())
        )
    }
}

/// The host of an `http(s)://host[:port][/path]` URL, without brackets.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A value for a double-quoted HTML attribute. Domains are validated plain
/// names, but `public_url` is only checked for its scheme.
fn attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening(addr: &str) -> CollectorUrl {
        let config = CollectorConfig {
            listen: addr.parse().unwrap(),
            ..CollectorConfig::default()
        };
        CollectorUrl::from_config(&config)
    }

    fn public(url: &str) -> CollectorUrl {
        let config = CollectorConfig {
            public_url: Some(url.into()),
            ..CollectorConfig::default()
        };
        CollectorUrl::from_config(&config)
    }

    #[test]
    fn public_url_wins_and_keeps_its_path() {
        let url = public("https://stats.example.com/");
        assert_eq!(url.from, UrlFrom::PublicUrl);
        assert_eq!(
            url.snippet("example.com"),
            "<script defer data-domain=\"example.com\" \
             src=\"https://stats.example.com/js/script.js\"></script>"
        );
        for prefixed in ["https://example.com/stats", "https://example.com/stats/"] {
            assert_eq!(
                public(prefixed).script_url(),
                "https://example.com/stats/js/script.js"
            );
        }
    }

    #[test]
    fn a_loopback_collector_gets_data_local() {
        let url = listening("127.0.0.1:8080");
        assert_eq!(url.from, UrlFrom::Listen);
        assert_eq!(
            url.snippet("example.com"),
            "<script defer data-domain=\"example.com\" data-local \
             src=\"http://127.0.0.1:8080/js/script.js\"></script>"
        );
        assert!(listening("[::1]:8080").local);
        assert_eq!(
            listening("[::1]:8080").script_url(),
            "http://[::1]:8080/js/script.js"
        );
        assert!(public("http://localhost:8080").local);
        assert!(public("http://[::1]:8080/").local);
        assert!(public("http://127.0.0.2:8080/x").local);
    }

    #[test]
    fn other_addresses_do_not() {
        assert!(!listening("0.0.0.0:8080").local);
        assert!(!listening("10.1.2.3:8080").local);
        assert!(!public("https://stats.example.com").local);
        assert!(!public("https://localhost.example.com:8443/").local);
        assert!(!public("https://127.0.0.1.example.com/").local);
    }

    #[test]
    fn the_snippet_cannot_be_broken_out_of() {
        let url = public("https://example.com/a\"><img src=x>");
        let snippet = url.snippet("example.com");
        assert!(!snippet.contains("\"><img"), "{snippet}");
        assert!(snippet.contains("&quot;&gt;&lt;img"), "{snippet}");
    }
}
