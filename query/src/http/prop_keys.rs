//! `GET /api/dashboard/prop-keys?site_id=&from=&to=[&goal=]`: the custom
//! property keys a site's events carry on the local days `from` to `to`,
//! for the dashboard's properties panel to offer. Most visitors first;
//! with `goal`, the keys of the events that complete that goal come before
//! all others (`"goal": true`): the panel then starts on the goal's own
//! properties, such as `author` for `Signup`.
//!
//! Same callers and refusals as the other dashboard endpoints, a `400`
//! for missing or malformed days or an unknown goal; one ClickHouse query,
//! under a report place.

use super::params;
use crate::api::dates::{self, site_zone};
use crate::api::goals::condition;
use crate::api::request::DateRange;
use crate::auth::client_net::ClientNet;
use crate::error::ApiError;
use crate::sql::props;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde_json::json;
use std::sync::Arc;

#[derive(serde::Deserialize)]
struct Params {
    from: Option<String>,
    to: Option<String>,
    goal: Option<String>,
}

pub async fn prop_keys(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (editor, site) = params::requested_site(&state, net, &method, &headers, &uri)?;
    let Query(p) = Query::<Params>::try_from_uri(&uri)
        .map_err(|_| ApiError::BadQuery("malformed query string".into()))?;
    let first = day(p.from.as_deref(), "from")?;
    let last = day(p.to.as_deref(), "to")?;
    if first > last {
        return Err(ApiError::BadQuery("`from` must not be after `to`".into()));
    }
    let goals = site.goals();
    let goal = match p.goal.as_deref().filter(|g| !g.is_empty()) {
        None => None,
        Some(name) => Some(goals.iter().find(|g| g.name == name).ok_or_else(|| {
            ApiError::BadQuery(format!("`goal`: no goal `{name}` is configured"))
        })?),
    };
    let span = dates::resolve(
        &DateRange::Dates(first, last),
        site_zone(site),
        (state.now)(),
        None,
    )?;
    let _slot = state.admission.admit(editor)?;
    let goal_sql = goal.map(|g| crate::sql::expr::filter(&condition(g)));
    let keys = props::keys(
        &state.db,
        &site.domain,
        &span,
        goal_sql.as_deref(),
        state.limits,
    )
    .await?;
    let keys: Vec<_> = keys
        .iter()
        .map(|k| json!({"key": k.key, "visitors": k.visitors, "goal": k.in_goal}))
        .collect();
    Ok(Json(json!({"site_id": site.domain, "keys": keys})).into_response())
}

/// A `YYYY-MM-DD` parameter.
fn day(value: Option<&str>, name: &str) -> Result<NaiveDate, ApiError> {
    let value =
        value.ok_or_else(|| ApiError::BadQuery(format!("`{name}` is required (YYYY-MM-DD)")))?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::BadQuery(format!("`{name}` must be a day such as 2024-03-09")))
}
