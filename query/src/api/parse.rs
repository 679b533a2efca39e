//! The Stats API v2 query body, parsed into a checked [`Query`].
//!
//! Parsing is by hand over `serde_json::Value` rather than derived, so that
//! every refusal names the offending part (`metrics[2]`, `filters[0][1]`)
//! the way Plausible's own messages do. The bounds on sizes (page size,
//! pattern and value lengths, nesting depth) are checked here, before any
//! SQL is written, and so are the combinations Plausible refuses
//! ([`super::rules`]).

use super::request::{
    CompareMode, Comparison, DateRange, Dimension, Direction, Filter, Metric, Op, Query, Shorthand,
    SortKey, MAX_FILTER_CONDITIONS, MAX_FILTER_VALUES, MAX_FILTER_VALUE_BYTES, MAX_LIMIT,
    MAX_PATTERN_LEN, MAX_VALUE_LEN,
};
use crate::error::ApiError;
use serde_json::Value;

fn bad(message: impl Into<String>) -> ApiError {
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
    };
    super::rules::check(&query)?;
    Ok(query)
}

fn strings<'a>(value: &'a Value, what: &str) -> Result<Vec<&'a str>, ApiError> {
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
                "unknown metric `{name}` in `metrics[{i}]`; known: visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events, percentage"
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

fn parse_filters(value: Option<&Value>) -> Result<Option<Filter>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let list = value
        .as_array()
        .ok_or_else(|| bad("`filters` must be a list of filters"))?;
    let mut all = Vec::new();
    let (mut conditions, mut bytes) = (0, 0);
    for (i, f) in list.iter().enumerate() {
        let filter = parse_filter(f, &format!("filters[{i}]"), 0)?;
        let size = filter.size();
        (conditions, bytes) = (conditions + size.0, bytes + size.1);
        if conditions > MAX_FILTER_CONDITIONS {
            return Err(bad(format!(
                "`filters[{i}]` takes the query past {MAX_FILTER_CONDITIONS} conditions"
            )));
        }
        if bytes > MAX_FILTER_VALUE_BYTES {
            return Err(bad(format!(
                "`filters[{i}]` takes the filter values past {MAX_FILTER_VALUE_BYTES} bytes in all"
            )));
        }
        all.push(filter);
    }
    Ok(match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(Filter::And(all)),
    })
}

/// How deeply `and`/`or`/`not` may nest.
const MAX_FILTER_DEPTH: usize = 8;

fn parse_filter(value: &Value, at: &str, depth: usize) -> Result<Filter, ApiError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(bad(format!(
            "`{at}` nests deeper than {MAX_FILTER_DEPTH} levels"
        )));
    }
    let parts = value.as_array().ok_or_else(|| {
        bad(format!(
            "`{at}` must be a list such as [\"is\", \"event:page\", [\"/\"]]"
        ))
    })?;
    let op = parts
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("`{at}[0]` must be an operator")))?;
    match op {
        "and" | "or" => {
            let [_, Value::Array(children)] = parts.as_slice() else {
                return Err(bad(format!("`{at}` must be [\"{op}\", [filters...]]")));
            };
            if children.is_empty() {
                return Err(bad(format!("`{at}[1]` must hold at least one filter")));
            }
            let children = children
                .iter()
                .enumerate()
                .map(|(i, c)| parse_filter(c, &format!("{at}[1][{i}]"), depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "and" {
                Filter::And(children)
            } else {
                Filter::Or(children)
            })
        }
        "not" => {
            let [_, child] = parts.as_slice() else {
                return Err(bad(format!("`{at}` must be [\"not\", filter]")));
            };
            let child = parse_filter(child, &format!("{at}[1]"), depth + 1)?;
            Ok(Filter::Not(Box::new(child)))
        }
        _ => parse_comparison(parts, at, depth),
    }
}

/// Dimensions Plausible lets filter only at the top level, outside any
/// `and`, `or` or `not`.
fn top_level_only(dimension: &Dimension) -> bool {
    *dimension == Dimension::Hostname
}

