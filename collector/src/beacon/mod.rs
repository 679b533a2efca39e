//! Parsing and validation of `POST /api/event` bodies (Plausible Events API).
//!
//! The body is always read as JSON whatever its content type, because the
//! Plausible tracker sends `text/plain` to avoid a CORS preflight. The
//! required fields (name, page URL, and the domain unless the URL's host
//! can stand for it) are checked and all their problems reported together,
//! so a misconfigured integration can be fixed in one round trip. The
//! optional fields never refuse an event: what Plausible's trackers send is
//! accepted, and a value that cannot be used is left out and recorded in
//! the beacon's [`Ignored`] set, for the operator's metrics.
//!
//! Only what analytics needs survives: the page host and path, the five UTM
//! tags, and the referrer host and path. Every other query parameter (click
//! ids, tokens, e-mail addresses in links) is dropped here so it can never
//! reach storage. Nothing in this module sees IPs, user agents or headers.
//!
//! This file holds the public types, the limits and [`parse`], which puts
//! the pieces together. Each piece has its own file, with its tests:
//! `fields` (the JSON object and its scalar fields), `url` (the light parse
//! shared by page and referrer), `page`, `tags` (the page's query tags),
//! `referrer`, `props`, `revenue` and `ignored` (the optional fields left
//! out). `tests` holds the whole-body tests.

mod fields;
mod ignored;
mod page;
mod props;
mod referrer;
mod revenue;
mod tags;
mod url;

use std::collections::BTreeMap;

use crate::text::split_at_byte;
use compact_str::CompactString;
use fields::{
    parse_count, parse_domains, parse_hash_mode, parse_interactive, parse_name, parse_object,
    parse_percent, Fields,
};
pub use ignored::{Ignored, OptionalField};
use page::parse_page;
use props::parse_props;
use referrer::parse_referrer;
pub use referrer::ANDROID_APP;
use revenue::parse_revenue;

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

/// The hostname of a page whose URL names no web host (an app's, an
/// extension's, a bare path), as Plausible stores it.
pub const NO_HOSTNAME: &str = "(none)";

const REQUIRED: &str = "is required";
const ENGAGEMENT_WITHOUT_FIELDS: &str =
    "engagement event requires a valid integer value for at least one of 'sd' or 'e' fields";
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
    /// Site domains from `d`/`domain`: trimmed, lowercased, deduplicated,
    /// in order; without `d`, the page's hostname.
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
    /// `sd` of an `engagement` event, clamped to 0..=100; `None` when absent
    /// or unusable, and on every other event.
    pub scroll_depth: Option<u8>,
    /// `e` of an `engagement` event, clamped to `u32::MAX`; `None` on every
    /// other event.
    pub engagement_ms: Option<u32>,
    /// The optional fields sent but left out, in whole or in part.
    pub ignored: Ignored,
}

/// The page an event happened on, reduced to what analytics needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Lowercased host without a leading `www.`; [`NO_HOSTNAME`] when the
    /// URL names no web host.
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
    /// Lowercased without `www.` for http(s); for an Android app,
    /// `android-app://` and the package as the `url` crate gives it.
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
    let mut object = parse_object(body).map_err(|msg| {
        let mut errors = FieldErrors::default();
        errors.add("request", msg);
        errors
    })?;
    let mut errors = FieldErrors::default();
    let beacon = parse_fields(&mut object, &mut errors);
    match beacon {
        Some(beacon) if errors.is_empty() => Ok(beacon),
        _ => Err(errors),
    }
}

/// Builds the beacon; `None` when a required field failed (its error is in
/// `errors`). Optional fields never fail.
fn parse_fields(fields: &mut Fields, errors: &mut FieldErrors) -> Option<Beacon> {
    let mut ignored = Ignored::default();
    let props = parse_props(fields.take_props(), &mut ignored);
    let name = keep(errors, "name", parse_name(fields.text("n", "name")));
    let hash_mode = parse_hash_mode(fields.get("h", "hashMode"), &mut ignored);
    let page = parse_page(fields.text("u", "url"), hash_mode);
    let page = keep(errors, "url", page);
    let domains = parse_domains(fields.text("d", "domain"), page.as_ref());
    let domains = keep(errors, "domain", domains);
    let referrer = parse_referrer(fields.text("r", "referrer"), &mut ignored);
    let interactive = parse_interactive(fields.get("i", "interactive"), &mut ignored);
    let revenue = parse_revenue(fields.get("$", "revenue"), &mut ignored);
    let mut count =
        |key, max: u32, field| parse_count(fields.one(key), max.into(), field, &mut ignored);
    let screen_width = count("w", u16::MAX.into(), OptionalField::ScreenWidth);
    let engagement_ms = count("e", u32::MAX, OptionalField::EngagementTime);
    let scroll_depth = parse_percent(fields.one("sd"), &mut ignored);
    let (name, page, domains) = (name?, page?, domains?);
    let kind = kind_of(&name);
    let (scroll_depth, engagement_ms) =
        engagement_fields(&kind, scroll_depth, engagement_ms, &mut ignored, errors)?;
    Some(Beacon {
        kind,
        name,
        domains,
        page,
        referrer,
        props,
        interactive,
        revenue,
        // The counts are already clamped, so these conversions cannot fail.
        screen_width: screen_width.and_then(|n| u16::try_from(n).ok()),
        scroll_depth,
        engagement_ms: engagement_ms.and_then(|n| u32::try_from(n).ok()),
        ignored,
    })
}

/// `sd` and `e` belong to `engagement` events: on any other event they are
/// left out (and counted as ignored), as Plausible reads them only there.
/// An engagement with neither is refused, as Plausible does: it would
/// measure nothing.
fn engagement_fields(
    kind: &EventKind,
    scroll_depth: Option<u8>,
    engagement_ms: Option<u64>,
    ignored: &mut Ignored,
    errors: &mut FieldErrors,
) -> Option<(Option<u8>, Option<u64>)> {
    if *kind != EventKind::Engagement {
        if scroll_depth.is_some() {
            ignored.add(OptionalField::ScrollDepth);
        }
        if engagement_ms.is_some() {
            ignored.add(OptionalField::EngagementTime);
        }
        return Some((None, None));
    }
    if scroll_depth.is_none() && engagement_ms.is_none() {
        errors.add("name", ENGAGEMENT_WITHOUT_FIELDS);
        return None;
    }
    Some((scroll_depth, engagement_ms))
}

/// Moves a field's error into `errors`, keeping the value when there is one.
fn keep<T>(errors: &mut FieldErrors, field: &str, result: Result<T, String>) -> Option<T> {
    result.map_err(|msg| errors.add(field, msg)).ok()
}

fn kind_of(name: &str) -> EventKind {
    match name {
        "pageview" => EventKind::Pageview,
        "engagement" => EventKind::Engagement,
        _ => EventKind::Custom,
    }
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

#[cfg(test)]
mod tests;
