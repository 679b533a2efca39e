//! Parsing and validation of `POST /api/event` bodies (Plausible Events API).
//!
//! The body is always read as JSON whatever its content type, because the
//! Plausible tracker sends `text/plain` to avoid a CORS preflight. Every field
//! is checked and all problems are reported together, so a misconfigured
//! integration can be fixed in one round trip.
//!
//! Only what analytics needs survives: the page host and path, the five UTM
//! tags, and the referrer host and path. Every other query parameter (click
//! ids, tokens, e-mail addresses in links) is dropped here so it can never
//! reach storage. Nothing in this module sees IPs, user agents or headers.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::text::{split_at_byte, trim};
use compact_str::CompactString;
use percent_encoding::percent_decode_str;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use url::Url;

/// Longest accepted event name, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest accepted page URL, in bytes.
pub const MAX_URL_BYTES: usize = 2000;
/// Referrers are truncated to this many bytes before parsing.
pub const MAX_REFERRER_BYTES: usize = 2000;
/// Most custom properties on one event.
pub const MAX_PROPS: usize = 30;
/// Longest custom property key, in bytes.
pub const MAX_PROP_KEY_BYTES: usize = 300;
/// Longest custom property value, in bytes.
pub const MAX_PROP_VALUE_BYTES: usize = 2000;
/// Most distinct domains in one `domain` list; guards against huge comma lists.
pub const MAX_DOMAINS: usize = 10;

/// Each UTM value is cut to this many bytes.
const MAX_UTM_BYTES: usize = 2000;
/// Revenue amounts longer than this are rejected rather than normalised.
const MAX_AMOUNT_CHARS: usize = 100;
/// Property keys quoted in error messages are cut to this many characters.
const KEY_PREVIEW_CHARS: usize = 50;

const REQUIRED: &str = "is required";
const NOT_STRING: &str = "must be a string";

/// What kind of event a beacon records, derived from its name.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// Name `pageview`.
    Pageview,
    /// Name `engagement`: time on page and scroll depth for a page already viewed.
    Engagement,
    /// Any other name: a custom goal.
    Custom,
}

/// A validated event.
#[derive(Debug, Clone, PartialEq)]
pub struct Beacon {
    /// Event name, trimmed.
    pub name: CompactString,
    pub kind: EventKind,
    /// Site domains from `d`/`domain`: trimmed, lowercased, deduplicated, in order.
    pub domains: Vec<String>,
    pub page: Page,
    /// `None` when absent, null, empty or unparsable.
    pub referrer: Option<Referrer>,
    /// Custom properties sorted by key.
    pub props: Vec<(String, String)>,
    /// `i`/`interactive`; non-interactive events do not affect bounce rate.
    pub interactive: bool,
    pub revenue: Option<Revenue>,
    /// `w`, clamped to `u16::MAX`.
    pub screen_width: Option<u16>,
    /// `sd`, clamped to 100.
    pub scroll_depth: Option<u8>,
    /// `e`, clamped to `u32::MAX`.
    pub engagement_ms: Option<u32>,
}

/// The page an event happened on, reduced to what analytics needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Lowercased host without a leading `www.`.
    pub hostname: CompactString,
    /// Percent-decoded path, `/` at least; `#fragment` appended in hash mode.
    pub pathname: CompactString,
    pub utm: Utm,
    pub tags: Tags,
}

/// Other attribution tags of the page URL: `source=` and `ref=` values, and
/// the name of a recognised click-id parameter (its value is never kept).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tags {
    pub source: CompactString,
    pub ref_param: CompactString,
    pub click_id_param: CompactString,
}

/// UTM tags from the page URL; empty when absent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Utm {
    pub source: CompactString,
    pub medium: CompactString,
    pub campaign: CompactString,
    pub content: CompactString,
    pub term: CompactString,
}

/// Where the visitor came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Referrer {
    /// Lowercased without `www.` for http(s); as the `url` crate gives it otherwise.
    pub host: CompactString,
    /// Path as the `url` crate gives it (percent-encoded), without query or fragment.
    pub path: CompactString,
}

/// Revenue attached to a goal.
#[derive(Debug, Clone, PartialEq)]
pub struct Revenue {
    /// Plain decimal without exponent, leading zeros or trailing fractional zeros.
    pub amount: CompactString,
    /// Three uppercase ASCII letters.
    pub currency: CompactString,
}