fn parse_comparison(parts: &[Value], at: &str, depth: usize) -> Result<Filter, ApiError> {
    let (op, dimension, values, modifiers) = match parts {
        [op, dimension, values] => (op, dimension, values, None),
        [op, dimension, values, modifiers] => (op, dimension, values, Some(modifiers)),
        _ => {
            return Err(bad(format!(
                "`{at}` must be [operator, dimension, [values]] or [operator, dimension, [values], {{\"case_sensitive\": false}}]"
            )))
        }
    };
    let op_name = op.as_str().unwrap_or_default();
    let op = Op::parse(op_name).ok_or_else(|| {
        bad(format!(
            "unknown filter operator `{op_name}` in `{at}[0]`; known: is, is_not, contains, contains_not, matches, matches_not, and, or, not"
        ))
    })?;
    let dim_name = dimension
        .as_str()
        .ok_or_else(|| bad(format!("`{at}[1]` must be a dimension name")))?;
    let dimension = Dimension::parse(dim_name)
        .filter(|d| !d.is_time())
        .ok_or_else(|| bad(format!("`{at}[1]`: cannot filter by `{dim_name}`")))?;
    if depth > 0 && top_level_only(&dimension) {
        return Err(bad(format!(
            "`{at}[1]`: Invalid filters. Dimension `{dim_name}` can only be filtered at the top level."
        )));
    }
    let values = strings(values, &format!("{at}[2]"))?;
    if values.is_empty() {
        return Err(bad(format!("`{at}[2]` must hold at least one value")));
    }
    if values.len() > MAX_FILTER_VALUES {
        return Err(bad(format!(
            "`{at}[2]` holds more than {MAX_FILTER_VALUES} values"
        )));
    }
    for (i, v) in values.iter().enumerate() {
        let at = format!("{at}[2][{i}]");
        check_value(op, v, &at)?;
        if dimension == Dimension::Visit("country")
            && matches!(op, Op::Is | Op::IsNot)
            && v.chars().count() != 2
        {
            return Err(bad(format!(
                "`{at}`: Invalid visit:country filter, visit:country needs to be a valid 2-letter country code."
            )));
        }
    }
    let case_sensitive = match modifiers {
        None => true,
        Some(m) => parse_modifiers(m, &format!("{at}[3]"))?,
    };
    Ok(Filter::Compare {
        op,
        dimension,
        values: values.into_iter().map(String::from).collect(),
        case_sensitive,
    })
}

/// A filter's fourth element: `{"case_sensitive": bool}`, Plausible's one
/// modifier. Returns whether matching is case-sensitive.
fn parse_modifiers(value: &Value, at: &str) -> Result<bool, ApiError> {
    let obj = value.as_object().ok_or_else(|| {
        bad(format!(
            "`{at}` must be an object such as {{\"case_sensitive\": false}}"
        ))
    })?;
    if let Some(key) = obj.keys().find(|k| *k != "case_sensitive") {
        return Err(bad(format!(
            "`{at}`: unknown modifier `{key}`; the one modifier is `case_sensitive`"
        )));
    }
    match obj.get("case_sensitive") {
        None => Ok(true),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad(format!("`{at}.case_sensitive` must be true or false"))),
    }
}

