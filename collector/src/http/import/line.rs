//! One import line: a beacon (parsed by [`crate::beacon`], so it is
//! validated exactly as `/api/event` validates it) plus what a server-side
//! event must say for itself: `timestamp` (RFC 3339), `ip` and `user_agent`.
//!
//! Error messages name fields and never quote the address or user agent.

use crate::beacon::{self, Beacon, FieldErrors};
use crate::clock::day_of;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// How far ahead of the collector's clock a timestamp may be: the sender's
/// clock may run a little fast.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;

/// A valid line. No `Debug`: it holds the address and the user agent.
pub struct ImportLine {
    pub beacon: Beacon,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
    pub ip: IpAddr,
    pub user_agent: String,
}

/// The fields beyond the beacon's. Unknown keys (the beacon's) are skipped;
/// a JSON `null` reads as absent.
#[derive(Default, serde::Deserialize)]
struct Extras {
    timestamp: Option<Value>,
    ip: Option<Value>,
    user_agent: Option<Value>,
}

/// Parses a line, reporting every invalid field at once as one message.
pub fn parse(bytes: &[u8]) -> Result<ImportLine, String> {
    let beacon = beacon::parse(bytes);
    if let Err(errors) = &beacon {
        // Not a JSON object at all: nothing more to say.
        if errors.0.contains_key("request") {
            return Err(message(errors));
        }
    }
    let mut errors = beacon.as_ref().err().cloned().unwrap_or_default();
    let extras = parse_extras(bytes).unwrap_or_default();
    let timestamp = keep(
        &mut errors,
        "timestamp",
        parse_timestamp(extras.timestamp.as_ref()),
    );
    let ip = keep(&mut errors, "ip", parse_ip(extras.ip.as_ref()));
    let user_agent = keep(
        &mut errors,
        "user_agent",
        parse_user_agent(extras.user_agent.as_ref()),
    );
    match (beacon, timestamp, ip, user_agent) {
        (Ok(beacon), Some(timestamp), Some(ip), Some(user_agent)) if errors.is_empty() => {
            Ok(ImportLine {
                beacon,
                timestamp,
                ip,
                user_agent,
            })
        }
        _ => Err(message(&errors)),
    }
}

/// Refuses timestamps ahead of the collector's clock by more than the skew,
/// and those on a UTC day that has not begun here: that day has no salt yet.
pub fn check_timestamp(timestamp: u64, now: u64) -> Result<(), String> {
    if timestamp > now + MAX_CLOCK_SKEW_SECONDS {
        return Err(format!(
            "timestamp: is more than {MAX_CLOCK_SKEW_SECONDS} seconds in the future"
        ));
    }
    if day_of(timestamp) > day_of(now) {
        return Err(
            "timestamp: is on a UTC day that has not begun on the collector's clock".into(),
        );
    }
    Ok(())
}

/// `field: message; field: message`, in field order.
fn message(errors: &FieldErrors) -> String {
    let parts: Vec<String> = errors
        .0
        .iter()
        .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
        .collect();
    parts.join("; ")
}

fn keep<T>(errors: &mut FieldErrors, field: &str, result: Result<T, &str>) -> Option<T> {
    result.map_err(|msg| errors.add(field, msg)).ok()
}

/// The beacon parser has already accepted the JSON; a repeated key is read
/// as a map where the last value wins, as the beacon parser does.
fn parse_extras(bytes: &[u8]) -> Option<Extras> {
    match serde_json::from_slice(bytes) {
        Err(e) if e.to_string().starts_with("duplicate field") => {
            let map: Map<String, Value> = serde_json::from_slice(bytes).ok()?;
            serde_json::from_value(Value::Object(map)).ok()
        }
        parsed => parsed.ok(),
    }
}

fn required_string(value: Option<&Value>) -> Result<&str, &'static str> {
    match value {
        None | Some(Value::Null) => Err("is required"),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim()),
        Some(Value::String(_)) => Err("is required"),
        Some(_) => Err("must be a string"),
    }
}

fn parse_timestamp(value: Option<&Value>) -> Result<u64, &'static str> {
    let text = required_string(value)?;
    rfc3339_seconds(text)
        .ok_or("must be an RFC 3339 date-time after 1970, such as 2025-01-31T12:00:00Z")
}

fn parse_ip(value: Option<&Value>) -> Result<IpAddr, &'static str> {
    required_string(value)?
        .parse()
        .map_err(|_| "must be an IPv4 or IPv6 address")
}

