//! The raw JSON object of an event body and its scalar fields: the name,
//! hash mode, interactive flag, counts (screen width, scroll depth,
//! engagement time) and the domain list.
//!
//! Deserialising straight into [`Fields`] skips building a map of every
//! key, which is most of the parsing time; the string fields borrow from
//! the body. The parsers of required fields return their message for the
//! caller to file under the field; those of optional fields never fail,
//! and record a value they cannot use in [`Ignored`].

use std::borrow::Cow;

use super::ignored::{Ignored, OptionalField};
use super::props::RawProps;
use super::{pieces, Page, MAX_DOMAINS, MAX_NAME_CHARS, NOT_STRING, NO_HOSTNAME, REQUIRED};
use crate::text::trim;
use compact_str::CompactString;
use serde_json::{Map, Value};

/// The top-level JSON object's known keys. Deserialising straight into
/// this struct skips building a map of every key, which is most of the
/// parsing time; unknown keys are skipped. A JSON `null` reads as absent.
/// The four string fields every beacon has are borrowed from the body.
#[derive(Default, serde::Deserialize)]
pub(super) struct Fields<'a> {
    #[serde(borrow)]
    n: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    u: Option<Text<'a>>,
    #[serde(borrow)]
    url: Option<Text<'a>>,
    #[serde(borrow)]
    d: Option<Text<'a>>,
    #[serde(borrow)]
    domain: Option<Text<'a>>,
    #[serde(borrow)]
    r: Option<Text<'a>>,
    #[serde(borrow)]
    referrer: Option<Text<'a>>,
    // The rarer fields are boxed: the struct is moved a few times per
    // beacon, and most of it is usually absent. `m` and `meta` are the
    // props of older Plausible trackers.
    m: Option<Box<RawProps>>,
    meta: Option<Box<RawProps>>,
    p: Option<Box<RawProps>>,
    props: Option<Box<RawProps>>,
    i: Option<Box<Value>>,
    interactive: Option<Box<Value>>,
    h: Option<Box<Value>>,
    #[serde(rename = "hashMode")]
    hash_mode: Option<Box<Value>>,
    #[serde(rename = "$")]
    dollar: Option<Box<Value>>,
    revenue: Option<Box<Value>>,
    w: Option<Value>,
    sd: Option<Box<Value>>,
    e: Option<Box<Value>>,
}

