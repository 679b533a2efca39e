//! The `filters` of a query: nested `and`/`or`/`not` trees of
//! `[op, dimension, values, modifiers]`, with their bounds (depth, values,
//! conditions, bytes), Plausible's placement rules and each value's checks
//! (lengths, `matches` patterns RE2 can run).

use super::{bad, strings};
use crate::api::pattern;
use crate::api::request::*;
use crate::error::ApiError;
use serde_json::Value;

pub(super) fn parse_filters(value: Option<&Value>) -> Result<Option<Filter>, ApiError> {
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
        pattern::check(value).map_err(|e| bad(format!("`{at}` {e}")))?;
    } else if value.len() > MAX_VALUE_LEN {
        return Err(bad(format!("`{at}` is longer than {MAX_VALUE_LEN} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::error_of;
    use super::*;
    use serde_json::json;

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
}
