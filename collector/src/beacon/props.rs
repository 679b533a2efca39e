//! Custom properties (`p`/`props`): an object, or a string holding one as
//! the tracker sometimes sends. Scalars are kept as strings, nulls and
//! nested values dropped as Plausible drops them, and the count, key and
//! value limits checked, with long keys shortened in the messages.

use super::{FieldErrors, MAX_PROPS, MAX_PROP_KEY_BYTES, MAX_PROP_VALUE_BYTES};
use serde_json::{Map, Value};

/// Property keys quoted in error messages are cut to this many characters.
const KEY_PREVIEW_CHARS: usize = 50;

pub(super) fn parse_props(
    value: Option<&Value>,
    errors: &mut FieldErrors,
) -> Vec<(String, String)> {
    match collect_props(value) {
        Ok(props) => {
            check_props(&props, errors);
            props
        }
        Err(msg) => {
            errors.add("props", msg);
            Vec::new()
        }
    }
}

/// Accepts an object or, as the tracker sometimes sends, a string holding one.
fn collect_props(value: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    const NOT_OBJECT: &str = "must be an object";
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(flatten_props(map)),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(flatten_props(&map)),
            Ok(Value::Null) => Ok(Vec::new()),
            _ => Err(NOT_OBJECT.to_owned()),
        },
        Some(_) => Err(NOT_OBJECT.to_owned()),
    }
}

fn flatten_props(map: &Map<String, Value>) -> Vec<(String, String)> {
    let mut props: Vec<(String, String)> = map
        .iter()
        .filter(|(key, _)| !key.trim().is_empty())
        .filter_map(|(key, value)| Some((key.clone(), prop_value(value)?)))
        .collect();
    // Sorted so the order never depends on serde_json's map feature flags.
    props.sort();
    props
}

/// Plausible keeps scalars as strings and silently drops nulls and nested values.
fn prop_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Past the count limit only that is reported, which bounds the error list.
fn check_props(props: &[(String, String)], errors: &mut FieldErrors) {
    if props.len() > MAX_PROPS {
        errors.add("props", format!("at most {MAX_PROPS} properties"));
        return;
    }
    for (key, value) in props {
        if key.len() > MAX_PROP_KEY_BYTES {
            let msg = format!(
                "key {:?} is longer than {MAX_PROP_KEY_BYTES} bytes",
                preview(key)
            );
            errors.add("props", msg);
        }
        if value.len() > MAX_PROP_VALUE_BYTES {
            let msg = format!(
                "value of {:?} is longer than {MAX_PROP_VALUE_BYTES} bytes",
                preview(key)
            );
            errors.add("props", msg);
        }
    }
}

fn preview(key: &str) -> String {
    let mut chars = key.chars();
    let mut short: String = chars.by_ref().take(KEY_PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use crate::beacon::tests::{field_errors, ok, pairs, with};

    fn props(json_value: &str) -> Vec<(String, String)> {
        ok(&with(&format!(r#""p":{json_value}"#))).props
    }

    #[test]
    fn props_object_values_converted() {
        let got = props(r#"{"plan":"pro","seats":3,"ratio":1.5,"trial":false,"empty":""}"#);
        let want = pairs(&[
            ("empty", ""),
            ("plan", "pro"),
            ("ratio", "1.5"),
            ("seats", "3"),
            ("trial", "false"),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn props_stringified_object() {
        let got = props(r#""{\"plan\":\"pro\",\"seats\":3}""#);
        assert_eq!(got, pairs(&[("plan", "pro"), ("seats", "3")]));
        assert_eq!(props(r#""null""#), vec![]);
        assert_eq!(props("null"), vec![]);
        assert_eq!(props("{}"), vec![]);
    }

    #[test]
    fn props_nested_null_and_empty_keys_dropped() {
        let got = props(r#"{"a":{"b":1},"c":[1,2],"d":null,"":"x","  ":"y","e":"kept"}"#);
        assert_eq!(got, pairs(&[("e", "kept")]));
    }

    #[test]
    fn props_not_an_object() {
        let want = vec!["must be an object".to_string()];
        assert_eq!(field_errors(r#""p":[1,2]"#, "props"), want);
        assert_eq!(field_errors(r#""p":"[1,2]""#, "props"), want);
        assert_eq!(field_errors(r#""p":"not json""#, "props"), want);
        assert_eq!(field_errors(r#""props":true"#, "props"), want);
    }

    fn numbered_props(count: usize) -> String {
        let items: Vec<String> = (0..count).map(|i| format!(r#""k{i}":"v""#)).collect();
        format!("{{{}}}", items.join(","))
    }

    #[test]
    fn props_count_limit() {
        assert_eq!(props(&numbered_props(30)).len(), 30);
        let with_null = numbered_props(30).replacen('{', r#"{"dropped":null,"nested":[],"#, 1);
        assert_eq!(props(&with_null).len(), 30);
        let extra = format!(r#""p":{}"#, numbered_props(31));
        assert_eq!(
            field_errors(&extra, "props"),
            vec!["at most 30 properties".to_string()]
        );
    }

    #[test]
    fn props_long_key_named_in_error() {
        let ok_key = "k".repeat(300);
        assert_eq!(props(&format!(r#"{{"{ok_key}":"v"}}"#)).len(), 1);
        let long_key = "k".repeat(301);
        let got = field_errors(&format!(r#""p":{{"{long_key}":"v"}}"#), "props");
        let shown = "k".repeat(50);
        assert_eq!(
            got,
            vec![format!("key \"{shown}…\" is longer than 300 bytes")]
        );
    }

    #[test]
    fn props_long_value_named_in_error() {
        let ok_value = "v".repeat(2000);
        assert_eq!(props(&format!(r#"{{"plan":"{ok_value}"}}"#)).len(), 1);
        let long_value = "v".repeat(2001);
        let got = field_errors(
            &format!(r#""p":{{"plan":"{long_value}","a":"b"}}"#),
            "props",
        );
        assert_eq!(
            got,
            vec!["value of \"plan\" is longer than 2000 bytes".to_string()]
        );
    }
}
