//! Custom properties (`p`/`props`, or the legacy `m`/`meta` older trackers
//! send): an object, or a string holding one. Scalars are kept as strings;
//! nulls, nested values and pairs over the key or value limit are dropped
//! (Plausible drops the first two and refuses the event over the third; we
//! never lose a pageview over an optional field). Past 30 pairs, the first
//! 30 in the body's order are kept. Props that are not an object are
//! dropped whole. What was dropped, other than nulls, is recorded in
//! [`Ignored`].
//!
//! The object is read straight from the body into a list in the body's
//! order: a map would sort the keys (or not, depending on serde_json's
//! features), and which 30 are kept must depend on neither.

use super::ignored::{Ignored, OptionalField};
use super::{MAX_PROPS, MAX_PROP_KEY_BYTES, MAX_PROP_VALUE_BYTES};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The raw props field, as sent.
#[derive(Debug)]
pub(super) enum RawProps {
    /// An object's pairs, in the body's order.
    Object(Vec<(String, PropValue)>),
    /// A string, which may hold an object as JSON text.
    Text(String),
    /// A number, boolean or array: no props in it.
    Other,
}

/// One property's value, as sent.
#[derive(Debug)]
pub(super) enum PropValue {
    Text(String),
    /// A number or a boolean, as its JSON text.
    Scalar(String),
    Null,
    /// An array or an object, which is not kept.
    Nested,
}

/// The props to store, sorted by key, and what was left out in `ignored`.
pub(super) fn parse_props(raw: Option<RawProps>, ignored: &mut Ignored) -> Vec<(String, String)> {
    let pairs = match raw {
        None => return Vec::new(),
        Some(RawProps::Object(pairs)) => pairs,
        Some(RawProps::Text(text)) => match serde_json::from_str::<Option<RawProps>>(&text) {
            Ok(Some(RawProps::Object(pairs))) => pairs,
            Ok(None) => return Vec::new(),
            _ => {
                ignored.add(OptionalField::Props);
                return Vec::new();
            }
        },
        Some(RawProps::Other) => {
            ignored.add(OptionalField::Props);
            return Vec::new();
        }
    };
    let (mut props, dropped) = keep_props(pairs);
    if dropped {
        ignored.add(OptionalField::Props);
    }
    // Stored sorted by key, whatever order they came in.
    props.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    props
}

/// The first [`MAX_PROPS`] valid pairs in the body's order, and whether
/// anything but a null was dropped. A repeated key keeps its last value
/// (as a JSON map would) at its first place.
fn keep_props(pairs: Vec<(String, PropValue)>) -> (Vec<(String, String)>, bool) {
    let mut props: Vec<(String, String)> = Vec::with_capacity(pairs.len().min(MAX_PROPS));
    let mut dropped = false;
    for (key, value) in pairs {
        let kept = match value {
            PropValue::Null => None,
            PropValue::Text(value) | PropValue::Scalar(value) => {
                let fits = !key.trim().is_empty()
                    && key.len() <= MAX_PROP_KEY_BYTES
                    && value.len() <= MAX_PROP_VALUE_BYTES;
                dropped |= !fits;
                fits.then_some(value)
            }
            PropValue::Nested => {
                dropped = true;
                None
            }
        };
        // Few pairs, short keys: a scan beats hashing them.
        match (props.iter().position(|(k, _)| *k == key), kept) {
            (Some(at), Some(value)) => props[at].1 = value,
            (Some(at), None) => {
                props.remove(at);
            }
            (None, Some(_)) if props.len() == MAX_PROPS => dropped = true,
            (None, Some(value)) => props.push((key, value)),
            (None, None) => {}
        }
    }
    (props, dropped)
}

impl<'de> Deserialize<'de> for RawProps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawPropsVisitor)
    }
}

struct RawPropsVisitor;