fn check_value(op: Op, value: &str, at: &str) -> Result<(), ApiError> {
    if matches!(op, Op::Matches | Op::MatchesNot) {
        // The same pattern, with `(?i)` in front, is what a case-insensitive
        // filter runs: it compiles whenever this does.
        if value.len() > MAX_PATTERN_LEN {
            return Err(bad(format!(
                "`{at}`: the pattern is longer than {MAX_PATTERN_LEN} bytes"
            )));
        }
        // Checked against what ClickHouse's re2 runs, and for size.
        super::pattern::check(value).map_err(|e| bad(format!("`{at}` {e}")))?;
    } else if value.len() > MAX_VALUE_LEN {
        return Err(bad(format!("`{at}` is longer than {MAX_VALUE_LEN} bytes")));
    }
    Ok(())
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
fn date_pair(from: &str, to: &str, at: &str) -> Result<Option<DateRange>, ApiError> {
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

/// What `include` asks for.
#[derive(Debug, Default)]
struct Include {
    total_rows: bool,
    time_labels: bool,
    comparison: Option<Comparison>,
}

fn parse_include(value: Option<&Value>, dimensions: &[Dimension]) -> Result<Include, ApiError> {
    let Some(value) = value else {
        return Ok(Include::default());
    };
    let obj = value
        .as_object()
        .ok_or_else(|| bad("`include` must be an object"))?;
    let mut include = Include::default();
    for (key, v) in obj {
        if key == "comparisons" {
            include.comparison = parse_comparisons(v)?;
            continue;
        }
        let flag = v
            .as_bool()
            .ok_or_else(|| bad(format!("`include.{key}` must be true or false")))?;
        match key.as_str() {
            "total_rows" => include.total_rows = flag,
            "time_labels" => include.time_labels = flag,
            // Plausible clients send it; there is nothing imported to mix in.
            "imports" => {}
            _ => return Err(bad(format!("unknown key `{key}` in `include`"))),
        }
    }
    if include.time_labels && !dimensions.iter().any(Dimension::is_time) {
        return Err(bad("`include.time_labels` needs a time dimension"));
    }
    Ok(include)
}

/// `include.comparisons`: Plausible's `{"mode": ..., "date_range": [...],
/// "match_day_of_week": bool}`, or `false` (or `null`) for none.
fn parse_comparisons(value: &Value) -> Result<Option<Comparison>, ApiError> {
    const AT: &str = "include.comparisons";
    if matches!(value, Value::Null | Value::Bool(false)) {
        return Ok(None);
    }
    let obj = value.as_object().ok_or_else(|| {
        bad(format!(
            "`{AT}` must be an object such as {{\"mode\": \"previous_period\"}}"
        ))
    })?;
    if let Some(key) = obj
        .keys()
        .find(|k| !["mode", "date_range", "match_day_of_week"].contains(&k.as_str()))
    {
        return Err(bad(format!("unknown key `{key}` in `{AT}`")));
    }
    let mode_name = obj
        .get("mode")
        .ok_or_else(|| bad(format!("`{AT}.mode` is required")))?
        .as_str()
        .unwrap_or_default();
    let date_range = obj.get("date_range");
    let mode = match (mode_name, date_range) {
        ("previous_period" | "year_over_year", Some(_)) => {
            return Err(bad(format!("`{AT}.date_range` is only for mode `custom`")))
        }
        ("previous_period", None) => CompareMode::PreviousPeriod,
        ("year_over_year", None) => CompareMode::YearOverYear,
        ("custom", None) => {
            return Err(bad(format!(
                "`{AT}.date_range` is required with mode `custom`"
            )))
        }
        ("custom", Some(range)) => {
            let at = format!("{AT}.date_range");
            let pair = strings(range, &at)?;
            let [from, to] = pair.as_slice() else {
                return Err(bad(format!("`{at}` must be a [from, to] pair of dates")));
            };
            match date_pair(from, to, &at)? {
                Some(DateRange::Dates(a, b)) => CompareMode::Custom(a, b),
                _ => {
                    return Err(bad(format!(
                        "`{at}` must be a [from, to] pair of dates (YYYY-MM-DD)"
                    )))
                }
            }
        }
        (other, _) => {
            return Err(bad(format!(
                "unknown `{AT}.mode` `{other}`; use previous_period, year_over_year or custom"
            )))
        }
    };
    let match_day_of_week = match obj.get("match_day_of_week") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad(format!("`{AT}.match_day_of_week` must be true or false")))?,
    };
    Ok(Some(Comparison {
        mode,
        match_day_of_week,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::request::{CompareMode, TimeGrain};
    use serde_json::json;

    fn error_of(body: Value) -> String {
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
    fn deep_nesting_is_refused() {
        let mut f = json!(["is", "event:page", ["/"]]);
        for _ in 0..=MAX_FILTER_DEPTH {
            f = json!(["not", f]);
        }
        let body =
            json!({"site_id": "a", "metrics": ["visitors"], "date_range": "day", "filters": [f]});
        assert!(error_of(body).contains("nests deeper"));
    }

    #[test]
    fn filters_take_plausibles_case_sensitive_modifier() {
        let filter = |f: Value| {
            parse(&json!({"site_id": "a", "metrics": ["visitors"], "date_range": "day", "filters": [f]}))
                .map(|q| q.filter)
        };
        for (modifier, sensitive) in [
            (json!({"case_sensitive": false}), false),
            (json!({"case_sensitive": true}), true),
            (json!({}), true),
        ] {
            for op in Op::ALL.map(Op::name) {
                let f = filter(json!([op, "event:page", ["/A"], modifier])).unwrap();
                assert!(
                    matches!(f, Some(Filter::Compare { case_sensitive, .. }) if case_sensitive == sensitive),
                    "{op} {modifier}: {f:?}"
                );
            }
        }
        for (modifier, part) in [
            (json!({"case_insensitive": true}), "filters[0][3]"),
            (json!({"case_sensitive": "no"}), "case_sensitive"),
            (json!("i"), "filters[0][3]"),
        ] {
            let body = json!({"site_id": "a", "metrics": ["visitors"], "date_range": "day",
                "filters": [["is", "event:page", ["/"], modifier]]});
            assert!(error_of(body).contains(part), "{part}");
        }
    }

    #[test]
    fn hostname_filters_only_at_the_top_level_and_countries_are_two_letters() {
        let body = |filters: Value| json!({"site_id": "a", "metrics": ["visitors"], "date_range": "day", "filters": filters});
        assert!(parse(&body(json!([["is", "event:hostname", ["a.example"]]]))).is_ok());
        for nested in [
            json!([["not", ["is", "event:hostname", ["a.example"]]]]),
            json!([["and", [["contains", "event:hostname", ["a"]]]]]),
        ] {
            assert!(error_of(body(nested)).contains("can only be filtered at the top level"));
        }
        assert!(parse(&body(json!([["is", "visit:country", ["EE", "DE"]]]))).is_ok());
        // Only `is` and `is_not` take whole codes.
        assert!(parse(&body(json!([["contains", "visit:country", ["E"]]]))).is_ok());
        let message = error_of(body(json!([["is_not", "visit:country", ["EE", "EST"]]])));
        assert!(message.contains("`filters[0][2][1]`"), "{message}");
        assert!(message.contains("2-letter country code"), "{message}");
    }

    #[test]
    fn comparisons_take_plausibles_object() {
        let include = |v: Value| {
            parse(
                &json!({"site_id": "a", "metrics": ["visitors"], "date_range": "day",
                "include": {"comparisons": v}}),
            )
        };
        let c = |v: Value| include(v).unwrap().comparison;
        assert_eq!(c(json!(false)), None);
        assert_eq!(
            c(json!({"mode": "previous_period"})),
            Some(Comparison {
                mode: CompareMode::PreviousPeriod,
                match_day_of_week: false
            })
        );
        assert_eq!(
            c(json!({"mode": "year_over_year", "match_day_of_week": true})),
            Some(Comparison {
                mode: CompareMode::YearOverYear,
                match_day_of_week: true
            })
        );
        let day = |s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            c(json!({"mode": "custom", "date_range": ["2021-04-05", "2021-05-05"]}))
                .map(|c| c.mode),
            Some(CompareMode::Custom(day("2021-04-05"), day("2021-05-05")))
        );
        for (v, part) in [
            (json!(true), "include.comparisons"),
            (json!({"mode": "custom"}), "include.comparisons.date_range"),
            (
                json!({"mode": "custom", "date_range": ["2021-05-05", "2021-04-05"]}),
                "ends before",
            ),
            (
                json!({"mode": "custom", "date_range": ["2021-05-05T00:00:00Z", "2021-06-05T00:00:00Z"]}),
                "dates",
            ),
            (
                json!({"mode": "previous_period", "date_range": ["2021-04-05", "2021-05-05"]}),
                "custom",
            ),
            (json!({"mode": "weekly"}), "include.comparisons.mode"),
            (json!({}), "include.comparisons.mode"),
            (
                json!({"mode": "previous_period", "match_day_of_week": "yes"}),
                "match_day_of_week",
            ),
            (json!({"mode": "previous_period", "extra": 1}), "extra"),
        ] {
            match include(v.clone()) {
                Err(ApiError::BadQuery(m)) => {
                    assert!(m.contains(part), "{v}: `{m}` should name `{part}`")
                }
                other => panic!("{v}: {other:?}"),
            }
        }
    }

    #[test]
    fn date_times_parse() {
        let q = parse(&json!({"site_id": "a", "metrics": ["events"],
            "date_range": ["2024-01-01T10:00:00Z", "2024-01-01T12:00:00+02:00"]}))
        .unwrap();
        assert!(matches!(q.date_range, DateRange::DateTimes(..)));
    }
}
