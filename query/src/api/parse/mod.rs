//! The Stats API v2 query body, parsed into a checked [`Query`].
//!
//! Parsing is by hand over `serde_json::Value` rather than derived, so that
//! every refusal names the offending part (`metrics[2]`, `filters[0][1]`)
//! the way Plausible's own messages do. The bounds on sizes (page size,
//! pattern and value lengths, nesting depth) are checked here, before any
//! SQL is written, and so are the combinations Plausible refuses
//! ([`super::rules`]).

use super::request::{
    DateRange, Dimension, Direction, Metric, Query, Shorthand, SortKey, MAX_LIMIT,
};
use crate::error::ApiError;
use serde_json::Value;

mod filters;
mod include;

use filters::parse_filters;
use include::parse_include;

pub(super) fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadQuery(message.into())
}

/// Parses and checks a query body.
pub fn parse(body: &Value) -> Result<Query, ApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad("the query must be a JSON object"))?;
    const KEYS: [&str; 8] = [
        "site_id",
        "metrics",
        "date_range",
        "dimensions",
        "filters",
        "order_by",
        "include",
        "pagination",
    ];
    if let Some(key) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!("unknown key `{key}` in the query")));
    }
    let site_id = match obj.get("site_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(bad("`site_id` is required and must be a site's domain")),
    };
    let metrics = parse_metrics(obj.get("metrics"))?;
    let dimensions = parse_dimensions(obj.get("dimensions"))?;
    let filter = parse_filters(obj.get("filters"))?;
    let date_range = parse_date_range(obj.get("date_range"))?;
    let order_by = parse_order_by(obj.get("order_by"), &metrics, &dimensions)?;
    let (limit, offset) = parse_pagination(obj.get("pagination"))?;
    let include = parse_include(obj.get("include"), &dimensions)?;
    let query = Query {
        site_id,
        metrics,
        dimensions,
        filter,
        date_range,
        order_by,
        limit,
        offset,
        total_rows: include.total_rows,
        time_labels: include.time_labels,
        comparison: include.comparison,
        goals: Vec::new(),
        imports: include.imports,
    };
    super::rules::check(&query)?;
    Ok(query)
}

pub(super) fn strings<'a>(value: &'a Value, what: &str) -> Result<Vec<&'a str>, ApiError> {
    let list = value
        .as_array()
        .ok_or_else(|| bad(format!("`{what}` must be a list")))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .ok_or_else(|| bad(format!("`{what}[{i}]` must be a string")))
        })
        .collect()
}

fn parse_metrics(value: Option<&Value>) -> Result<Vec<Metric>, ApiError> {
    let names = strings(
        value.ok_or_else(|| bad("`metrics` is required"))?,
        "metrics",
    )?;
    if names.is_empty() {
        return Err(bad("`metrics` must name at least one metric"));
    }
    let mut metrics = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let metric = Metric::parse(name).ok_or_else(|| {
            bad(format!(
                "unknown metric `{name}` in `metrics[{i}]`; known: {}",
                Metric::names().join(", ")
            ))
        })?;
        if metrics.contains(&metric) {
            return Err(bad(format!("metric `{name}` is listed twice")));
        }
        metrics.push(metric);
    }
    Ok(metrics)
}

fn parse_dimensions(value: Option<&Value>) -> Result<Vec<Dimension>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let mut dims = Vec::new();
    for (i, name) in strings(value, "dimensions")?.iter().enumerate() {
        let dim = Dimension::parse(name)
            .ok_or_else(|| bad(format!("unknown dimension `{name}` in `dimensions[{i}]`")))?;
        if dims.contains(&dim) {
            return Err(bad(format!("dimension `{name}` is listed twice")));
        }
        if dim.is_time() && dims.iter().any(Dimension::is_time) {
            return Err(bad("only one time dimension may be used"));
        }
        dims.push(dim);
    }
    Ok(dims)
}

