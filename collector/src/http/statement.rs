//! `GET /privacy?site=DOMAIN`: the site's privacy statement (see
//! [`schema::privacy_statement`]), as a web page, or as Markdown for a
//! client that prefers `text/markdown`. Rendered per request: it is rarely
//! asked for, and the GeoIP database it describes may be replaced while the
//! collector runs.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap};
use schema::privacy_statement::{
    render, Facts, Format, LocationDetail, StatementError, CONTENT_SECURITY_POLICY,
};
use std::sync::Arc;

pub async fn statement(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let domain = site_param(query.as_deref())?;
    let location = state
        .pipeline
        .enricher()
        .geo()
        .database_type()
        .map_or(LocationDetail::Off, |t| {
            LocationDetail::from_database_type(&t)
        });
    let facts = Facts::gather(&state.config, &domain, location).map_err(|e| match e {
        StatementError::UnknownSite(site) => {
            ApiError::Missing(format!("no site `{site}` is configured on this collector"))
        }
        other => ApiError::Missing(format!("no privacy statement is published: {other}")),
    })?;
    let format = preferred_format(&headers);
    let headers = [
        (header::CONTENT_TYPE, format.content_type()),
        (header::VARY, "Accept"),
        (header::CACHE_CONTROL, "public, max-age=300"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ];
    Ok((headers, render(&facts, format)).into_response())
}

/// The one `site` parameter; a missing, empty or repeated one is the
/// client's mistake.
fn site_param(query: Option<&str>) -> Result<String, ApiError> {
    let mut sites = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(key, _)| key == "site")
        .map(|(_, value)| value.into_owned());
    let usage = "is required, once: GET /privacy?site=example.com";
    match (sites.next(), sites.next()) {
        (Some(site), None) if !site.is_empty() => Ok(site),
        _ => Err(ApiError::field("site", usage)),
    }
}

/// Markdown when `Accept` ranks `text/markdown` above `text/html`; the web
/// page otherwise (browsers, and clients that send no `Accept`).
fn preferred_format(headers: &HeaderMap) -> Format {
    let (mut html, mut markdown) = (None::<f32>, None::<f32>);
    for range in headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/markdown" => markdown = Some(markdown.unwrap_or(0.0).max(q)),
            "text/html" => html = Some(html.unwrap_or(0.0).max(q)),
            _ => {}
        }
    }
    match markdown {
        Some(m) if m > 0.0 && m > html.unwrap_or(0.0) => Format::Markdown,
        _ => Format::Html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_for(accept: &str) -> Format {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, accept.parse().unwrap());
        preferred_format(&headers)
    }

    #[test]
    fn markdown_only_when_ranked_above_html() {
        assert_eq!(preferred_format(&HeaderMap::new()), Format::Html);
        assert_eq!(format_for("text/markdown"), Format::Markdown);
        assert_eq!(
            format_for("text/markdown, text/plain;q=0.5"),
            Format::Markdown
        );
        assert_eq!(format_for("text/html,text/markdown;q=0.9"), Format::Html);
        assert_eq!(
            format_for("text/html;q=0.5, Text/Markdown"),
            Format::Markdown
        );
        assert_eq!(format_for("text/markdown;q=0"), Format::Html);
        assert_eq!(
            format_for("text/html,application/xhtml+xml,*/*;q=0.8"),
            Format::Html
        );
    }

    #[test]
    fn the_site_parameter_is_required_once() {
        assert_eq!(site_param(Some("site=a.example")).unwrap(), "a.example");
        assert_eq!(
            site_param(Some("x=1&site=a%2Eexample")).unwrap(),
            "a.example"
        );
        for bad in [
            None,
            Some(""),
            Some("site="),
            Some("site=a.example&site=b.example"),
        ] {
            let err = site_param(bad).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }
}