/// Field -> messages, serialised by the caller as `{"errors": {"field": ["message", ...]}}`.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// Records one more message for `field`.
    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(msg.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses and validates an event body, reporting every invalid field at once.
pub fn parse(body: &[u8]) -> Result<Beacon, FieldErrors> {
    let object = parse_object(body).map_err(|msg| {
        let mut errors = FieldErrors::default();
        errors.add("request", msg);
        errors
    })?;
    let mut errors = FieldErrors::default();
    let beacon = parse_fields(&object, &mut errors);
    match beacon {
        Some(beacon) if errors.is_empty() => Ok(beacon),
        _ => Err(errors),
    }
}

/// Builds the beacon; `None` when a required field failed (its error is in `errors`).
fn parse_fields(fields: &Fields, errors: &mut FieldErrors) -> Option<Beacon> {
    let name = keep(errors, "name", parse_name(fields.text("n", "name")));
    let hash_mode = parse_hash_mode(fields.get("h", "hashMode"));
    let hash_mode = keep(errors, "hashMode", hash_mode);
    let page = parse_page(fields.text("u", "url"), hash_mode.unwrap_or(false));
    let page = keep(errors, "url", page);
    let domains = keep(errors, "domain", parse_domains(fields.text("d", "domain")));
    let referrer = parse_referrer(fields.text("r", "referrer"));
    let referrer = keep(errors, "referrer", referrer);
    let props = parse_props(fields.get("p", "props"), errors);
    let interactive = parse_interactive(fields.get("i", "interactive"));
    let interactive = keep(errors, "interactive", interactive);
    let revenue = parse_revenue(fields.get("$", "revenue"), errors);
    let screen_width = keep(errors, "w", parse_count(fields.one("w"), u16::MAX.into()));
    let scroll_depth = keep(errors, "sd", parse_count(fields.one("sd"), 100));
    let engagement_ms = keep(errors, "e", parse_count(fields.one("e"), u32::MAX.into()));
    let (name, page, domains) = (name?, page?, domains?);
    Some(Beacon {
        kind: kind_of(&name),
        name,
        domains,
        page,
        referrer: referrer.flatten(),
        props,
        interactive: interactive.unwrap_or(true),
        revenue,
        // The counts are already clamped, so these conversions cannot fail.
        screen_width: screen_width.flatten().and_then(|n| u16::try_from(n).ok()),
        scroll_depth: scroll_depth.flatten().and_then(|n| u8::try_from(n).ok()),
        engagement_ms: engagement_ms.flatten().and_then(|n| u32::try_from(n).ok()),
    })
}

/// The top-level JSON object's known keys. Deserialising straight into
/// this struct skips building a map of every key, which is most of the
/// parsing time; unknown keys are skipped. A JSON `null` reads as absent.
/// The four string fields every beacon has are borrowed from the body.
#[derive(Default, serde::Deserialize)]
struct Fields<'a> {
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
    // beacon, and most of it is usually absent.
    p: Option<Box<Value>>,
    props: Option<Box<Value>>,
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
enum Text<'a> {
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
    fn get(&self, short: &str, long: &str) -> Option<&Value> {
        self.one(short).or_else(|| self.one(long))
    }

    /// A string field, short key first.
    fn text(&self, short: &str, long: &str) -> Option<&Text<'_>> {
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

    fn one(&self, key: &str) -> Option<&Value> {
        let field = match key {
            "p" => &self.p,
            "props" => &self.props,
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

/// Moves a field's error into `errors`, keeping the value when there is one.
fn keep<T>(errors: &mut FieldErrors, field: &str, result: Result<T, String>) -> Option<T> {
    result.map_err(|msg| errors.add(field, msg)).ok()
}

fn parse_object(body: &[u8]) -> Result<Fields<'_>, String> {
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

fn kind_of(name: &str) -> EventKind {
    match name {
        "pageview" => EventKind::Pageview,
        "engagement" => EventKind::Engagement,
        _ => EventKind::Custom,
    }
}

fn required_string<'t>(value: Option<&'t Text>) -> Result<&'t str, String> {
    match value {
        None | Some(Text::Other(Value::Null)) => Err(REQUIRED.to_owned()),
        Some(Text::Str(text)) => Ok(text),
        Some(Text::Other(_)) => Err(NOT_STRING.to_owned()),
    }
}

fn parse_name(value: Option<&Text>) -> Result<CompactString, String> {
    let name = trim(required_string(value)?);
    if name.is_empty() {
        return Err(REQUIRED.to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
    }
    Ok(name.into())
}

fn parse_hash_mode(value: Option<&Value>) -> Result<bool, String> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(_) => Err("must be 1, 0, true or false".to_owned()),
    }
}

fn parse_page(value: Option<&Text>, hash_mode: bool) -> Result<Page, String> {
    let text = required_string(value)?;
    check_page_url(text)?;
    if let Some(parts) = plain_web_url(text) {
        return Ok(page_of(&parts, hash_mode));
    }
    let url = parse_page_url(text)?;
    let parts = UrlParts {
        host: url.host_str().unwrap_or_default(),
        path: url.path(),
        query: url.query(),
        fragment: url.fragment(),
    };
    Ok(page_of(&parts, hash_mode))
}

/// Text the light parse would read differently from the `url` crate:
/// non-ASCII (IDNA), backslashes, user info, escaped dots (`%2e` segments),
/// characters the URL standard escapes or strips (quotes, braces, tabs and
/// line breaks).
fn needs_full_parse(text: &str) -> bool {
    let bytes = text.as_bytes();
    // One pass through a table: this runs on every beacon.
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| match FULL_PARSE[b as usize] {
            Class::Plain => false,
            Class::Full => true,
            Class::Percent => escaped_dot_at(bytes, i),
        })
}

#[derive(Clone, Copy)]
enum Class {
    Plain,
    Full,
    /// `%`: a full parse only for `%2e`.
    Percent,
}

/// [`needs_full_parse`]'s verdict on each byte.
static FULL_PARSE: [Class; 256] = {
    let mut table = [Class::Plain; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = match b {
            b'\\' | b'@' | b'"' | b'{' | b'}' | b'<' | b'>' | b'`' | b'\t' | b'\n' | b'\r'
            | b' ' => Class::Full,
            b'%' => Class::Percent,
            _ if !b.is_ascii() => Class::Full,
            _ => Class::Plain,
        };
        i += 1;
    }
    table
};

/// The bytes the light parse takes in a URL: letters, digits, `-._~`, the
/// sub-delimiters `!$&'()*+,;=`, `:`, `/`, `?` and `%`.
static URL_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'/'
                    | b'?'
                    | b'%'
            );
        i += 1;
    }
    table
};

/// The host of a plain authority when the light parse reads it as the
/// `url` crate would: a name of letters, digits, `-`, `.`, `_` and `~`
/// (not a number the URL standard rewrites, like `0x7f.1` or
/// `2130706433`), with at most a port of digits that fits in 16 bits.
/// Anything else (IPv6, escapes, user info) is left to the full parse.
fn plain_host(authority: &str) -> Option<&str> {
    let (host, port) = match split_at_byte(authority, b':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if host.is_empty() || !host.bytes().all(name_byte) {
        return None;
    }
    // Punycode labels are checked (and may be refused) by the full parse.
    if has_punycode_label(host) {
        return None;
    }
    if let Some(port) = port {
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || port.parse::<u16>().is_err() {
            return None;
        }
    }
    let trimmed = host.trim_end_matches('.').as_bytes();
    let last_label = memchr::memrchr(b'.', trimmed).map_or(trimmed, |dot| &trimmed[dot + 1..]);
    let numeric = last_label.first().is_some_and(u8::is_ascii_digit);
    (!numeric).then_some(host)
}

/// An `xn--` label (any case) anywhere in `host`. Looks for `-` first,
/// which most names lack: this runs for every page and referrer. (A
/// substring searcher costs more to set up than these short names take.)
fn has_punycode_label(host: &str) -> bool {
    let bytes = host.as_bytes();
    memchr::memchr_iter(b'-', bytes).any(|at| {
        at >= 2 && bytes.get(at + 1) == Some(&b'-') && bytes[at - 2..at].eq_ignore_ascii_case(b"xn")
    })
}

/// A `%2e` (any case): an escaped dot, which the full parse reads as a dot.
fn has_escaped_dot(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'%', bytes).any(|at| escaped_dot_at(bytes, at))
}

/// Whether the `%` at `at` starts `%2e` (any case).
fn escaped_dot_at(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at + 1..at + 3)
        .is_some_and(|hex| hex.eq_ignore_ascii_case(b"2e"))
}

/// `text` before its first `#`, and the fragment after it, if any.
fn split_fragment(text: &str) -> (&str, Option<&str>) {
    match split_at_byte(text, b'#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (text, None),
    }
}

