//! Revenue attached to a goal: an amount, normalised to a plain decimal
//! (parsed exactly, never through `f64`), and a three-letter currency code.
//! Amount and currency problems are reported together, both under
//! `revenue`.

use super::{keep, FieldErrors, Revenue};
use compact_str::CompactString;
use rust_decimal::Decimal;
use serde_json::Value;

/// Revenue amounts longer than this are rejected rather than normalised.
const MAX_AMOUNT_CHARS: usize = 100;

/// Reports amount and currency problems separately, both under "revenue".
pub(super) fn parse_revenue(value: Option<&Value>, errors: &mut FieldErrors) -> Option<Revenue> {
    let map = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Object(map)) => map,
        Some(_) => {
            errors.add("revenue", "must be an object with amount and currency");
            return None;
        }
    };
    let amount = keep(errors, "revenue", parse_amount(map.get("amount")));
    let currency = keep(errors, "revenue", parse_currency(map.get("currency")));
    Some(Revenue {
        amount: amount?,
        currency: currency?,
    })
}

fn parse_amount(value: Option<&Value>) -> Result<CompactString, String> {
    let text = match value {
        None | Some(Value::Null) => return Err("amount is required".to_owned()),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err("amount must be a number or a numeric string".to_owned()),
    };
    normalise_decimal(&text)
        .map(CompactString::from)
        .ok_or_else(|| "amount must be a finite decimal number".to_owned())
}

fn parse_currency(value: Option<&Value>) -> Result<CompactString, String> {
    match value {
        None | Some(Value::Null) => Err("currency is required".to_owned()),
        Some(Value::String(code))
            if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            Ok(code.to_ascii_uppercase().into())
        }
        Some(Value::String(_)) => Err("currency must be a 3-letter ISO 4217 code".to_owned()),
        Some(_) => Err("currency must be a string".to_owned()),
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
    use crate::beacon::tests::{field_errors, ok, with};

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
        let want = vec!["amount must be a finite decimal number".to_string()];
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
        ] {
            let extra = format!(r#""$":{{"amount":{bad},"currency":"EUR"}}"#);
            assert_eq!(field_errors(&extra, "revenue"), want, "amount {bad}");
        }
        let extra = r#""$":{"amount":[1],"currency":"EUR"}"#;
        let want = vec!["amount must be a number or a numeric string".to_string()];
        assert_eq!(field_errors(extra, "revenue"), want);
    }

    #[test]
    fn revenue_currency_and_combined_errors() {
        let got = ok(&with(r#""revenue":{"amount":5,"currency":"gbp"}"#)).revenue;
        let want = Revenue {
            amount: "5".into(),
            currency: "GBP".into(),
        };
        assert_eq!(got, Some(want));
        let both = field_errors(r#""$":{"amount":"abc","currency":"EURO"}"#, "revenue");
        let want = vec![
            "amount must be a finite decimal number".to_string(),
            "currency must be a 3-letter ISO 4217 code".to_string(),
        ];
        assert_eq!(both, want);
        let missing = field_errors(r#""$":{}"#, "revenue");
        let want = vec![
            "amount is required".to_string(),
            "currency is required".to_string(),
        ];
        assert_eq!(missing, want);
        let wrong = field_errors(r#""$":{"amount":1,"currency":978}"#, "revenue");
        assert_eq!(wrong, vec!["currency must be a string".to_string()]);
        let digits = field_errors(r#""$":{"amount":1,"currency":"E1R"}"#, "revenue");
        assert_eq!(
            digits,
            vec!["currency must be a 3-letter ISO 4217 code".to_string()]
        );
        assert_eq!(ok(&with(r#""$":null"#)).revenue, None);
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
}
