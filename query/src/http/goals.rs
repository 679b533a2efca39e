//! `GET /api/dashboard/goals?site_id=`: the site's goals as the Stats API
//! knows them (configured, then built-in), in config order: what the
//! dashboard's goal conversions panel lists, including goals nobody has
//! completed yet, and which of them carry revenue in which currency. The
//! numbers themselves come from the Stats API (`event:goal` with
//! `conversion_rate` and the revenue metrics). No ClickHouse query: goals
//! are config.

use super::params;
use crate::auth::client_net::ClientNet;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use schema::config::{Goal, GoalKind};
use serde_json::{json, Value};
use std::sync::Arc;

/// `{"site_id": ..., "goals": [{"name", "event" or "page", "currency"}]}`
/// for an editor who may read the site.
pub async fn goals(
    State(state): State<Arc<AppState>>,
    net: ClientNet,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (_, site) = params::requested_site(&state, net, &method, &headers, &uri)?;
    let goals: Vec<Value> = site.goals().iter().map(describe).collect();
    Ok(Json(json!({"site_id": site.domain, "goals": goals})).into_response())
}

fn describe(goal: &Goal) -> Value {
    let (key, matches) = match &goal.kind {
        GoalKind::Event(name) => ("event", name),
        GoalKind::Page(glob) => ("page", glob),
    };
    let mut out = json!({"name": goal.name, "currency": goal.currency});
    out[key] = json!(matches);
    out
}
