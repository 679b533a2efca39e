//! `GET /api/dashboard/realtime?site_id=`: the dashboard's realtime view in
//! one answer, so the page refreshes it with one request: the current
//! visitors (the last five minutes, as `/api/v1/stats/realtime/visitors`
//! counts them) and the last 30 minutes ([`recent`]): visitors and
//! pageviews per minute, and the top pages and sources.
//!
//! `now` is the service's clock, which the page shows the window against.
//! Under a site's k-anonymity threshold ([`MinVisitors`]) every count of
//! fewer than K visitors (and its pageviews) reads `"<K"`, and the top
//! lists leave out the values under K.
//! Same callers and refusals as the v1 realtime endpoint (cookie or
//! bearer; `401`, `400`, `403`), and it takes a report place while it runs.

use super::params;
use super::realtime::REALTIME_SECS;
use crate::api::threshold::MinVisitors;
use crate::auth::client_net::ClientNet;
use crate::error::ApiError;
use crate::sql::lookups;
use crate::sql::recent::{self, Recent, WINDOW_MINUTES};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::SecondsFormat;
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn realtime_view(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (editor, site) = params::requested_site(&state, net, &method, &headers, &uri)?;
    let _slot = state.admission.admit(editor)?;
    let now = (state.now)();
    let at = now.timestamp();
    let (current, recent) = tokio::try_join!(
        lookups::visitors_since(&state.db, &site.domain, at - REALTIME_SECS, state.limits),
        recent::last_minutes(&state.db, &site.domain, at, state.limits),
    )?;
    let mut body = answer(&recent);
    body["site_id"] = json!(site.domain);
    body["now"] = json!(now.to_rfc3339_opts(SecondsFormat::Secs, true));
    body["current_visitors"] = json!(current);
    if let Some(k) = MinVisitors::of(site) {
        hide_small(&mut body, k);
    }
    Ok(Json(body).into_response())
}

/// The answer under `k`: `"<K"` for each count of fewer than K visitors
/// (none included) and the pageviews beside it, and the top lists without
/// their values under K.
fn hide_small(body: &mut Value, k: MinVisitors) {
    let small = |v: &Value| v.as_u64().is_some_and(|n| k.hides(n));
    let hide = |c: &mut Value| {
        if small(&c["visitors"]) {
            c["visitors"] = json!(k.fewer());
            c["pageviews"] = json!(k.fewer());
        }
    };
    if small(&body["current_visitors"]) {
        body["current_visitors"] = json!(k.fewer());
    }
    hide(body);
    for minute in body["minutes"].as_array_mut().into_iter().flatten() {
        hide(minute);
    }
    for list in ["pages", "sources"] {
        if let Some(rows) = body[list].as_array_mut() {
            rows.retain(|r| !small(&r["visitors"]));
        }
    }
    body["min_visitors"] = json!(k.k());
}

/// The window's numbers as JSON; `minutes_ago` counts down to 0, the
/// minute up to `now`.
fn answer(r: &Recent) -> Value {
    let minutes: Vec<Value> = r
        .minutes
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let ago = WINDOW_MINUTES as usize - 1 - i;
            json!({"minutes_ago": ago, "visitors": m.visitors, "pageviews": m.pageviews})
        })
        .collect();
    let list = |rows: &[(String, u64)], key: &str| -> Vec<Value> {
        rows.iter()
            .map(|(label, visitors)| json!({key: label, "visitors": visitors}))
            .collect()
    };
    json!({
        "window_minutes": WINDOW_MINUTES,
        "visitors": r.total.visitors,
        "pageviews": r.total.pageviews,
        "minutes": minutes,
        "pages": list(&r.pages, "page"),
        "sources": list(&r.sources, "source"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::recent::Minute;

    #[test]
    fn minutes_count_down_to_now() {
        let mut r = Recent {
            minutes: vec![Minute::default(); WINDOW_MINUTES as usize],
            ..Recent::default()
        };
        r.minutes[29].visitors = 3;
        r.pages = vec![("/".into(), 3)];
        let body = answer(&r);
        assert_eq!(body["minutes"][0]["minutes_ago"], 29);
        assert_eq!(
            body["minutes"][29],
            json!({"minutes_ago": 0, "visitors": 3, "pageviews": 0})
        );
        assert_eq!(body["pages"], json!([{"page": "/", "visitors": 3}]));
        assert_eq!(body["sources"], json!([]));
    }
}
