//! `include`: total rows, time labels, and Plausible's `comparisons`
//! object (previous period, year over year, or custom dates).

use super::{bad, date_pair, strings};
use crate::api::request::*;
use crate::error::ApiError;
use serde_json::Value;

/// What `include` asks for.
#[derive(Debug, Default)]
pub(super) struct Include {
    pub(super) total_rows: bool,
    pub(super) time_labels: bool,
    pub(super) comparison: Option<Comparison>,
    pub(super) imports: bool,
}

pub(super) fn parse_include(
    value: Option<&Value>,
    dimensions: &[Dimension],
) -> Result<Include, ApiError> {
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
            "imports" => include.imports = flag,
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
    use super::super::parse;
    use super::*;
    use serde_json::json;

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
}