fn parse_date_range(value: Option<&Value>) -> Result<DateRange, ApiError> {
    let value = value.ok_or_else(|| bad("`date_range` is required"))?;
    if let Some(name) = value.as_str() {
        if Shorthand::parse(name).is_some() {
            return Ok(DateRange::Named(name.into()));
        }
        return Err(bad(format!(
            "unknown `date_range` `{name}`; use day, 24h, Nd (7d, 28d, 30d, 91d, ...), month, Nmo (6mo, 12mo, ...), year, all or [from, to]"
        )));
    }
    let pair = strings(value, "date_range")?;
    let [from, to] = pair.as_slice() else {
        return Err(bad("`date_range` must be a name or a [from, to] pair"));
    };
    if let Some(dates) = date_pair(from, to, "date_range")? {
        return Ok(dates);
    }
    let a = chrono::DateTime::parse_from_rfc3339(from).map_err(|_| {
        bad(format!(
            "`date_range[0]` `{from}` is not a date (YYYY-MM-DD) or an RFC 3339 date-time"
        ))
    })?;
    let b = chrono::DateTime::parse_from_rfc3339(to).map_err(|_| {
        bad(format!(
            "`date_range[1]` `{to}` is not a date (YYYY-MM-DD) or an RFC 3339 date-time"
        ))
    })?;
    if a > b {
        return Err(bad("`date_range` ends before it starts"));
    }
    Ok(DateRange::DateTimes(a, b))
}

/// `[from, to]` as two dates (`YYYY-MM-DD`), if both are dates; refused
/// when they are in the wrong order.
pub(super) fn date_pair(from: &str, to: &str, at: &str) -> Result<Option<DateRange>, ApiError> {
    let (Ok(a), Ok(b)) = (parse_date(from), parse_date(to)) else {
        return Ok(None);
    };
    if a > b {
        return Err(bad(format!("`{at}` ends before it starts")));
    }
    Ok(Some(DateRange::Dates(a, b)))
}

fn parse_date(s: &str) -> chrono::ParseResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
}

fn parse_order_by(
    value: Option<&Value>,
    metrics: &[Metric],
    dimensions: &[Dimension],
) -> Result<Vec<(SortKey, Direction)>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| bad("`order_by` must be a list of [name, \"asc\"|\"desc\"]"))?;
    let mut order = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let pair = strings(item, &format!("order_by[{i}]"))?;
        let [name, dir] = pair.as_slice() else {
            return Err(bad(format!(
                "`order_by[{i}]` must be [name, \"asc\"|\"desc\"]"
            )));
        };
        let direction = match *dir {
            "asc" => Direction::Asc,
            "desc" => Direction::Desc,
            _ => {
                return Err(bad(format!(
                    "`order_by[{i}][1]` must be \"asc\" or \"desc\""
                )))
            }
        };
        let key = if let Some(m) = Metric::parse(name).filter(|m| metrics.contains(m)) {
            SortKey::Metric(m)
        } else if let Some(d) = Dimension::parse(name).filter(|d| dimensions.contains(d)) {
            SortKey::Dimension(d)
        } else {
            return Err(bad(format!(
                "`order_by[{i}]`: `{name}` is not one of the query's metrics or dimensions"
            )));
        };
        order.push((key, direction));
    }
    Ok(order)
}