impl<'de> Visitor<'de> for RawPropsVisitor {
    type Value = RawProps;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawProps, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<String, PropValue>()? {
            pairs.push(pair);
        }
        Ok(RawProps::Object(pairs))
    }

    fn visit_str<E>(self, text: &str) -> Result<RawProps, E> {
        Ok(RawProps::Text(text.to_owned()))
    }

    fn visit_string<E>(self, text: String) -> Result<RawProps, E> {
        Ok(RawProps::Text(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawProps, A::Error> {
        skip_seq(seq).map(|()| RawProps::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<RawProps, E> {
        Ok(RawProps::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<RawProps, E> {
        Ok(RawProps::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<RawProps, E> {
        Ok(RawProps::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<RawProps, E> {
        Ok(RawProps::Other)
    }

    fn visit_unit<E>(self) -> Result<RawProps, E> {
        Ok(RawProps::Other)
    }
}

impl<'de> Deserialize<'de> for PropValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PropValueVisitor)
    }
}

struct PropValueVisitor;

impl<'de> Visitor<'de> for PropValueVisitor {
    type Value = PropValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, text: &str) -> Result<PropValue, E> {
        Ok(PropValue::Text(text.to_owned()))
    }

    fn visit_string<E>(self, text: String) -> Result<PropValue, E> {
        Ok(PropValue::Text(text))
    }

    fn visit_bool<E>(self, flag: bool) -> Result<PropValue, E> {
        Ok(PropValue::Scalar(flag.to_string()))
    }

    fn visit_i64<E>(self, n: i64) -> Result<PropValue, E> {
        Ok(PropValue::Scalar(n.to_string()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<PropValue, E> {
        Ok(PropValue::Scalar(n.to_string()))
    }

    /// As serde_json writes it (`1e+30`, not thirty zeros); JSON has no NaN.
    fn visit_f64<E>(self, n: f64) -> Result<PropValue, E> {
        Ok(serde_json::Number::from_f64(n)
            .map_or(PropValue::Nested, |n| PropValue::Scalar(n.to_string())))
    }

    fn visit_unit<E>(self) -> Result<PropValue, E> {
        Ok(PropValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<PropValue, A::Error> {
        skip_seq(seq).map(|()| PropValue::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(PropValue::Nested)
    }
}

/// Reads past an array without keeping it. serde_json skips nested
/// values without recursing, so depth costs no stack here.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::beacon::ignored::OptionalField;
    use crate::beacon::parse;
    use crate::beacon::tests::{ok, pairs, with};

    fn props(json_value: &str) -> Vec<(String, String)> {
        ok(&with(&format!(r#""p":{json_value}"#))).props
    }

    /// Whether the beacon recorded its props as (partly) left out.
    fn props_ignored(json_value: &str) -> bool {
        let body = with(&format!(r#""p":{json_value}"#));
        parse(body.as_bytes())
            .unwrap()
            .ignored
            .contains(OptionalField::Props)
    }

    #[test]
    fn props_object_values_converted() {
        let got =
            props(r#"{"plan":"pro","seats":3,"ratio":1.5,"trial":false,"empty":"","big":1e30}"#);
        let want = pairs(&[
            ("big", "1e+30"),
            ("empty", ""),
            ("plan", "pro"),
            ("ratio", "1.5"),
            ("seats", "3"),
            ("trial", "false"),
        ]);
        assert_eq!(got, want);
        assert!(!props_ignored(r#"{"plan":"pro","seats":3}"#));
    }

    #[test]
    fn props_stringified_object() {
        let got = props(r#""{\"plan\":\"pro\",\"seats\":3}""#);
        assert_eq!(got, pairs(&[("plan", "pro"), ("seats", "3")]));
        assert_eq!(props(r#""null""#), vec![]);
        assert_eq!(props("null"), vec![]);
        assert_eq!(props("{}"), vec![]);
        for empty in [r#""null""#, "null", "{}", r#"{"a":null}"#] {
            assert!(!props_ignored(empty), "{empty} is no props, not bad ones");
        }
    }

    #[test]
    fn props_nested_null_and_empty_keys_dropped() {
        let got = props(r#"{"a":{"b":1},"c":[1,2],"d":null,"":"x","  ":"y","e":"kept"}"#);
        assert_eq!(got, pairs(&[("e", "kept")]));
        assert!(props_ignored(r#"{"a":{"b":1},"e":"kept"}"#));
    }

    #[test]
    fn props_that_are_not_an_object_are_dropped_and_the_event_kept() {
        for bad in [
            "[1,2]",
            r#""[1,2]""#,
            r#""not json""#,
            "true",
            "7",
            r#""\"x\"""#,
        ] {
            assert_eq!(props(bad), vec![], "props {bad}");
        }
    }

    #[test]
    fn a_pair_over_its_limits_is_dropped_and_the_rest_kept() {
        let long_key = "k".repeat(301);
        let long_value = "v".repeat(2001);
        let got = props(&format!(
            r#"{{"{long_key}":"v","plan":"{long_value}","a":"b","c":"d"}}"#
        ));
        assert_eq!(got, pairs(&[("a", "b"), ("c", "d")]));
        // At the limits, still kept.
        let (key_300, value_2000) = ("k".repeat(300), "v".repeat(2000));
        let got = props(&format!(r#"{{"{key_300}":"{value_2000}"}}"#));
        assert_eq!(got, vec![(key_300, value_2000)]);
    }

    /// `count` keys in the body's order `k{count-1}` down to `k00`, so the
    /// first ones in the body are the last ones sorted.
    fn descending_props(count: usize) -> (String, Vec<String>) {
        let keys: Vec<String> = (0..count).rev().map(|n| format!("k{n:02}")).collect();
        let items: Vec<String> = keys.iter().map(|k| format!(r#""{k}":"v""#)).collect();
        (format!("{{{}}}", items.join(",")), keys)
    }

    #[test]
    fn past_thirty_props_the_first_thirty_in_the_body_are_kept() {
        let (object, keys) = descending_props(35);
        let mut want: Vec<String> = keys[..30].to_vec();
        want.sort();
        let got: Vec<String> = props(&object).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, want);
        assert_eq!(got.first().map(String::as_str), Some("k05"));
        // The same from a string holding the object.
        let quoted = serde_json::to_string(&object).unwrap();
        let got: Vec<String> = props(&quoted).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn dropped_pairs_take_no_place_among_the_thirty() {
        let (object, keys) = descending_props(31);
        let with_bad = object.replacen(
            '{',
            r#"{"nested":{"a":1},"list":[1],"null":null,"":"x","#,
            1,
        );
        let mut want: Vec<String> = keys[..30].to_vec();
        want.sort();
        let got: Vec<String> = props(&with_bad).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_repeated_prop_key_keeps_its_last_value_once() {
        let got = props(r#"{"plan":"free","seats":2,"plan":"pro"}"#);
        assert_eq!(got, pairs(&[("plan", "pro"), ("seats", "2")]));
    }

    #[test]
    fn the_legacy_meta_keys_carry_props() {
        let legacy = ok(&with(r#""m":"{\"plan\":\"pro\"}""#)).props;
        assert_eq!(legacy, pairs(&[("plan", "pro")]));
        let long = ok(&with(r#""meta":{"plan":"pro"}"#)).props;
        assert_eq!(long, pairs(&[("plan", "pro")]));
    }
    #[test]
    fn whatever_is_left_out_is_recorded() {
        let (thirty_one, _) = descending_props(31);
        let long_key = format!(r#"{{"{}":"v"}}"#, "k".repeat(301));
        let long_value = format!(r#"{{"k":"{}"}}"#, "v".repeat(2001));
        for bad in [
            "[1,2]",
            "7",
            "true",
            r#""not json""#,
            r#""[1]""#,
            &thirty_one,
            &long_key,
            &long_value,
        ] {
            assert!(props_ignored(bad), "{bad}");
        }
        let (thirty, _) = descending_props(30);
        assert!(!props_ignored(&thirty));
    }
}