/// A `/.` in a path: a dot segment, which only the full parse resolves.
fn has_dot_segment(path: &str) -> bool {
    let bytes = path.as_bytes();
    memchr::memchr_iter(b'.', bytes).any(|at| at > 0 && bytes[at - 1] == b'/')
}

/// `http://` or `https://` (any case) and the rest, whose every byte is
/// one a URL may carry unescaped: letters, digits, `-._~`, the
/// sub-delimiters `!$&'()*+,;=`, `:`, `/`, `?` and `%`.
fn split_web_scheme(text: &str) -> Option<(&'static str, &str)> {
    let scheme = if text
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    {
        "https"
    } else if text
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    {
        "http"
    } else {
        return None;
    };
    let rest = &text[scheme.len() + 3..];
    rest.bytes()
        .all(|b| URL_BYTES[b as usize])
        .then_some((scheme, rest))
}

/// The pieces of a page URL the beacon keeps, from either parser.
struct UrlParts<'a> {
    host: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn page_of(parts: &UrlParts, hash_mode: bool) -> Page {
    let (utm, tags) = query_tags(parts.query);
    Page {
        hostname: normalise_host(parts.host),
        pathname: pathname(parts.path, parts.fragment, hash_mode),
        utm,
        tags,
    }
}

/// Browsers send `location.href` already normalised, so for a plain ASCII
/// http(s) URL a light parse (no IDNA, no path normalisation) gives the same
/// parts as the full URL parser at a fraction of the cost. Anything that
/// could differ (dot segments, backslashes, user info, non-ASCII) takes the
/// full parse, which also produces the precise error messages.
fn plain_web_url(text: &str) -> Option<UrlParts<'_>> {
    let (before_fragment, fragment) = split_fragment(text);
    // `scheme://host[:port][/path][?query]`, cut from `text` itself; user
    // info and anything unusual go to the full parse.
    let (_, rest) = split_web_scheme(before_fragment)?;
    // No byte `split_web_scheme` lets through needs the full parse, so only
    // an escaped dot there, or the fragment, still can: one scan of the
    // URL instead of two.
    if has_escaped_dot(rest) || fragment.is_some_and(needs_full_parse) {
        return None;
    }
    let authority_end = memchr::memchr2(b'/', b'?', rest.as_bytes()).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let host = plain_host(authority)?;
    let (path, query) = match split_at_byte(path_and_query, b'?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    if has_dot_segment(path) {
        return None;
    }
    Some(UrlParts {
        host,
        path: if path.is_empty() { "/" } else { path },
        query,
        fragment,
    })
}

/// The checks that come before any parse, with their own messages.
fn check_page_url(text: &str) -> Result<(), String> {
    if trim(text).is_empty() {
        return Err(REQUIRED.to_owned());
    }
    // Checked before the length so large inline documents get the clearer message.
    if has_data_scheme(text) {
        return Err("data: URLs are not accepted".to_owned());
    }
    if text.len() > MAX_URL_BYTES {
        return Err(format!("must be at most {MAX_URL_BYTES} bytes"));
    }
    Ok(())
}

fn parse_page_url(text: &str) -> Result<Url, String> {
    if text.trim().is_empty() {
        return Err(REQUIRED.to_owned());
    }
    // Checked before the length so large inline documents get the clearer message.
    if has_data_scheme(text) {
        return Err("data: URLs are not accepted".to_owned());
    }
    if text.len() > MAX_URL_BYTES {
        return Err(format!("must be at most {MAX_URL_BYTES} bytes"));
    }
    let url = Url::parse(text).map_err(|_| "must be an absolute URL".to_owned())?;
    if !is_web_scheme(&url) {
        return Err("must be an http or https URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host".to_owned());
    }
    Ok(url)
}

fn has_data_scheme(text: &str) -> bool {
    let start = text.trim_start();
    start
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
}

fn is_web_scheme(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// `www.example.com` and `example.com` are the same site for reporting.
fn normalise_host(host: &str) -> CompactString {
    // `example.com.` is the same host as `example.com`.
    let host = host.strip_suffix('.').unwrap_or(host);
    let bare = match host.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("www.") && host.len() > 4 => &host[4..],
        _ => host,
    };
    let mut lower = CompactString::from(bare);
    lower.make_ascii_lowercase();
    lower
}

fn pathname(path: &str, fragment: Option<&str>, hash_mode: bool) -> CompactString {
    let mut path = decode(path);
    if path.is_empty() {
        path.push('/');
    }
    // Single-page apps with hash routing keep the route in the fragment. Its
    // own query string (`#/reset?token=...`) is dropped like the page's, and
    // a fragment of bare parameters (`#access_token=...`) is no route at all.
    // Decoded first, so that an escaped `?` or `=` is caught too.
    let fragment = fragment
        .filter(|_| hash_mode)
        .map(decode)
        .unwrap_or_default();
    let route = split_at_byte(&fragment, b'?').map_or(fragment.as_str(), |(route, _)| route);
    if !route.is_empty() && !route.contains('=') {
        path.push('#');
        path.push_str(route);
    }
    path
}

fn decode(text: &str) -> CompactString {
    // Without a `%` there is nothing to decode (and `text` is UTF-8 already).
    if !text.as_bytes().contains(&b'%') {
        return text.into();
    }
    percent_decode_str(text).decode_utf8_lossy().into()
}

/// The attribution parameters of the query string, in one pass: the first
/// non-empty value of each UTM tag, `source` and `ref`, and the first
/// click-id name. Only those values are decoded; everything else in the
/// query is dropped unread.
fn query_tags(query: Option<&str>) -> (Utm, Tags) {
    let (mut utm, mut tags) = (Utm::default(), Tags::default());
    for pair in pieces(query.unwrap_or(""), b'&') {
        let key = split_at_byte(pair, b'=').map_or(pair, |(key, _)| key);
        let slot = match key {
            "utm_source" => &mut utm.source,
            "utm_medium" => &mut utm.medium,
            "utm_campaign" => &mut utm.campaign,
            "utm_content" => &mut utm.content,
            "utm_term" => &mut utm.term,
            "source" => &mut tags.source,
            "ref" => &mut tags.ref_param,
            name => {
                if tags.click_id_param.is_empty() {
                    if let Some(click) = crate::enrich::source::click_id(name) {
                        tags.click_id_param = click.param.into();
                    }
                }
                continue;
            }
        };
        if slot.is_empty() {
            *slot = decoded_value(pair);
        }
    }
    (utm, tags)
}