/// A field that should be a string: borrowed from the body when it holds
/// no escapes (the usual case), owned when it does, and any other JSON
/// value as itself, for the error message.
#[derive(Debug)]
pub(super) enum Text<'a> {
    Str(Cow<'a, str>),
    Other(Value),
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Text<'a>, E> {
        Ok(Text::Str(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Text<'a>, E> {
        Ok(Text::Str(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Text<'a>, E> {
        Ok(Text::Str(Cow::Owned(text)))
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Text<'a>, E> {
        Ok(Text::Other(Value::Bool(flag)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Text<'a>, E> {
        Ok(Text::Other(Value::from(n)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Text<'a>, E> {
        Ok(Text::Other(Value::from(n)))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Text<'a>, E> {
        Ok(Text::Other(Value::from(n)))
    }

    fn visit_unit<E>(self) -> Result<Text<'a>, E> {
        Ok(Text::Other(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Text<'a>, E> {
        Ok(Text::Other(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Text<'a>, A::Error> {
        let items = serde::de::value::SeqAccessDeserializer::new(seq);
        Ok(Text::Other(serde::Deserialize::deserialize(items)?))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Text<'a>, A::Error> {
        let entries = serde::de::value::MapAccessDeserializer::new(map);
        Ok(Text::Other(serde::Deserialize::deserialize(entries)?))
    }
}

impl Fields<'_> {
    /// The tracker sends short keys, hand-written integrations long ones; short wins.
    pub(super) fn get(&self, short: &str, long: &str) -> Option<&Value> {
        self.one(short).or_else(|| self.one(long))
    }

    /// A string field, short key first.
    pub(super) fn text(&self, short: &str, long: &str) -> Option<&Text<'_>> {
        let field = |key| match key {
            "n" => self.n.as_ref(),
            "name" => self.name.as_ref(),
            "u" => self.u.as_ref(),
            "url" => self.url.as_ref(),
            "d" => self.d.as_ref(),
            "domain" => self.domain.as_ref(),
            "r" => self.r.as_ref(),
            "referrer" => self.referrer.as_ref(),
            _ => None,
        };
        field(short).or_else(|| field(long))
    }

    /// The props, moved out: `m`, `meta`, `p` or `props`, the first that is
    /// there, in Plausible's order.
    pub(super) fn take_props(&mut self) -> Option<RawProps> {
        let first = [&mut self.m, &mut self.meta, &mut self.p, &mut self.props]
            .into_iter()
            .find(|field| field.is_some())?;
        first.take().map(|props| *props)
    }

    pub(super) fn one(&self, key: &str) -> Option<&Value> {
        let field = match key {
            "i" => &self.i,
            "interactive" => &self.interactive,
            "h" => &self.h,
            "hashMode" => &self.hash_mode,
            "$" => &self.dollar,
            "revenue" => &self.revenue,
            "w" => return self.w.as_ref(),
            "sd" => &self.sd,
            "e" => &self.e,
            _ => return None,
        };
        field.as_deref()
    }
}

pub(super) fn parse_object(body: &[u8]) -> Result<Fields<'_>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not valid UTF-8".to_owned())?;
    // serde_json's recursion limit (128) turns deeply nested input into an
    // ordinary error here instead of a stack overflow.
    let invalid = |err: serde_json::Error| format!("invalid JSON: {err}");
    // A struct would also accept a JSON array, so the object is checked for
    // first; anything else is either some other JSON value or not JSON.
    if !text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text).map_err(invalid)?;
        return Err("expected a JSON object".to_owned());
    }
    match serde_json::from_str(text) {
        // A repeated key: read it as a map, where the last value wins, as
        // Plausible's own parser does.
        Err(err) if err.to_string().starts_with("duplicate field") => {
            let map: Map<String, Value> = serde_json::from_str(text).map_err(invalid)?;
            serde::Deserialize::deserialize(Value::Object(map)).map_err(invalid)
        }
        parsed => parsed.map_err(invalid),
    }
}

pub(super) fn required_string<'t>(value: Option<&'t Text>) -> Result<&'t str, String> {
    match value {
        None | Some(Text::Other(Value::Null)) => Err(REQUIRED.to_owned()),
        Some(Text::Str(text)) => Ok(text),
        Some(Text::Other(_)) => Err(NOT_STRING.to_owned()),
    }
}

/// A string, or a whole number as Plausible takes it (`404` for 404 pages)
/// and stores as its digits.
pub(super) fn parse_name(value: Option<&Text>) -> Result<CompactString, String> {
    let name = match value {
        // JSON integers only: `404.0` or `1e3` is no name.
        Some(Text::Other(Value::Number(n))) if !n.is_f64() => return Ok(n.to_string().into()),
        Some(Text::Other(value)) if !value.is_null() => return Err(NOT_NAME.to_owned()),
        _ => trim(required_string(value)?),
    };
    if name.is_empty() {
        return Err(REQUIRED.to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    Ok(name.into())
}

const NOT_NAME: &str = "must be a string or a whole number";

/// `1`, `0`, `true` or `false`, or `"1"` and `"0"` as Plausible reads them;
/// anything else is no hash mode, and recorded.
pub(super) fn parse_hash_mode(value: Option<&Value>, ignored: &mut Ignored) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(Value::String(text)) if text == "1" => true,
        Some(Value::String(text)) if text == "0" => false,
        Some(_) => {
            ignored.add(OptionalField::HashMode);
            false
        }
    }
}

/// The `d` list; without one, the page's host (as Plausible takes it) when
/// the page has one. Stops at the first domain past the limit so a huge
/// list costs little.
pub(super) fn parse_domains(
    value: Option<&Text>,
    page: Option<&Page>,
) -> Result<Vec<String>, String> {
    if matches!(value, None | Some(Text::Other(Value::Null))) {
        return match page {
            Some(page) if page.hostname != NO_HOSTNAME => Ok(vec![page.hostname.to_string()]),
            Some(_) => Err(format!(
                "{REQUIRED} when the url has no host to take it from"
            )),
            None => Err(REQUIRED.to_owned()),
        };
    }
    let mut domains: Vec<String> = Vec::new();
    for item in pieces(required_string(value)?, b',') {
        let item = trim(item);
        // Unicode lowercasing only when needed: domains are nearly always ASCII.
        let domain = if item.is_ascii() {
            item.to_ascii_lowercase()
        } else {
            item.to_lowercase()
        };
        if domain.is_empty() || domains.contains(&domain) {
            continue;
        }
        if domains.len() == MAX_DOMAINS {
            return Err(format!("must list at most {MAX_DOMAINS} domains"));
        }
        domains.push(domain);
    }
    if domains.is_empty() {
        return Err(REQUIRED.to_owned());
    }
    Ok(domains)
}

/// A boolean; anything else is the default, `true`, and recorded.
pub(super) fn parse_interactive(value: Option<&Value>, ignored: &mut Ignored) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            ignored.add(OptionalField::Interactive);
            true
        }
    }
}