fn parse_user_agent(value: Option<&Value>) -> Result<String, &'static str> {
    required_string(value).map(str::to_owned)
}

/// Seconds since the Unix epoch of an RFC 3339 date-time
/// (`2025-01-31T12:00:00Z`, `2025-01-31t12:00:00.25+01:00`; a space for the
/// `T` as RFC 3339 allows). Fractions are cut; a leap second counts as the
/// second before it. `None` when malformed or before 1970.
pub fn rfc3339_seconds(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let valid_date = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    if !valid_date || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = offset_seconds(skip_fraction(&b[19..])?)?;
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59);
    u64::try_from(local - offset).ok()
}

/// What follows the seconds, past an optional `.digits` fraction.
fn skip_fraction(rest: &[u8]) -> Option<&[u8]> {
    let Some(fraction) = rest.strip_prefix(b".") else {
        return Some(rest);
    };
    let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
    (n > 0).then(|| &fraction[n..])
}

/// `Z` or `±HH:MM`, as seconds east of UTC.
fn offset_seconds(zone: &[u8]) -> Option<i64> {
    match zone {
        b"Z" | b"z" => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3_600 + minutes * 60;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_timestamps() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_seconds("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            rfc3339_seconds("2023-11-14t23:13:20.999+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(
            rfc3339_seconds("2023-11-14 17:13:20-05:00"),
            Some(1_700_000_000)
        );
        assert_eq!(rfc3339_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(rfc3339_seconds("2016-12-31T23:59:60Z"), Some(1_483_228_799));
        assert_eq!(rfc3339_seconds("2100-03-01T00:00:00Z"), Some(4_107_542_400));
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20+0100",
            "2023-11-14T22:13:20.Z",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14X22:13:20Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "２０２３-11-14T22:13:20Z",
            "+2023-11-14T22:13:20Z",
        ] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_valid_line() {
        let line = br#"{"name":"Signup","url":"https://example.com/a?utm_source=x","domain":"example.com",
            "timestamp":"2023-11-14T22:13:20Z","ip":"203.0.113.9","user_agent":"UA/1","props":{"plan":"pro"},
            "revenue":{"amount":"9.5","currency":"EUR"},"interactive":false}"#;
        let line = parse(line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line.timestamp, 1_700_000_000);
        assert_eq!(line.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(line.user_agent, "UA/1");
        assert_eq!(line.beacon.name, "Signup");
        assert_eq!(line.beacon.page.pathname, "/a");
        assert_eq!(line.beacon.props, vec![("plan".into(), "pro".into())]);
        assert!(!line.beacon.interactive);
        assert_eq!(line.beacon.revenue.unwrap().currency, "EUR");
    }

    #[test]
    fn every_problem_is_named_without_quoting_the_address_or_agent() {
        let line = br#"{"name":"pageview","domain":"example.com","timestamp":"yesterday","ip":"203.0.113.999","user_agent":7}"#;
        let error = parse(line).err().unwrap();
        assert_eq!(
            error,
            "ip: must be an IPv4 or IPv6 address; \
             timestamp: must be an RFC 3339 date-time after 1970, such as 2025-01-31T12:00:00Z; \
             url: is required; user_agent: must be a string"
        );
        assert!(!error.contains("203.0.113"));
    }

    #[test]
    fn missing_fields_and_bad_json() {
        let error =
            parse(br#"{"name":"pageview","url":"https://example.com/","domain":"example.com"}"#)
                .err()
                .unwrap();
        assert_eq!(
            error,
            "ip: is required; timestamp: is required; user_agent: is required"
        );
        assert!(parse(b"{not json")
            .err()
            .unwrap()
            .starts_with("request: invalid JSON"));
        assert_eq!(
            parse(b"[1]").err().unwrap(),
            "request: expected a JSON object"
        );
    }

    #[test]
    fn timestamps_too_far_ahead_or_on_a_day_not_begun() {
        let now = 20_000 * 86_400 + 3_600;
        assert!(check_timestamp(now + MAX_CLOCK_SKEW_SECONDS, now).is_ok());
        assert!(check_timestamp(now + MAX_CLOCK_SKEW_SECONDS + 1, now).is_err());
        assert!(check_timestamp(0, now).is_ok());
        let before_midnight = 20_001 * 86_400 - 60;
        assert!(check_timestamp(before_midnight + 30, before_midnight).is_ok());
        let error = check_timestamp(before_midnight + 120, before_midnight).unwrap_err();
        assert!(error.contains("has not begun"), "{error}");
    }
}
