//! `GET /.well-known/gpc.json`: the Global Privacy Control support resource
//! (see [`schema::privacy_statement::gpc`]), for the site the request's
//! `Host` names, served only when that site respects GPC (`respect_gpc`).
//!
//! A reverse proxy at the site's origin forwards the path here with the
//! site's `Host` (docs/tracker.md shows the line). Under a host of its own
//! (`stats.example.com`) the collector answers for every site it serves, so
//! it claims GPC support only when all of them respect it. Otherwise `404`:
//! the specification reads a missing resource as "no claim".

use crate::clock::day_of;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap};
use schema::config::SiteConfig;
use schema::privacy_statement::gpc::support_resource;
use std::sync::Arc;

pub async fn well_known(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sites = &state.config.site;
    let host = request_host(&headers);
    let respected = match host
        .as_deref()
        .and_then(|h| sites.iter().find(|s| serves_host(s, h)))
    {
        Some(site) => site.respect_gpc,
        None => !sites.is_empty() && sites.iter().all(|s| s.respect_gpc),
    };
    if !respected {
        return Err(ApiError::Missing(
            "this site does not act on Global Privacy Control (respect_gpc = false)".into(),
        ));
    }
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        // Any page may read it, as the specification intends.
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    let day = u64::from(day_of(state.started_at));
    Ok((headers, support_resource(day)).into_response())
}

/// The `Host` header without its port, lower-cased.
fn request_host(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let without_port = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    Some(without_port.to_ascii_lowercase())
}

/// The site's domain (with or without `www.`), or one of its `hostnames`
/// (`*.example.com` for subdomains).
fn serves_host(site: &SiteConfig, host: &str) -> bool {
    let host = host.strip_prefix("www.").unwrap_or(host);
    host == site.domain
        || site
            .hostnames
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(parent) => host
                    .strip_suffix(parent)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                None => pattern.strip_prefix("www.").unwrap_or(pattern) == host,
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_their_site() {
        let mut site = SiteConfig::new("example.com");
        site.hostnames = vec!["shop.example.net".into(), "*.example.org".into()];
        for host in [
            "example.com",
            "www.example.com",
            "shop.example.net",
            "a.example.org",
        ] {
            assert!(serves_host(&site, host), "{host}");
        }
        for host in ["example.org", "other.com", "xexample.com", "aexample.org"] {
            assert!(!serves_host(&site, host), "{host}");
        }
    }

    #[test]
    fn the_port_is_not_part_of_the_host() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "Example.com:8080".parse().unwrap());
        assert_eq!(request_host(&headers).as_deref(), Some("example.com"));
    }
}
