//! Running the query service's SQL in ClickHouse: under the time and memory
//! limits from `[query]`, with ClickHouse's own limit errors told apart from
//! storage failures (see [`ApiError::from_report`]), and its JSON numbers
//! read either way it writes them.
//!
//! The SQL is sent as written (`query_raw`): values are already escaped by
//! [`super::expr::lit`], and the crate's `query` would read every `?` in
//! them as a bind placeholder (`?` fails, `??` silently becomes `?`).

use crate::error::ApiError;
use schema::Db;
use serde_json::Value;
use std::time::Duration;

/// Limits every report query runs under (`[query] max_query_*`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub seconds: u32,
    pub memory_bytes: u64,
    pub rows_to_read: u64,
}

/// Runs one report query read-only, with ClickHouse's time, memory and
/// row-read limits. `readonly = 2` refuses anything but reads yet lets the
/// same request set the limits (`1` would refuse those too); 18.16 and
/// current releases both know every setting used here.
pub async fn fetch_json(db: &Db, sql: &str, limits: Limits) -> Result<Value, ApiError> {
    let mut client = db
        .client()
        .clone()
        .with_setting("readonly", "2")
        .with_setting("max_execution_time", limits.seconds.to_string())
        .with_setting("max_memory_usage", limits.memory_bytes.to_string())
        .with_setting("max_rows_to_read", limits.rows_to_read.to_string());
    // `total_rows` comes from `rows_before_limit_at_least`, which current
    // releases only count in full when asked to.
    if db.version().needs_exact_rows_before_limit() {
        client = client.with_setting("exact_rows_before_limit", "1");
    }
    // A little longer than ClickHouse's own limit, so its clearer error wins.
    let wait = Duration::from_secs(u64::from(limits.seconds) + 5);
    let bytes = schema::client::within(wait, async {
        let mut cursor = client.query_raw(sql).fetch_bytes("JSONCompact")?;
        Ok(cursor.collect().await?)
    })
    .await
    .map_err(ApiError::from_report)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Storage(schema::DbError::Unexpected(format!("report JSON: {e}"))))
}

/// ClickHouse's JSON quotes 64-bit integers; accept either form.
pub(crate) fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
