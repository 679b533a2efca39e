//! Revenue in answers: a row's amounts per currency ([`Revenue`], as
//! ClickHouse's `sumMap` gives them) named in the currency of the row's
//! revenue goals, written as Plausible writes money:
//! `{"value": 1234.5, "currency": "EUR", "short": "€1.2K", "long": "€1,234.50"}`.
//!
//! There is no exchange-rate table: amounts sent in another currency than
//! their goal's are not converted but listed beside the goal's, under
//! `other_currencies` (see docs/stats-api.md, "Revenue").

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A row's revenue events: per currency, the sum of their amounts and how
/// many there were.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Revenue(pub BTreeMap<String, (f64, u64)>);

impl Revenue {
    /// From the two `sumMap` results (`[[currency...], [sum...]]` and
    /// `[[currency...], [count...]]`), or `None` if they are not that.
    pub fn from_sum_maps(sums: &Value, counts: &Value) -> Option<Self> {
        let pairs = |v: &Value| -> Option<Vec<(String, f64)>> {
            let [keys, values] = v.as_array()?.as_slice() else {
                return None;
            };
            let keys = keys.as_array()?;
            let values = values.as_array()?;
            keys.iter()
                .zip(values)
                .map(|(k, v)| {
                    let n = match v {
                        Value::String(s) => s.parse().ok()?,
                        other => other.as_f64()?,
                    };
                    Some((currency_code(k)?, n))
                })
                .collect()
        };
        let mut map = BTreeMap::new();
        for (currency, sum) in pairs(sums)? {
            map.entry(currency).or_insert((0.0, 0)).0 += sum;
        }
        for (currency, count) in pairs(counts)? {
            map.entry(currency).or_insert((0.0, 0)).1 += count as u64;
        }
        Some(Self(map))
    }
}

/// A currency key as the report's SQL writes it: the code's bytes as a
/// little-endian number (ClickHouse 18.16 sums maps by numeric keys only),
/// or the code itself.
fn currency_code(key: &Value) -> Option<String> {
    if let Some(code) = key.as_str() {
        return match code.parse::<u32>() {
            Ok(n) => currency_code(&Value::from(n)),
            Err(_) => Some(code.to_string()),
        };
    }
    let n = u32::try_from(key.as_u64()?).ok()?;
    let bytes: Vec<u8> = n
        .to_le_bytes()
        .into_iter()
        .take_while(|b| *b != 0)
        .collect();
    String::from_utf8(bytes).ok()
}

/// Which revenue number a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Total,
    Average,
}

/// The metric's value for a row in `currency` (its goals' one currency, if
/// they have one): `null` when the row has neither a currency nor revenue.
pub fn metric(kind: Kind, revenue: &Revenue, currency: Option<&str>) -> Value {
    let amount = |code: &str| {
        let (sum, count) = revenue.0.get(code).copied().unwrap_or((0.0, 0));
        match kind {
            Kind::Total => sum,
            Kind::Average if count == 0 => 0.0,
            Kind::Average => sum / count as f64,
        }
    };
    let others: Vec<Value> = revenue
        .0
        .keys()
        .filter(|code| Some(code.as_str()) != currency)
        .map(|code| money(amount(code), code))
        .collect();
    let mut value = match currency {
        Some(code) => money(amount(code), code),
        None if others.is_empty() => return Value::Null,
        None => json!({"value": null, "currency": null, "short": null, "long": null}),
    };
    if !others.is_empty() {
        value["other_currencies"] = Value::Array(others);
    }
    value
}

/// An amount in a currency, as Plausible writes it.
pub fn money(amount: f64, code: &str) -> Value {
    let amount = (amount * 100.0).round() / 100.0;
    json!({
        "value": amount,
        "currency": code,
        "short": format!("{}{}", symbol(code), short(amount)),
        "long": format!("{}{}", symbol(code), long(amount)),
    })
}

/// The currency's sign (`€`), or its code and a space where it has none.
fn symbol(code: &str) -> String {
    let sign = iso_currency::Currency::from_code(code).map(|c| c.symbol().symbol);
    match sign {
        Some(s) if !s.is_empty() => s,
        _ => format!("{code} "),
    }
}

/// `1,234.50`: two decimals, thousands grouped.
fn long(amount: f64) -> String {
    let text = format!("{:.2}", amount.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 { "-" } else { "" };
    format!("{sign}{grouped}.{cents}")
}

/// `500.0`, `1.2K`, `3.4M`, `5.6B`: one decimal, in thousands and up.
fn short(amount: f64) -> String {
    let abs = amount.abs();
    let (scaled, suffix) = if abs >= 1e9 {
        (amount / 1e9, "B")
    } else if abs >= 1e6 {
        (amount / 1e6, "M")
    } else if abs >= 1e3 {
        (amount / 1e3, "K")
    } else {
        (amount, "")
    };
    format!("{scaled:.1}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_plausible_writes_it() {
        assert_eq!(
            money(1234.5, "EUR"),
            json!({"value": 1234.5, "currency": "EUR", "short": "€1.2K", "long": "€1,234.50"})
        );
        assert_eq!(money(500.0, "USD")["short"], "$500.0");
        assert_eq!(money(1_234_567.891, "USD")["long"], "$1,234,567.89");
        assert_eq!(money(0.1 + 0.2, "USD")["value"], 0.3);
    }

    #[test]
    fn other_currencies_are_listed_beside_the_goals() {
        // EUR and USD as ClickHouse's `reinterpretAsUInt32` reads them.
        let (eur, usd) = (u32::from_le_bytes(*b"EUR\0"), u32::from_le_bytes(*b"USD\0"));
        let revenue = Revenue::from_sum_maps(
            &json!([[eur, usd], [30.5, 10]]),
            &json!([[eur, usd], ["2", "1"]]),
        )
        .unwrap();
        let total = metric(Kind::Total, &revenue, Some("EUR"));
        assert_eq!(total["value"], 30.5);
        assert_eq!(total["other_currencies"][0]["currency"], "USD");
        assert_eq!(total["other_currencies"][0]["value"], 10.0);
        assert_eq!(metric(Kind::Average, &revenue, Some("EUR"))["value"], 15.25);
        let empty = Revenue::default();
        assert_eq!(metric(Kind::Total, &empty, None), Value::Null);
        assert_eq!(metric(Kind::Total, &empty, Some("EUR"))["value"], 0.0);
        assert!(metric(Kind::Total, &revenue, None)["value"].is_null());
    }
}
