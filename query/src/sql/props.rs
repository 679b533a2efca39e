//! The custom property keys of a site's events over a span, for the
//! dashboard's properties panel (see [`crate::http::prop_keys`]): each key
//! with the visitors whose events carry it, and whether events completing
//! a given goal carry it. One pass over the span's rows, keys unnested with
//! `ARRAY JOIN`, so events without properties cost nothing more.

use super::clickhouse::{fetch_json, number, Limits};
use super::expr::{lit, visitors_fn};
use crate::api::dates::Span;
use crate::error::ApiError;
use schema::Db;

/// Keys listed at most: a panel's picker, not an export.
pub const MAX_KEYS: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropKey {
    pub key: String,
    pub visitors: u64,
    /// Whether an event completing the goal asked about carries it.
    pub in_goal: bool,
}

/// The span's keys: the goal's (where `goal` is its condition as SQL)
/// first, then by visitors, then by name.
pub async fn keys(
    db: &Db,
    site: &str,
    span: &Span,
    goal: Option<&str>,
    limits: Limits,
) -> Result<Vec<PropKey>, ApiError> {
    let json = fetch_json(db, &keys_sql(site, span, goal), limits).await?;
    let rows = json["data"].as_array().cloned().unwrap_or_default();
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(PropKey {
                key: row.get(0)?.as_str()?.to_owned(),
                visitors: row.get(1).and_then(number).unwrap_or(0),
                in_goal: row.get(2).and_then(number).unwrap_or(0) > 0,
            })
        })
        .collect())
}

fn keys_sql(site: &str, span: &Span, goal: Option<&str>) -> String {
    let in_goal = goal.map_or("0".to_owned(), |g| format!("countIf({g})"));
    format!(
        "SELECT prop_key, {uniq}(visitor_id) AS v, {in_goal} AS g FROM events \
         ARRAY JOIN props_keys AS prop_key \
         WHERE site = {site} AND timestamp >= toDateTime({from}) AND timestamp < toDateTime({to}) \
         AND name != 'engagement' \
         GROUP BY prop_key ORDER BY g > 0 DESC, v DESC, prop_key LIMIT {MAX_KEYS}",
        uniq = visitors_fn(""),
        site = lit(site),
        from = span.from.timestamp(),
        to = span.to.timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn the_goals_keys_sort_first() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 9).unwrap();
        let span = Span {
            from: Utc.timestamp_opt(1_709_942_400, 0).unwrap(),
            to: Utc.timestamp_opt(1_710_028_800, 0).unwrap(),
            first_day: day,
            last_day: day,
        };
        let sql = keys_sql("a.com", &span, Some("name IN ('Signup')"));
        assert!(sql.contains("countIf(name IN ('Signup')) AS g"), "{sql}");
        assert!(sql.contains("ORDER BY g > 0 DESC, v DESC"), "{sql}");
        assert!(sql.contains("timestamp >= toDateTime(1709942400)"), "{sql}");
        assert!(keys_sql("a.com", &span, None).contains("0 AS g"));
    }
}