/// A count clamped to `max`; anything but a whole number (or a string of
/// digits, as Plausible reads `sd` and `e`) is left out and recorded.
pub(super) fn parse_count(
    value: Option<&Value>,
    max: u64,
    field: OptionalField,
    ignored: &mut Ignored,
) -> Option<u64> {
    let n = match value? {
        Value::Null => return None,
        Value::String(text) => text.parse::<u64>().ok(),
        value => whole_number(value),
    };
    if n.is_none() {
        ignored.add(field);
    }
    n.map(|n| n.min(max))
}

/// A whole percent (`sd`) clamped to 0..=100: a scroll position above the
/// top or past the end is still the top or the end. Plausible leaves a
/// negative `sd` out instead; we clamp it, as for values over 100.
pub(super) fn parse_percent(value: Option<&Value>, ignored: &mut Ignored) -> Option<u8> {
    let n = match value? {
        Value::Null => return None,
        Value::String(text) => text.parse::<i64>().ok(),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        _ => None,
    };
    if n.is_none() {
        ignored.add(OptionalField::ScrollDepth);
    }
    n.map(|n| u8::try_from(n.clamp(0, 100)).expect("0..=100 fits"))
}

/// Whole-valued floats such as `1280.0` are accepted; huge ones saturate.
fn whole_number(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    match value.as_f64() {
        // `as` saturates, which is the clamping we want for out-of-range values.
        Some(f) if f >= 0.0 && f.fract() == 0.0 => Some(f as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::beacon::tests::{errors, expected, ok, with};
    use crate::beacon::OptionalField;

    #[test]
    fn escaped_and_plain_strings_read_the_same() {
        let plain = ok(
            r#"{"n":"pageview","u":"https://example.com/a/b","d":"example.com","r":"https://t.co/x"}"#,
        );
        let escaped = ok(
            r#"{"n":"page\u0076iew","u":"https:\/\/example.com\/a\/b","d":"exa\u006dple.com","r":"https:\/\/t.co\/x"}"#,
        );
        assert_eq!(plain, escaped);
    }

    #[test]
    fn short_key_wins_over_long() {
        let beacon = ok(
            r#"{"n":"short","name":"long","u":"https://a.example/","url":"not a url",
            "d":"a.example","domain":7,"i":false,"interactive":"bad"}"#,
        );
        assert_eq!(beacon.name, "short");
        assert_eq!(beacon.page.hostname, "a.example");
        assert_eq!(beacon.domains, vec!["a.example".to_string()]);
        assert!(!beacon.interactive);
    }

    #[test]
    fn unknown_keys_and_version_ignored() {
        let beacon = ok(&with(r#""v":23,"something":{"deep":[1,2]},"m":null"#));
        assert_eq!(beacon.name, "pageview");
        assert_eq!(beacon.props, vec![]);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let beacon = ok(r#"{"n":"first","n":"pageview","u":"https://a.example/","d":"a.example"}"#);
        assert_eq!(beacon.name, "pageview");
    }

    /// A valid event with `extra`, and whether it recorded `field` as left out.
    fn left_out(extra: &str, field: OptionalField) -> (crate::beacon::Beacon, bool) {
        let beacon = ok(&with(extra));
        let ignored = beacon.ignored.contains(field);
        (beacon, ignored)
    }

    #[test]
    fn hash_mode_values() {
        let path = |extra: &str| {
            let body = format!(
                r#"{{"n":"pageview","u":"https://a.example/app#/r","d":"a.example",{extra}}}"#
            );
            let beacon = ok(&body);
            (
                beacon.page.pathname.to_string(),
                beacon.ignored.contains(OptionalField::HashMode),
            )
        };
        for on in [r#""h":1"#, r#""h":true"#, r#""h":"1""#, r#""hashMode":1"#] {
            assert_eq!(path(on), ("/app#/r".to_string(), false), "{on}");
        }
        for off in [r#""h":0"#, r#""h":false"#, r#""h":"0""#, r#""h":null"#] {
            assert_eq!(path(off), ("/app".to_string(), false), "{off}");
        }
        for bad in [r#""h":2"#, r#""h":"x""#, r#""hashMode":1.5"#, r#""h":[1]"#] {
            assert_eq!(path(bad), ("/app".to_string(), true), "{bad}");
        }
    }

    #[test]
    fn name_length_counts_characters() {
        let name_120 = "é".repeat(120); // 240 bytes, still within the limit
        let beacon = ok(&format!(
            r#"{{"n":"{name_120}","u":"https://example.com/","d":"example.com"}}"#
        ));
        assert_eq!(beacon.name.chars().count(), 120);
        let name_121 = "é".repeat(121);
        let body = format!(r#"{{"n":"{name_121}","u":"https://example.com/","d":"example.com"}}"#);
        assert_eq!(
            errors(&body),
            expected(&[("name", &["must be at most 120 characters"])])
        );
    }

    #[test]
    fn domain_list_normalised() {
        let beacon = ok(r#"{"n":"pageview","u":"https://example.com/",
            "d":" Example.com, ,shop.example.com,EXAMPLE.com,,blog.example.com "}"#);
        let want: Vec<String> = vec![
            "example.com".into(),
            "shop.example.com".into(),
            "blog.example.com".into(),
        ];
        assert_eq!(beacon.domains, want);
    }

    #[test]
    fn domain_limit() {
        let ten = "a.com,b.com,c.com,d.com,e.com,f.com,g.com,h.com,i.com,j.com";
        let beacon = ok(&format!(
            r#"{{"n":"x","u":"https://a.com/","d":"{ten},a.com,J.com"}}"#
        ));
        assert_eq!(beacon.domains.len(), 10);
        let body = format!(r#"{{"n":"x","u":"https://a.com/","d":"{ten},k.com"}}"#);
        assert_eq!(
            errors(&body),
            expected(&[("domain", &["must list at most 10 domains"])])
        );
    }

    #[test]
    fn interactive_flag() {
        assert!(ok(&with(r#""v":1"#)).interactive);
        assert!(ok(&with(r#""i":null"#)).interactive);
        assert!(!ok(&with(r#""i":false"#)).interactive);
        for bad in [r#""i":0"#, r#""interactive":"no""#, r#""i":"false""#] {
            let (beacon, ignored) = left_out(bad, OptionalField::Interactive);
            assert!(beacon.interactive && ignored, "{bad}");
        }
    }

    #[test]
    fn screen_width() {
        assert_eq!(ok(&with(r#""w":0"#)).screen_width, Some(0));
        assert_eq!(ok(&with(r#""w":1280.0"#)).screen_width, Some(1280));
        assert_eq!(ok(&with(r#""w":"1280""#)).screen_width, Some(1280));
        assert_eq!(ok(&with(r#""w":100000"#)).screen_width, Some(65535));
        assert_eq!(ok(&with(r#""w":1e30"#)).screen_width, Some(65535));
        assert_eq!(ok(&with(r#""w":null"#)).screen_width, None);
        for bad in [r#""w":-1"#, r#""w":12.5"#, r#""w":"wide""#, r#""w":true"#] {
            let (beacon, ignored) = left_out(bad, OptionalField::ScreenWidth);
            assert_eq!((beacon.screen_width, ignored), (None, true), "{bad}");
        }
    }

    /// An engagement beacon with `extra` fields.
    fn engaged(extra: &str) -> crate::beacon::Beacon {
        ok(&format!(
            r#"{{"n":"engagement","u":"https://example.com/","d":"example.com",{extra}}}"#
        ))
    }

    #[test]
    fn scroll_depth_and_engagement_time() {
        let depth = |sd: &str| engaged(&format!(r#""e":1,"sd":{sd}"#));
        assert_eq!(depth("100").scroll_depth, Some(100));
        assert_eq!(depth("150").scroll_depth, Some(100));
        assert_eq!(depth(r#""50""#).scroll_depth, Some(50));
        assert_eq!(depth("40.0").scroll_depth, Some(40));
        // Clamped below as well (Plausible leaves a negative one out).
        assert_eq!(depth("-5").scroll_depth, Some(0));
        assert_eq!(depth(r#""-5""#).scroll_depth, Some(0));
        assert_eq!(depth("1e30").scroll_depth, Some(100));
        let time = |e: &str| engaged(&format!(r#""sd":1,"e":{e}"#));
        assert_eq!(time(r#""12""#).engagement_ms, Some(12));
        assert_eq!(time("5000000000").engagement_ms, Some(4294967295));
        for bad in [r#""5%""#, "12.5", "[1]"] {
            let beacon = depth(bad);
            let ignored = beacon.ignored.contains(OptionalField::ScrollDepth);
            assert_eq!((beacon.scroll_depth, ignored), (None, true), "{bad}");
        }
        for bad in ["-1", "[1]", "1.5"] {
            let beacon = time(bad);
            let ignored = beacon.ignored.contains(OptionalField::EngagementTime);
            assert_eq!((beacon.engagement_ms, ignored), (None, true), "{bad}");
        }
    }

    #[test]
    fn depth_and_time_are_left_out_of_other_events() {
        for extra in [r#""sd":50"#, r#""sd":"x""#] {
            let (beacon, ignored) = left_out(extra, OptionalField::ScrollDepth);
            assert_eq!((beacon.scroll_depth, ignored), (None, true), "{extra}");
        }
        let (beacon, ignored) = left_out(r#""e":1500"#, OptionalField::EngagementTime);
        assert_eq!((beacon.engagement_ms, ignored), (None, true));
        let custom =
            ok(r#"{"n":"Signup","u":"https://example.com/","d":"example.com","sd":5,"e":6}"#);
        assert_eq!((custom.scroll_depth, custom.engagement_ms), (None, None));
        // Absent is not left out.
        assert!(ok(&with(r#""w":5"#)).ignored.is_empty());
    }

    #[test]
    fn an_engagement_needs_depth_or_time() {
        let got =
            errors(r#"{"n":"engagement","u":"https://example.com/","d":"example.com","sd":"x"}"#);
        assert_eq!(got.0.keys().collect::<Vec<_>>(), ["name"]);
        assert_eq!(engaged(r#""e":0"#).scroll_depth, None);
        assert_eq!(engaged(r#""sd":0"#).engagement_ms, None);
    }

    #[test]
    fn a_whole_number_name_is_stored_as_its_digits() {
        let named = |n: &str| {
            ok(&format!(
                r#"{{"n":{n},"u":"https://a.example/","d":"a.example"}}"#
            ))
            .name
        };
        assert_eq!(named("404"), "404");
        assert_eq!(named("-1"), "-1");
        assert_eq!(named("18446744073709551615"), "18446744073709551615");
        let want = vec!["must be a string or a whole number".to_string()];
        for bad in ["1.5", "true", "[1]", r#"{"a":1}"#] {
            let body = format!(r#"{{"n":{bad},"u":"https://a.example/","d":"a.example"}}"#);
            assert_eq!(errors(&body).0.get("name"), Some(&want), "name {bad}");
        }
    }

    #[test]
    fn without_a_domain_the_site_is_the_pages_host() {
        let derived = ok(r#"{"n":"pageview","u":"https://WWW.Example.com/x"}"#);
        assert_eq!(derived.domains, vec!["example.com".to_string()]);
        let null = ok(r#"{"n":"pageview","u":"https://shop.example.com/","d":null}"#);
        assert_eq!(null.domains, vec!["shop.example.com".to_string()]);
        // No host to take it from: the domain is still required.
        let hostless = errors(r#"{"n":"pageview","u":"/just/a/path"}"#);
        assert_eq!(
            hostless.0.keys().collect::<Vec<_>>(),
            vec!["domain"],
            "{hostless:?}"
        );
    }
}
