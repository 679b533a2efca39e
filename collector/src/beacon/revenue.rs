//! Revenue attached to a goal: an amount, normalised to a plain decimal
//! (parsed exactly, never through `f64`), and a three-letter currency code.
//! An object, or a string holding one, as Plausible takes it. Revenue that
//! cannot be read is left out (and recorded in [`Ignored`]) rather than
//! refusing the event; an empty object, which the stock tracker sends for a
//! tagged element without revenue classes, is no revenue at all.

use super::ignored::{Ignored, OptionalField};
use super::Revenue;
use compact_str::CompactString;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// Revenue amounts longer than this are left out rather than normalised.
const MAX_AMOUNT_CHARS: usize = 100;

pub(super) fn parse_revenue(value: Option<&Value>, ignored: &mut Ignored) -> Option<Revenue> {
    let decoded;
    let map = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Object(map)) => map,
        Some(Value::String(text)) => {
            decoded = serde_json::from_str::<Map<String, Value>>(text).ok();
            match &decoded {
                Some(map) => map,
                None => {
                    ignored.add(OptionalField::Revenue);
                    return None;
                }
            }
        }
        Some(_) => {
            ignored.add(OptionalField::Revenue);
            return None;
        }
    };
    if map.is_empty() {
        return None;
    }
    let revenue = parse_amount(map.get("amount"))
        .zip(parse_currency(map.get("currency")))
        .map(|(amount, currency)| Revenue { amount, currency });
    if revenue.is_none() {
        ignored.add(OptionalField::Revenue);
    }
    revenue
}

fn parse_amount(value: Option<&Value>) -> Option<CompactString> {
    let text = match value? {
        Value::Number(n) => n.to_string(),
        Value::String(text) => text.clone(),
        _ => return None,
    };
    normalise_decimal(&text).map(CompactString::from)
}

/// Three ASCII letters, uppercased.
fn parse_currency(value: Option<&Value>) -> Option<CompactString> {
    match value? {
        Value::String(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(code.to_ascii_uppercase().into())
        }
        _ => None,
    }
}

/// A plain decimal without trailing zeros, parsed exactly (never through
/// `f64`), so `19.90` is stored as `19.9` and `NaN` or `inf` cannot occur.
fn normalise_decimal(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() > MAX_AMOUNT_CHARS {
        return None;
    }
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    parsed.ok().map(|d| d.normalize().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::tests::{ok, with};

    fn amount(json_value: &str) -> CompactString {
        let extra = format!(r#""$":{{"amount":{json_value},"currency":"usd"}}"#);
        ok(&with(&extra)).revenue.expect("revenue").amount
    }

    #[test]
    fn revenue_amount_normalised() {
        assert_eq!(amount("19.99"), "19.99");
        assert_eq!(amount("10"), "10");
        assert_eq!(amount("1e3"), "1000");
        assert_eq!(amount(r#""0012.3400""#), "12.34");
        assert_eq!(amount(r#"" -0.50 ""#), "-0.5");
        assert_eq!(amount(r#""-0.000""#), "0");
        assert_eq!(amount(r#""+.5""#), "0.5");
        assert_eq!(amount(r#""7.""#), "7");
        assert_eq!(amount(r#""1.5E2""#), "150");
        assert_eq!(amount(r#""25e-4""#), "0.0025");
        assert_eq!(
            amount(r#""12345678901234567890.01""#),
            "12345678901234567890.01"
        );
    }

    #[test]
    fn revenue_amount_rejected() {
        for bad in [
            "\"abc\"",
            "\"NaN\"",
            "\"Infinity\"",
            "\"1e400\"",
            "\"\"",
            "\".\"",
            "\"1.2.3\"",
            "\"0x10\"",
            "1e300",
            "[1]",
            "null",
        ] {
            let extra = format!(r#""$":{{"amount":{bad},"currency":"EUR"}}"#);
            assert_eq!(revenue_ignored(&extra), (None, true), "amount {bad}");
        }
    }

    #[test]
    fn revenue_currency() {
        let got = ok(&with(r#""revenue":{"amount":5,"currency":"gbp"}"#)).revenue;
        let want = Revenue {
            amount: "5".into(),
            currency: "GBP".into(),
        };
        assert_eq!(got, Some(want));
        for bad in [r#""EURO""#, "978", r#""E1R""#, r#""""#] {
            let extra = format!(r#""$":{{"amount":1,"currency":{bad}}}"#);
            assert_eq!(revenue_ignored(&extra), (None, true), "currency {bad}");
        }
        assert_eq!(revenue_ignored(r#""$":null"#), (None, false));
        assert_eq!(revenue_ignored(r#""$":{}"#), (None, false));
    }

    /// The revenue of a valid event with `extra`, and whether it was
    /// recorded as left out.
    fn revenue_ignored(extra: &str) -> (Option<Revenue>, bool) {
        let beacon = ok(&with(extra));
        (
            beacon.revenue,
            beacon.ignored.contains(OptionalField::Revenue),
        )
    }

    #[test]
    fn decimal_normaliser_edges() {
        assert_eq!(normalise_decimal("0"), Some("0".into()));
        assert_eq!(normalise_decimal("-0"), Some("0".into()));
        assert_eq!(normalise_decimal("000"), Some("0".into()));
        assert_eq!(normalise_decimal("1e20").map(|s| s.len()), Some(21));
        assert_eq!(normalise_decimal("1e-20").map(|s| s.len()), Some(22));
        // Beyond 28 significant digits or scale: refused, not rounded.
        assert_eq!(normalise_decimal("1e101"), None);
        assert_eq!(normalise_decimal("1e-100"), None);
        assert_eq!(normalise_decimal("123456789012345678901234567890.01"), None);
        assert_eq!(normalise_decimal("1e"), None);
        assert_eq!(normalise_decimal("e5"), None);
        assert_eq!(normalise_decimal("--1"), None);
        assert_eq!(normalise_decimal("1 000"), None);
        assert_eq!(normalise_decimal(&"1".repeat(101)), None);
    }
    fn revenue(json_value: &str) -> Option<Revenue> {
        ok(&with(&format!(r#""$":{json_value}"#))).revenue
    }

    #[test]
    fn invalid_revenue_is_dropped_and_the_event_kept() {
        for bad in [
            r#"{"amount":"lots","currency":"EUR"}"#,
            r#"{"amount":"1","currency":"EURO"}"#,
            r#"{"amount":1}"#,
            r#"{"currency":"EUR"}"#,
            r#"{"amount":[1],"currency":"EUR"}"#,
            r#"{"amount":1,"currency":978}"#,
            "6",
            "true",
            r#""not json""#,
        ] {
            assert_eq!(revenue(bad), None, "revenue {bad}");
        }
    }

    #[test]
    fn the_trackers_empty_revenue_object_means_none() {
        // The stock tracker sends `"$":{}` for a tagged element without revenue classes.
        assert_eq!(revenue("{}"), None);
    }

    #[test]
    fn revenue_may_be_a_string_holding_the_object() {
        let want = Revenue {
            amount: "20.2".into(),
            currency: "EUR".into(),
        };
        let got = revenue(r#""{\"amount\":20.2,\"currency\":\"EUR\"}""#);
        assert_eq!(got, Some(want));
    }
}