/// A `key=value` pair's value, form-decoded (`+` is a space) and truncated.
fn decoded_value(pair: &str) -> CompactString {
    // Nothing escaped (no `%`, no `+` for a space): the value as it is.
    if memchr::memchr2(b'%', b'+', pair.as_bytes()).is_none() {
        let value = split_at_byte(pair, b'=').map_or("", |(_, value)| value);
        return truncate(value, MAX_UTM_BYTES).into();
    }
    let value = form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, value)| value)
        .unwrap_or_default();
    truncate(&value, MAX_UTM_BYTES).into()
}

/// The pieces of `text` between `byte`s, as `str::split` gives them.
fn pieces(text: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match split_at_byte(current, byte) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The longest prefix of `text` that fits in `max` bytes without splitting a character.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Stops at the first domain past the limit so a huge list costs little.
fn parse_domains(value: Option<&Text>) -> Result<Vec<String>, String> {
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

/// A referrer is a hint, not a requirement: anything unparsable becomes `None`.
fn parse_referrer(value: Option<&Text>) -> Result<Option<Referrer>, String> {
    let text = match value {
        None | Some(Text::Other(Value::Null)) => return Ok(None),
        Some(Text::Str(text)) => text,
        Some(Text::Other(_)) => return Err(NOT_STRING.to_owned()),
    };
    let text = truncate(text, MAX_REFERRER_BYTES);
    let full = || Url::parse(text).ok().as_ref().and_then(referrer_of);
    Ok(plain_web_referrer(text).or_else(full))
}

/// Browsers send the Referer already normalised, so for a plain ASCII
/// http(s) URL a light parse (no IDNA, no path normalisation) gives the same
/// host and path as the full URL parser at a fraction of the cost. Anything
/// that could differ (escapes, dot segments, non-ASCII) takes the full parse.
fn plain_web_referrer(text: &str) -> Option<Referrer> {
    if memchr::memchr(b'%', text.as_bytes()).is_some() {
        return None;
    }
    let (before_fragment, fragment) = split_fragment(text);
    // As for pages: what `split_web_scheme` accepts needs no full parse.
    let (_, rest) = split_web_scheme(before_fragment)?;
    if fragment.is_some_and(needs_full_parse) {
        return None;
    }
    let authority_end = memchr::memchr2(b'/', b'?', rest.as_bytes()).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let host = plain_host(authority)?;
    let path = split_at_byte(path_and_query, b'?').map_or(path_and_query, |(path, _)| path);
    let path = if path.is_empty() { "/" } else { path };
    if has_dot_segment(path) {
        return None;
    }
    Some(Referrer {
        host: normalise_host(host),
        path: path.into(),
    })
}

fn referrer_of(url: &Url) -> Option<Referrer> {
    let host = url.host_str().filter(|host| !host.is_empty())?;
    let host = if is_web_scheme(url) {
        normalise_host(host)
    } else {
        host.into()
    };
    let path = url.path().into();
    Some(Referrer { host, path })
}

fn parse_props(value: Option<&Value>, errors: &mut FieldErrors) -> Vec<(String, String)> {
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

fn parse_interactive(value: Option<&Value>) -> Result<bool, String> {
    match value {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err("must be a boolean".to_owned()),
    }
}

/// Reports amount and currency problems separately, both under "revenue".
fn parse_revenue(value: Option<&Value>, errors: &mut FieldErrors) -> Option<Revenue> {
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

fn parse_count(value: Option<&Value>, max: u64) -> Result<Option<u64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => whole_number(value).map(|n| Some(n.min(max))),
    }
}

/// Whole-valued floats such as `1280.0` are accepted; huge ones saturate.
fn whole_number(value: &Value) -> Result<u64, String> {
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    match value.as_f64() {
        // `as` saturates, which is the clamping we want for out-of-range values.
        Some(f) if f >= 0.0 && f.fract() == 0.0 => Ok(f as u64),
        _ => Err("must be a non-negative integer".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_byte_the_light_parse_takes_needs_the_full_parse() {
        // `plain_web_url` skips `needs_full_parse` for what
        // `split_web_scheme` accepted; that is sound only while this holds.
        for b in 0..=255u8 {
            if URL_BYTES[b as usize] {
                assert!(!matches!(FULL_PARSE[b as usize], Class::Full), "{b:#x}");
            }
        }
    }

    #[test]
    fn byte_searches_agree_with_the_plain_definitions() {
        let hosts = [
            "example.com",
            "xn--bcher-kva.example",
            "a.XN--p1ai",
            "Xn--x",
            "a--b.xn-",
            "--xn--",
            "axn---",
            "x-n--",
            "xn-",
            "n--",
            "",
            "xn--",
            "a.b-c--d.example",
        ];
        for host in hosts {
            let plain = host
                .as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"xn--"));
            assert_eq!(has_punycode_label(host), plain, "{host}");
        }
        let paths = [
            "/",
            "/a/./b",
            "/.well-known",
            "/a.b/c",
            ".a",
            "/a/..",
            "/a./b",
            "",
        ];
        for path in paths {
            assert_eq!(has_dot_segment(path), path.contains("/."), "{path}");
        }
    }

    /// The light parse as it was with `http::Uri` validating, kept as the
    /// oracle: wherever the byte-level split accepts a URL, it must cut the
    /// same parts as before.
    mod light_parse_oracle {
        use super::super::*;
        use proptest::prelude::*;

        fn old_host(uri: &http::Uri) -> Option<&str> {
            let host = uri.host().filter(|h| !h.is_empty())?;
            let last_label = host
                .trim_end_matches('.')
                .rsplit('.')
                .next()
                .unwrap_or(host);
            let numeric = last_label.starts_with(|c: char| c.is_ascii_digit());
            let authority = uri.authority()?.as_str();
            let bad_port = authority
                .rsplit_once(':')
                .is_some_and(|(_, port)| port.parse::<u16>().is_err());
            (!numeric && !bad_port && !host.starts_with('[')).then_some(host)
        }

        type Parts = (String, String, Option<String>, Option<String>);

        fn old_page(text: &str) -> Option<Parts> {
            if needs_full_parse(text) {
                return None;
            }
            let (before, fragment) = match text.split_once('#') {
                Some((b, f)) => (b, Some(f)),
                None => (text, None),
            };
            let uri: http::Uri = before.parse().ok()?;
            let scheme = uri
                .scheme_str()
                .filter(|s| matches!(*s, "http" | "https"))?;
            let host = old_host(&uri)?.to_owned();
            let rest = before.get(scheme.len() + 3..)?;
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let path_and_query = &rest[end..];
            let (path, query) = match path_and_query.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (path_and_query, None),
            };
            if path.contains("/.") {
                return None;
            }
            let path = if path.is_empty() { "/" } else { path };
            Some((
                host,
                path.into(),
                query.map(Into::into),
                fragment.map(Into::into),
            ))
        }

        fn old_referrer(text: &str) -> Option<Referrer> {
            if needs_full_parse(text) || text.contains('%') {
                return None;
            }
            let uri: http::Uri = text.parse().ok()?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) {
                return None;
            }
            let host = old_host(&uri)?;
            let path = uri.path();
            if path.contains("/.") || !path.starts_with('/') {
                return None;
            }
            Some(Referrer {
                host: normalise_host(host),
                path: path.to_owned().into(),
            })
        }

        fn url_text() -> impl Strategy<Value = String> {
            (
                prop::sample::select(vec![
                    "http://", "https://", "HTTPS://", "Http://", "ftp://", "", "https:/",
                ]),
                "[a-zA-Z0-9.~_:%@!$&'()*+,;=\\[\\]-]{0,16}",
                "[/a-zA-Z0-9._~!$&'()*+,;=:@%?#|^\\[\\] -]{0,24}",
            )
                .prop_map(|(scheme, authority, rest)| format!("{scheme}{authority}{rest}"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(20_000))]

            #[test]
            fn pages_split_as_before(text in url_text()) {
                if let Some(new) = plain_web_url(&text) {
                    let new = (
                        new.host.to_owned(),
                        new.path.to_owned(),
                        new.query.map(Into::into),
                        new.fragment.map(Into::into),
                    );
                    prop_assert_eq!(Some(new), old_page(&text), "{}", text);
                }
            }

            #[test]
            fn referrers_split_as_before(text in url_text()) {
                if let Some(new) = plain_web_referrer(&text) {
                    prop_assert_eq!(Some(new), old_referrer(&text), "{}", text);
                }
            }
        }

        proptest! {
            #[test]
            fn byte_splits_cut_as_str_splits_do(text in "[a-z&=?#,é]{0,20}", pick in 0usize..5) {
                let sep = ['&', '=', '?', '#', ','][pick];
                let byte = u8::try_from(sep).unwrap();
                prop_assert_eq!(split_at_byte(&text, byte), text.split_once(sep));
                prop_assert_eq!(pieces(&text, byte).collect::<Vec<_>>(), text.split(sep).collect::<Vec<_>>());
            }

            #[test]
            fn unescaped_values_read_as_form_decoding_reads_them(pair in "[a-z_=:/.;!~*'()$,-]{0,30}") {
                let slow = form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default();
                prop_assert_eq!(decoded_value(&pair), slow);
            }

            #[test]
            fn unescaped_paths_read_as_percent_decoding_reads_them(path in "[a-z/._~!$&'()*+,;=:@-]{0,30}") {
                let slow = percent_decode_str(&path).decode_utf8_lossy().into_owned();
                prop_assert_eq!(decode(&path), slow);
            }
        }

        #[test]
        fn common_urls_take_the_light_path() {
            for url in [
                "https://www.example.com/blog/post-17?utm_source=newsletter&utm_campaign=launch",
                "HTTP://Example.com:8080/a/b#frag",
                "https://example.com",
                "https://example.com?x=1",
            ] {
                assert!(plain_web_url(url).is_some(), "{url}");
                assert!(old_page(url).is_some(), "{url}");
            }
            assert!(plain_web_referrer("https://www.google.com/search?q=x").is_some());
        }
    }

    #[test]
    fn punycode_hosts_read_as_the_full_parser_reads_them() {
        let page = |url: &str| {
            parse(format!(r#"{{"n":"pageview","u":"{url}","d":"example.com"}}"#).as_bytes())
        };
        // Valid punycode is kept as it is; invalid punycode is refused
        // whichever way the rest of the URL is read.
        assert_eq!(
            ok(r#"{"n":"pageview","u":"https://xn--bcher-kva.example/a","d":"example.com"}"#)
                .page
                .hostname,
            "xn--bcher-kva.example"
        );
        assert!(page("https://XN---aaa-aaAa0Aa0.example.com/").is_err());
        assert!(page("https://XN---aaa-aaAa0Aa0.example.com/@").is_err());
    }

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

    fn ok(json: &str) -> Beacon {
        match parse(json.as_bytes()) {
            Ok(beacon) => beacon,
            Err(errors) => panic!("expected {json} to parse, got {errors:?}"),
        }
    }

    fn errors(json: &str) -> FieldErrors {
        match parse(json.as_bytes()) {
            Ok(beacon) => panic!("expected {json} to fail, got {beacon:?}"),
            Err(errors) => errors,
        }
    }

    fn expected(pairs: &[(&str, &[&str])]) -> FieldErrors {
        let mut errors = FieldErrors::default();
        for (field, messages) in pairs {
            for msg in *messages {
                errors.add(field, *msg);
            }
        }
        errors
    }

    /// A valid event with one field replaced by `extra` (a `"key":value` fragment).
    fn with(extra: &str) -> String {
        format!(r#"{{"n":"pageview","u":"https://example.com/","d":"example.com",{extra}}}"#)
    }

    fn field_errors(extra: &str, field: &str) -> Vec<String> {
        let all = errors(&with(extra));
        assert_eq!(all.0.len(), 1, "only {field} should fail: {all:?}");
        all.0.get(field).cloned().unwrap_or_default()
    }

    fn page(url: &str) -> Page {
        ok(&format!(
            r#"{{"n":"pageview","u":{url:?},"d":"example.com"}}"#
        ))
        .page
    }

    fn page_hash(url: &str, hash: &str) -> Page {
        ok(&format!(
            r#"{{"n":"pageview","u":{url:?},"d":"example.com","h":{hash}}}"#
        ))
        .page
    }

    fn referrer(json_value: &str) -> Option<Referrer> {
        ok(&with(&format!(r#""r":{json_value}"#))).referrer
    }

    fn props(json_value: &str) -> Vec<(String, String)> {
        ok(&with(&format!(r#""p":{json_value}"#))).props
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn minimal_tracker_pageview() {
        let body = r#"{"n":"pageview","u":"https://www.example.com/blog/post?utm_source=news&utm_medium=email&fbclid=x#top","d":"example.com","r":"https://www.google.com/search?q=x","w":1280}"#;
        let want = Beacon {
            name: "pageview".into(),
            kind: EventKind::Pageview,
            domains: vec!["example.com".into()],
            page: Page {
                hostname: "example.com".into(),
                pathname: "/blog/post".into(),
                utm: Utm {
                    source: "news".into(),
                    medium: "email".into(),
                    ..Utm::default()
                },
                tags: Tags {
                    click_id_param: "fbclid".into(),
                    ..Tags::default()
                },
            },
            referrer: Some(Referrer {
                host: "google.com".into(),
                path: "/search".into(),
            }),
            props: vec![],
            interactive: true,
            revenue: None,
            screen_width: Some(1280),
            scroll_depth: None,
            engagement_ms: None,
        };
        assert_eq!(ok(body), want);
    }

    #[test]
    fn long_keys() {
        let body = r#"{"name":"Signup","url":"http://Shop.Example.org/cart","domain":"shop.example.org",
            "referrer":"https://news.ycombinator.com/","props":{"plan":"pro"},"interactive":false,
            "hashMode":false,"revenue":{"amount":"19.90","currency":"eur"}}"#;
        let want = Beacon {
            name: "Signup".into(),
            kind: EventKind::Custom,
            domains: vec!["shop.example.org".into()],
            page: Page {
                hostname: "shop.example.org".into(),
                pathname: "/cart".into(),
                utm: Utm::default(),
                tags: Tags::default(),
            },
            referrer: Some(Referrer {
                host: "news.ycombinator.com".into(),
                path: "/".into(),
            }),
            props: pairs(&[("plan", "pro")]),
            interactive: false,
            revenue: Some(Revenue {
                amount: "19.9".into(),
                currency: "EUR".into(),
            }),
            screen_width: None,
            scroll_depth: None,
            engagement_ms: None,
        };
        assert_eq!(ok(body), want);
    }

    #[test]
    fn source_ref_and_click_id_tags() {
        let tags = page("https://example.com/?ref=producthunt&source=hn&gclid=abc&msclkid=x").tags;
        assert_eq!(tags.source, "hn");
        assert_eq!(tags.ref_param, "producthunt");
        assert_eq!(tags.click_id_param, "gclid");
        assert_eq!(page("https://example.com/?q=1").tags, Tags::default());
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
    fn name_is_trimmed_and_kind_is_case_sensitive() {
        let beacon = ok(r#"{"n":"  Purchase  ","u":"https://example.com/","d":"example.com"}"#);
        assert_eq!(beacon.name, "Purchase");
        assert_eq!(beacon.kind, EventKind::Custom);
        let beacon = ok(r#"{"n":"Pageview","u":"https://example.com/","d":"example.com"}"#);
        assert_eq!(beacon.kind, EventKind::Custom);
    }

    #[test]
    fn engagement_payload() {
        let beacon = ok(
            r#"{"n":"engagement","u":"https://example.com/docs","d":"example.com","sd":57,"e":12345}"#,
        );
        assert_eq!(beacon.kind, EventKind::Engagement);
        assert_eq!(beacon.page.pathname, "/docs");
        assert_eq!(beacon.scroll_depth, Some(57));
        assert_eq!(beacon.engagement_ms, Some(12345));
        assert_eq!(beacon.screen_width, None);
    }

    #[test]
    fn hash_mode_appends_fragment() {
        let url = "https://example.com/app#/settings/profile";
        assert_eq!(page_hash(url, "1").pathname, "/app#/settings/profile");
        assert_eq!(page_hash(url, "true").pathname, "/app#/settings/profile");
        assert_eq!(page_hash(url, "0").pathname, "/app");
        assert_eq!(page_hash(url, "false").pathname, "/app");
        assert_eq!(page_hash(url, "null").pathname, "/app");
        assert_eq!(page(url).pathname, "/app");
    }

    #[test]
    fn hash_mode_decodes_fragment_and_skips_empty_one() {
        let decoded = page_hash("https://example.com/#/caf%C3%A9", "1");
        assert_eq!(decoded.pathname, "/#/café");
        assert_eq!(page_hash("https://example.com/x#", "1").pathname, "/x");
        assert_eq!(page_hash("https://example.com/x", "1").pathname, "/x");
    }

    #[test]
    fn hash_mode_drops_the_fragments_query_string() {
        let url = "https://example.com/app#/reset?token=abc&email=a@b.c";
        assert_eq!(page_hash(url, "1").pathname, "/app#/reset");
        let oauth = "https://example.com/cb#?access_token=xyz";
        assert_eq!(page_hash(oauth, "1").pathname, "/cb");
        let implicit = "https://example.com/cb#access_token=xyz&state=1";
        assert_eq!(page_hash(implicit, "1").pathname, "/cb");
    }

    #[test]
    fn hash_mode_catches_escaped_query_and_parameters() {
        let escaped = "https://example.com/app#/reset%3Ftoken%3Dabc123";
        assert_eq!(page_hash(escaped, "1").pathname, "/app#/reset");
        let token = "https://example.com/app#access_token%3Dsecret";
        assert_eq!(page_hash(token, "1").pathname, "/app");
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let beacon = ok(r#"{"n":"first","n":"pageview","u":"https://a.example/","d":"a.example"}"#);
        assert_eq!(beacon.name, "pageview");
    }

    #[test]
    fn hash_mode_wrong_value() {
        let want = vec!["must be 1, 0, true or false".to_string()];
        assert_eq!(field_errors(r#""h":2"#, "hashMode"), want);
        assert_eq!(field_errors(r#""h":"1""#, "hashMode"), want);
        assert_eq!(field_errors(r#""hashMode":1.5"#, "hashMode"), want);
    }

    #[test]
    fn missing_required_fields() {
        let want = expected(&[
            ("domain", &["is required"]),
            ("name", &["is required"]),
            ("url", &["is required"]),
        ]);
        assert_eq!(errors("{}"), want);
        assert_eq!(errors(r#"{"n":null,"u":null,"d":null}"#), want);
        assert_eq!(errors(r#"{"n":"  ","u":" ","d":" , ,"}"#), want);
    }

    #[test]
    fn collects_all_errors() {
        let body =
            r#"{"n":1,"u":2,"d":3,"r":4,"p":5,"i":"x","h":"y","$":6,"w":"7","sd":-1,"e":1.5}"#;
        let want = expected(&[
            ("domain", &["must be a string"]),
            ("e", &["must be a non-negative integer"]),
            ("hashMode", &["must be 1, 0, true or false"]),
            ("interactive", &["must be a boolean"]),
            ("name", &["must be a string"]),
            ("props", &["must be an object"]),
            ("referrer", &["must be a string"]),
            ("revenue", &["must be an object with amount and currency"]),
            ("sd", &["must be a non-negative integer"]),
            ("url", &["must be a string"]),
            ("w", &["must be a non-negative integer"]),
        ]);
        assert_eq!(errors(body), want);
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

    fn url_errors(url: &str) -> FieldErrors {
        errors(&format!(
            r#"{{"n":"pageview","u":{url:?},"d":"example.com"}}"#
        ))
    }

    #[test]
    fn url_errors_by_case() {
        let cases: &[(&str, &str)] = &[
            ("/relative/path", "must be an absolute URL"),
            ("example.com/page", "must be an absolute URL"),
            ("https://", "must be an absolute URL"),
            ("ftp://example.com/file", "must be an http or https URL"),
            ("javascript:alert(1)", "must be an http or https URL"),
            ("file:///etc/passwd", "must be an http or https URL"),
            (
                "data:text/html,<script>alert(1)</script>",
                "data: URLs are not accepted",
            ),
            (" DATA:image/png;base64,AAAA", "data: URLs are not accepted"),
        ];
        for (url, msg) in cases {
            assert_eq!(url_errors(url), expected(&[("url", &[msg])]), "url {url}");
        }
    }

    #[test]
    fn url_length_limit_in_bytes() {
        let at_limit = format!("https://example.com/{}", "a".repeat(1980));
        assert_eq!(at_limit.len(), 2000);
        assert_eq!(page(&at_limit).pathname.len(), 1981);
        let over = format!("https://example.com/{}", "a".repeat(1981));
        assert_eq!(
            url_errors(&over),
            expected(&[("url", &["must be at most 2000 bytes"])])
        );
    }

    #[test]
    fn long_data_url_gets_data_message() {
        let big = format!("data:text/plain,{}", "x".repeat(5000));
        assert_eq!(
            url_errors(&big),
            expected(&[("url", &["data: URLs are not accepted"])])
        );
    }

    #[test]
    fn hostname_normalisation() {
        assert_eq!(page("https://WWW.Example.COM/").hostname, "example.com");
        assert_eq!(
            page("https://www2.example.com/").hostname,
            "www2.example.com"
        );
        assert_eq!(page("https://example.com:8443/x").hostname, "example.com");
        assert_eq!(page("http://[::1]/").hostname, "[::1]");
        assert_eq!(page("http://127.0.0.1/").hostname, "127.0.0.1");
        assert_eq!(
            page("https://www.www.example.com/").hostname,
            "www.example.com"
        );
    }

    #[test]
    fn pathname_percent_decoded() {
        let decoded = page("https://example.com/caf%C3%A9/%E2%9C%93%20ok");
        assert_eq!(decoded.pathname, "/café/✓ ok");
        // Raw non-ASCII is encoded by the url crate, then decoded back.
        assert_eq!(page("https://example.com/naïve").pathname, "/naïve");
        // Invalid UTF-8 escapes become U+FFFD rather than failing.
        assert_eq!(page("https://example.com/%FF").pathname, "/\u{FFFD}");
        assert_eq!(page("https://example.com").pathname, "/");
        assert_eq!(page("https://example.com?x=1").pathname, "/");
    }

    #[test]
    fn utm_tags_decoded_and_other_params_dropped() {
        let utm = page(
            "https://example.com/?gclid=abc&utm_campaign=spring+sale%21&utm_content=a%26b&utm_term=x&email=me%40x.com&utm_source=",
        )
        .utm;
        let want = Utm {
            source: String::new().into(),
            medium: String::new().into(),
            campaign: "spring sale!".into(),
            content: "a&b".into(),
            term: "x".into(),
        };
        assert_eq!(utm, want);
    }

    #[test]
    fn utm_first_non_empty_value_wins() {
        let utm = page("https://example.com/?utm_source=&utm_source=one&utm_source=two").utm;
        assert_eq!(utm.source, "one");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a"); // 'é' is bytes 1..3
        assert_eq!(truncate("aé", 3), "aé");
        assert_eq!(truncate("€", 2), "");
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
    fn referrer_variants() {
        assert_eq!(referrer("null"), None);
        assert_eq!(referrer(r#""""#), None);
        assert_eq!(referrer(r#""not a url""#), None);
        assert_eq!(referrer(r#""mailto:someone@example.com""#), None);
        let google = Referrer {
            host: "google.co.uk".into(),
            path: "/url".into(),
        };
        assert_eq!(
            referrer(r#""https://WWW.Google.co.uk/url?q=secret#frag""#),
            Some(google)
        );
        let app = Referrer {
            host: "com.google.android.gm".into(),
            path: String::new().into(),
        };
        assert_eq!(
            referrer(r#""android-app://com.google.android.gm""#),
            Some(app)
        );
        assert_eq!(ok(&with(r#""v":1"#)).referrer, None);
    }

    #[test]
    fn light_referrer_parse_agrees_with_the_full_one() {
        let cases = [
            "https://www.google.com/",
            "https://www.Google.co.uk/search?q=x#frag",
            "http://news.ycombinator.com",
            "https://t.co/AbC123",
            "https://example.org:8443/a/b/c?x=1",
            "http://[2001:db8::1]/path",
            "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com",
            "https://example.com/a/./b",
            "https://user:pw@example.com/x",
            "https://bücher.example/",
        ];
        for text in cases {
            let full = Url::parse(text).ok().as_ref().and_then(referrer_of);
            if let Some(light) = plain_web_referrer(text) {
                assert_eq!(Some(light), full, "{text}");
            }
        }
        assert!(
            plain_web_referrer("https://www.google.com/").is_some(),
            "the light path is used"
        );
    }

    #[test]
    fn light_page_parse_agrees_with_the_full_one() {
        let cases = [
            "https://www.example.com/",
            "https://Example.COM",
            "https://example.com/blog/hello%20world?utm_source=x&b=2#top",
            "http://example.com:8080/a/b?x=1+2&utm_campaign=spring%20sale",
            "https://example.com/app#/settings?tab=1",
            "https://example.com/?",
            "https://example.com/a/../b",
            "https://user@example.com/",
            "https://bücher.example/straße",
            "https://example.com/path with space",
            "https://example.com?utm_source=bare",
            "https://example.com:8443",
            "http://[2001:db8::1]:8080/p?q=1#/r",
            "HTTPS://Example.com/Case",
            // Found in review: each must agree (or take the full parse).
            "https://example.com/x/%2e%2e/admin/secret",
            "https://example.com/a/%2E/b",
            "http://0x7f.1/",
            "http://2130706433/",
            "https://1.2.3/",
            "https://example.com:99999/",
            "https://ref.example/a{b}",
            "https://ref.example/a\"b",
            "https://example.com/#/r\tx",
            "https://example.com./x",
        ];
        for text in cases {
            let Ok(url) = Url::parse(text) else {
                assert!(plain_web_url(text).is_none(), "{text} is not a URL");
                continue;
            };
            let full = UrlParts {
                host: url.host_str().unwrap_or_default(),
                path: url.path(),
                query: url.query(),
                fragment: url.fragment(),
            };
            if let Some(light) = plain_web_url(text) {
                assert_eq!(page_of(&light, true), page_of(&full, true), "{text}");
            }
        }
        assert!(
            plain_web_url("https://example.com/a?b=c#d").is_some(),
            "the light path is used"
        );
        assert!(plain_web_url("https://example.com/a/../b").is_none());
    }

    #[test]
    fn referrer_wrong_type() {
        let want = vec!["must be a string".to_string()];
        assert_eq!(field_errors(r#""r":{"host":"x"}"#, "referrer"), want);
        assert_eq!(field_errors(r#""referrer":true"#, "referrer"), want);
    }

    #[test]
    fn referrer_truncated_at_char_boundary_before_parsing() {
        // 21 ASCII bytes then 2000 bytes of 'é': the cut at 2000 bytes falls
        // inside a character, so 989 'é' survive (21 + 1978 = 1999 bytes).
        let long = format!("https://ref.example/x{}", "é".repeat(1000));
        let got = referrer(&format!("{long:?}")).expect("referrer");
        assert_eq!(got.host, "ref.example");
        assert_eq!(got.path, format!("/x{}", "%C3%A9".repeat(989)));
    }

    #[test]
    fn referrer_truncation_can_cut_off_query() {
        let long = format!("https://ref.example/p?{}", "q".repeat(3000));
        let got = referrer(&format!("{long:?}")).expect("referrer");
        assert_eq!(got.path, "/p");
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

    #[test]
    fn interactive_flag() {
        assert!(ok(&with(r#""v":1"#)).interactive);
        assert!(ok(&with(r#""i":null"#)).interactive);
        assert!(!ok(&with(r#""i":false"#)).interactive);
        let want = vec!["must be a boolean".to_string()];
        assert_eq!(field_errors(r#""i":0"#, "interactive"), want);
    }

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
    fn screen_width() {
        assert_eq!(ok(&with(r#""w":0"#)).screen_width, Some(0));
        assert_eq!(ok(&with(r#""w":1280.0"#)).screen_width, Some(1280));
        assert_eq!(ok(&with(r#""w":100000"#)).screen_width, Some(65535));
        assert_eq!(ok(&with(r#""w":1e30"#)).screen_width, Some(65535));
        assert_eq!(ok(&with(r#""w":null"#)).screen_width, None);
        let want = vec!["must be a non-negative integer".to_string()];
        assert_eq!(field_errors(r#""w":-1"#, "w"), want);
        assert_eq!(field_errors(r#""w":"1280""#, "w"), want);
        assert_eq!(field_errors(r#""w":12.5"#, "w"), want);
    }

    #[test]
    fn scroll_depth_and_engagement_time() {
        assert_eq!(ok(&with(r#""sd":100"#)).scroll_depth, Some(100));
        assert_eq!(ok(&with(r#""sd":150"#)).scroll_depth, Some(100));
        assert_eq!(
            ok(&with(r#""e":5000000000"#)).engagement_ms,
            Some(4294967295)
        );
        let want = vec!["must be a non-negative integer".to_string()];
        assert_eq!(field_errors(r#""sd":-5"#, "sd"), want);
        assert_eq!(field_errors(r#""e":-1"#, "e"), want);
        assert_eq!(field_errors(r#""e":"12""#, "e"), want);
    }

    #[test]
    fn request_level_errors() {
        let bad_utf8 = parse(b"{\"n\":\"\xff\"}").unwrap_err();
        assert_eq!(
            bad_utf8,
            expected(&[("request", &["body is not valid UTF-8"])])
        );
        let truncated = errors(r#"{"n":"#);
        let want = "invalid JSON: EOF while parsing a value at line 1 column 5";
        assert_eq!(truncated, expected(&[("request", &[want])]));
        let empty = errors("");
        let want = "invalid JSON: EOF while parsing a value at line 1 column 0";
        assert_eq!(empty, expected(&[("request", &[want])]));
        let not_object = expected(&[("request", &["expected a JSON object"])]);
        assert_eq!(errors("[1,2]"), not_object);
        assert_eq!(errors(r#""pageview""#), not_object);
        assert_eq!(errors("null"), not_object);
    }

    #[test]
    fn deep_nesting_rejected() {
        for body in [
            "[".repeat(10_000),
            format!(r#"{{"p":{}"#, "[".repeat(10_000)),
        ] {
            let got = errors(&body);
            let messages = got.0.get("request").expect("request error");
            assert_eq!(got.0.len(), 1);
            assert!(
                messages[0].starts_with("invalid JSON: recursion limit exceeded"),
                "{messages:?}"
            );
        }
        // Deep nesting inside stringified props is bounded the same way.
        let nested = format!("\"{}\"", "[".repeat(10_000));
        assert_eq!(
            field_errors(&format!(r#""p":{nested}"#), "props"),
            vec!["must be an object".to_string()]
        );
    }

    #[test]
    fn errors_serialise_as_field_map() {
        let json = serde_json::to_string(&errors(r#"{"n":"x","u":"ftp://a/"}"#)).unwrap();
        let want = r#"{"domain":["is required"],"url":["must be an http or https URL"]}"#;
        assert_eq!(json, want);
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

    /// Xorshift64: deterministic pseudo-random bytes without extra dependencies.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let seed = br#"{"n":"pageview","u":"https://www.example.com/a%C3%A9?utm_source=x#h","d":"a.com,b.com","r":"https://r.example/","p":{"k":"v","n":1},"$":{"amount":"1.5","currency":"EUR"},"h":1,"w":1280,"sd":50,"e":10}"#;
        // JSON-ish alphabet makes structurally interesting inputs more likely.
        let alphabet = br#"{}[]":,.-+eE0123456789 \%#/?&=nudrpiwh$tf"#;
        for round in 0..600 {
            let bytes: Vec<u8> = match round % 3 {
                0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
                1 => (0..rng.below(256))
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect(),
                _ => {
                    let mut bytes = seed.to_vec();
                    for _ in 0..=rng.below(8) {
                        let at = rng.below(bytes.len());
                        bytes[at] = rng.next() as u8;
                    }
                    bytes
                }
            };
            let _ = parse(&bytes);
        }
    }
}
