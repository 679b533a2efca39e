//! The editors' dashboard: static files compiled into the binary and served
//! at `/`, each with a strict Content-Security-Policy. The page loads
//! nothing from other origins; its scripts talk to this service's own API
//! (see [`super::login`] and [`crate::auth`]).

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Only this origin's scripts, styles, images and API; no inline script or
/// style, no framing, no plugins, and forms post only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_str!(concat!("../../assets/", $file)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/style.css", "style.css", CSS),
    asset!("/views.css", "views.css", CSS),
    asset!("/theme.css", "theme.css", CSS),
    asset!("/favicon.svg", "favicon.svg", "image/svg+xml"),
    asset!("/app.js", "app.js", JS),
    asset!("/api.js", "api.js", JS),
    asset!("/view.js", "view.js", JS),
    asset!("/format.js", "format.js", JS),
    asset!("/chart.js", "chart.js", JS),
    asset!("/breakdowns.js", "breakdowns.js", JS),
    asset!("/first-run.js", "first-run.js", JS),
    asset!("/periods.js", "periods.js", JS),
    asset!("/filters.js", "filters.js", JS),
    asset!("/realtime.js", "realtime.js", JS),
    asset!("/shortcuts.js", "shortcuts.js", JS),
    asset!("/goals.js", "goals.js", JS),
    asset!("/props.js", "props.js", JS),
    asset!("/imports.js", "imports.js", JS),
];

/// A route for every asset, for a router of any state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move || async move { serve(asset) }))
    })
}

fn serve(asset: &'static Asset) -> Response {
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // Small files: revalidating each time keeps upgrades visible at once.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    (headers, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_only_its_own_files() {
        let index = ASSETS[0].body;
        for asset in &ASSETS[1..] {
            if !asset.path.ends_with(".js") || asset.path == "/app.js" {
                let name = asset.path.trim_start_matches('/');
                assert!(index.contains(name), "index.html does not load {name}");
            }
        }
        // Every module a script imports is served, or the page stops there.
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            for import in asset.body.split("from './").skip(1) {
                let name = import.split('\'').next().unwrap_or_default();
                let served = ASSETS
                    .iter()
                    .any(|a| a.path.trim_start_matches('/') == name);
                assert!(served, "{} imports {name}, which is not served", asset.path);
            }
        }
        // The SVG namespace is a name, not a place anything is loaded from.
        for asset in ASSETS {
            let body = asset.body.replace("http://www.w3.org/2000/svg", "");
            for needle in [
                "http://",
                "https://",
                "<script>",
                " style=\"",
                "javascript:",
            ] {
                assert!(!body.contains(needle), "{} contains {needle}", asset.path);
            }
        }
    }
}