fn parse_pagination(value: Option<&Value>) -> Result<(u64, u64), ApiError> {
    let Some(value) = value else {
        return Ok((MAX_LIMIT, 0));
    };
    let obj = value
        .as_object()
        .ok_or_else(|| bad("`pagination` must be {\"limit\": N, \"offset\": N}"))?;
    if let Some(key) = obj.keys().find(|k| *k != "limit" && *k != "offset") {
        return Err(bad(format!("unknown key `{key}` in `pagination`")));
    }
    let number = |key: &str, default: u64| match obj.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| bad(format!("`pagination.{key}` must be a whole number"))),
    };
    let limit = number("limit", MAX_LIMIT)?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(format!(
            "`pagination.limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok((limit, number("offset", 0)?))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::api::request::{Filter, TimeGrain};
    use serde_json::json;

    pub(in crate::api::parse) fn error_of(body: Value) -> String {
        match parse(&body) {
            Err(ApiError::BadQuery(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_query() {
        let q = parse(&json!({
            "site_id": "a.example",
            "metrics": ["visitors", "visits"],
            "date_range": ["2024-01-01", "2024-01-31"],
            "dimensions": ["visit:source", "time:day", "event:props:plan"],
            "filters": [["is", "visit:country", ["DE", "FR"]],
                        ["not", ["contains", "event:page", ["/admin"]]]],
            "order_by": [["visitors", "desc"]],
            "pagination": {"limit": 5, "offset": 10},
            "include": {"total_rows": true, "time_labels": true}
        }))
        .unwrap();
        assert_eq!(q.metrics, vec![Metric::Visitors, Metric::Visits]);
        assert_eq!(
            q.dimensions,
            vec![
                Dimension::Visit("source"),
                Dimension::Time(TimeGrain::Day),
                Dimension::Prop("plan".into())
            ]
        );
        assert!(matches!(q.filter, Some(Filter::And(ref fs)) if fs.len() == 2));
        assert_eq!(
            (q.limit, q.offset, q.total_rows, q.time_labels),
            (5, 10, true, true)
        );
        assert!(q.needs_visits());
    }

    #[test]
    fn event_only_queries_need_no_visits() {
        let q = parse(
            &json!({"site_id": "a", "metrics": ["visitors", "pageviews"],
            "date_range": "7d", "dimensions": ["event:page"],
            "filters": [["contains", "event:page", ["/blog"]]]}),
        )
        .unwrap();
        assert!(!q.needs_visits());
    }

    #[test]
    fn refusals_name_the_offending_part() {
        let base = || json!({"site_id": "a", "metrics": ["visitors"], "date_range": "day"});
        let with = |key: &str, v: Value| {
            let mut b = base();
            b[key] = v;
            b
        };
        let cases = [
            (with("metrics", json!(["visitors", "nope"])), "metrics[1]"),
            (with("dimensions", json!(["visit:shoe"])), "dimensions[0]"),
            (
                with("filters", json!([["is", "event:page", "x"]])),
                "filters[0][2]",
            ),
            (
                with("filters", json!([["like", "event:page", ["x"]]])),
                "filters[0][0]",
            ),
            (
                with("filters", json!([["or", [["is", "time", ["x"]]]]])),
                "filters[0][1][0][1]",
            ),
            (
                with("filters", json!([["matches", "event:page", ["("]]])),
                "filters[0][2][0]",
            ),
            (with("date_range", json!("fortnight")), "date_range"),
            (with("date_range", json!("5001d")), "date_range"),
            (
                with("date_range", json!(["2024-02-01", "2024-01-01"])),
                "date_range",
            ),
            (
                with("order_by", json!([["pageviews", "desc"]])),
                "order_by[0]",
            ),
            (
                with("pagination", json!({"limit": 10001})),
                "pagination.limit",
            ),
            (with("include", json!({"time_labels": true})), "time_labels"),
            (with("bogus", json!(1)), "bogus"),
        ];
        for (body, part) in cases {
            let message = error_of(body.clone());
            assert!(
                message.contains(part),
                "{body}: `{message}` should name `{part}`"
            );
        }
        assert!(
            error_of(json!({"metrics": ["visitors"], "date_range": "day"})).contains("site_id")
        );
    }

    #[test]
    fn date_times_parse() {
        let q = parse(&json!({"site_id": "a", "metrics": ["events"],
            "date_range": ["2024-01-01T10:00:00Z", "2024-01-01T12:00:00+02:00"]}))
        .unwrap();
        assert!(matches!(q.date_range, DateRange::DateTimes(..)));
    }
}
