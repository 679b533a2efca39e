//! Source attribution: which source a visit came from ("Google", "Hacker News",
//! "blog.example.org", "Direct / None") and, when the page was not tagged with
//! `utm_medium`, which medium to store.
//!
//! Owns the host → name index, built once from Matomo's search engine, social
//! and AI assistant lists (vendored under `collector/data/referrer-sources/`)
//! plus a few hosts and tag aliases those lists lack, and the ad click id
//! table.
//!
//! Conventions, chosen to match Plausible where it has one and GA4 otherwise:
//! - Precedence: `utm_source`, `?source=`, `?ref=`, the click id, the Referer.
//! - Names are Matomo's (`Twitter` for x.com and t.co, `Yahoo!`), except that
//!   lower-case brands are capitalised (`Reddit`, `Tumblr`).
//! - A Referer from the page's own host (ignoring `www.`) is not a source:
//!   Plausible's rule. Another subdomain of the same site is a referral.
//! - An unknown Referer host is its own name, without `www.`.
//! - Medium without `utm_medium`: the click id's (`cpc`; `social` for fbclid,
//!   which Facebook adds to every outbound link, paid or not); otherwise search
//!   engines `organic`, social networks `social`, webmail `email`, AI
//!   assistants and unknown referrers `referral` (GA4 has no AI channel),
//!   direct `""`, and an unknown tag value `""` (GA4's "(not set)": a tag
//!   without a medium says nothing about the medium).

use compact_str::CompactString;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Host and name lookups are on the hot path; foldhash is several times
/// faster than the default SipHash for these short keys, and the keys come
/// from vendored data, not from clients choosing collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
use std::sync::LazyLock;

use serde::Deserialize;

/// The source of a visit with no tag, no click id and no outside Referer.
pub const DIRECT: &str = "Direct / None";

/// A recognised ad/click id query parameter. The value itself is never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickId {
    /// The parameter name, as the ad network spells it.
    pub param: &'static str,
    /// The source a click with this id comes from.
    pub source: &'static str,
    /// The medium to store when the page has no `utm_medium`.
    pub medium: &'static str,
}

const fn click(param: &'static str, source: &'static str, medium: &'static str) -> ClickId {
    ClickId {
        param,
        source,
        medium,
    }
}

/// Ad networks' click ids. All but fbclid mark a paid click; GA4 auto-tagging
/// stores those as medium `cpc`.
static CLICK_IDS: [ClickId; 13] = [
    click("gclid", "Google Ads", "cpc"),
    click("gbraid", "Google Ads", "cpc"),
    click("wbraid", "Google Ads", "cpc"),
    // Campaign Manager 360 / Display & Video 360: display ads, GA4's "Display".
    click("dclid", "Google Display", "display"),
    click("msclkid", "Microsoft Ads", "cpc"),
    // Facebook appends fbclid to every outbound link, organic shares included.
    click("fbclid", "Facebook", "social"),
    click("ttclid", "TikTok Ads", "cpc"),
    click("li_fat_id", "LinkedIn Ads", "cpc"),
    click("twclid", "Twitter Ads", "cpc"),
    click("yclid", "Yandex Ads", "cpc"),
    click("epik", "Pinterest Ads", "cpc"),
    click("rdt_cid", "Reddit Ads", "cpc"),
    click("ScCid", "Snapchat Ads", "cpc"),
];

/// Looks up a query parameter name (gclid, gbraid, wbraid, dclid, msclkid,
/// fbclid, ttclid, li_fat_id, twclid, yclid, epik, rdt_cid, ScCid).
/// Case-insensitive, since Snapchat's `ScCid` is also seen as `sccid`.
pub fn click_id(param: &str) -> Option<&'static ClickId> {
    CLICK_IDS
        .iter()
        .find(|c| c.param.eq_ignore_ascii_case(param))
}

/// What the classification looks at. All strings may be empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attribution<'a> {
    pub utm_source: &'a str,
    /// `?source=`
    pub source_param: &'a str,
    /// `?ref=`
    pub ref_param: &'a str,
    /// Host of the Referer, lowercased, without `www.`.
    pub referrer_host: &'a str,
    /// The page's hostname, lowercased, without `www.`.
    pub page_host: &'a str,
    pub click_id: Option<&'a ClickId>,
}

impl Attribution<'_> {
    /// The first non-blank tag value, in precedence order.
    fn tag(&self) -> Option<&str> {
        [self.utm_source, self.source_param, self.ref_param]
            .into_iter()
            .map(str::trim)
            .find(|value| !value.is_empty())
    }
}

/// What kind of site a named source is; decides the inferred medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Search,
    Social,
    AiAssistant,
    Email,
}

impl Kind {
    fn medium(self) -> &'static str {
        match self {
            Kind::Search => "organic",
            Kind::Social => "social",
            Kind::AiAssistant => "referral",
            Kind::Email => "email",
        }
    }
}

const AI_ASSISTANTS: &str = include_str!("../../data/referrer-sources/AIAssistants.yml");
const SOCIALS: &str = include_str!("../../data/referrer-sources/Socials.yml");
const SEARCH_ENGINES: &str = include_str!("../../data/referrer-sources/SearchEngines.yml");

/// Matomo spells a few brands in lower case or URL-encoded; show them as
/// people write them.
const DISPLAY_NAMES: [(&str, &str); 3] = [
    ("reddit", "Reddit"),
    ("tumblr", "Tumblr"),
    ("Google%2B", "Google+"),
];

/// Hosts every analytics user expects that the vendored lists lack: Android
/// app referrers (`android-app://<package>`, whose host is the package id),
/// webmail and WhatsApp. A test fails when upstream starts covering one.
const EXTRA_HOSTS: [(&str, Kind, &[&str]); 11] = [
    (
        "Gmail",
        Kind::Email,
        &["mail.google.com", "com.google.android.gm"],
    ),
    (
        "Outlook",
        Kind::Email,
        &[
            "outlook.live.com",
            "outlook.office.com",
            "outlook.office365.com",
            "com.microsoft.office.outlook",
        ],
    ),
    (
        "WhatsApp",
        Kind::Social,
        &["whatsapp.com", "wa.me", "com.whatsapp"],
    ),
    ("Facebook", Kind::Social, &["com.facebook.katana"]),
    ("Instagram", Kind::Social, &["com.instagram.android"]),
    ("Twitter", Kind::Social, &["com.twitter.android"]),
    ("YouTube", Kind::Social, &["com.google.android.youtube"]),
    (
        "DuckDuckGo",
        Kind::Search,
        &["com.duckduckgo.mobile.android"],
    ),
    ("ChatGPT", Kind::AiAssistant, &["com.openai.chatgpt"]),
    ("Claude", Kind::AiAssistant, &["com.anthropic.claude"]),
    (
        "Perplexity",
        Kind::AiAssistant,
        &["ai.perplexity.app.android"],
    ),
];

/// Short or informal tag values (`utm_source=fb`) for known names. Full names
/// match without an alias, case-insensitively.
const ALIASES: [(&str, &str); 14] = [
    ("fb", "Facebook"),
    ("ig", "Instagram"),
    ("insta", "Instagram"),
    ("tw", "Twitter"),
    ("x", "Twitter"),
    ("li", "LinkedIn"),
    ("yt", "YouTube"),
    ("hn", "Hacker News"),
    ("hackernews", "Hacker News"),
    ("ycombinator", "Hacker News"),
    ("ddg", "DuckDuckGo"),
    ("yahoo", "Yahoo!"),
    ("openai", "ChatGPT"),
    ("bsky", "Bluesky"),
];

/// Search engine names that are also everyday words. A tag such as
/// `utm_source=inbox` or `ref=free` is someone's own label, not the engine.
const NOT_TAG_NAMES: [&str; 13] = [
    "atlas",
    "charter",
    "crawler",
    "free",
    "frontier",
    "holmes",
    "inbox",
    "orange",
    "skynet",
    "terra",
    "websearch",
    "witch",
    "you",
];

/// Index into `Sources::names`.
type NameId = u16;

struct Name {
    name: Box<str>,
    kind: Kind,
}

/// The host → name index built from the vendored lists, plus aliases.
pub struct Sources {
    names: Vec<Name>,
    /// Canonical name → id, to find a name's kind.
    by_name: HashMap<Box<str>, NameId>,
    /// Lowercased names and aliases → id, for tag values.
    by_tag: HashMap<Box<str>, NameId>,
    /// Exact host (no `www.`) → id. Also matches subdomains.
    hosts: HashMap<Box<str>, NameId>,
    /// Host minus its public suffix → id, for Matomo's `google.{}`.
    stems: HashMap<Box<str>, NameId>,
}

static SHARED: LazyLock<Sources> = LazyLock::new(Sources::vendored);

impl Sources {
    /// Built once per process from the vendored files on first use.
    pub fn shared() -> &'static Sources {
        &SHARED
    }

    /// The visit's source name.
    pub fn classify(&self, a: &Attribution) -> CompactString {
        if let Some(tag) = a.tag() {
            return self.resolve_tag(tag);
        }
        // An outside referrer names the source even with a click id (Meta
        // adds `fbclid` to links from Instagram and Messenger too); the click
        // id names it only when there is no referrer.
        let from_referrer = self.resolve_referrer(a.referrer_host, a.page_host);
        match a.click_id {
            Some(click) if from_referrer == DIRECT => click.source.into(),
            _ => from_referrer,
        }
    }

    /// The medium to store when `utm_medium` is absent, for the `source` that
    /// `classify` returned. See the module doc for the conventions.
    pub fn infer_medium(&self, a: &Attribution, source: &str) -> &'static str {
        if let Some(click) = a.click_id {
            return click.medium;
        }
        if source.is_empty() || source == DIRECT {
            return "";
        }
        match self.kind_of(source) {
            Some(kind) => kind.medium(),
            None if a.tag().is_some() => "",
            None => "referral",
        }
    }

    fn kind_of(&self, source: &str) -> Option<Kind> {
        self.by_name
            .get(source)
            .map(|&id| self.names[usize::from(id)].kind)
    }

    fn name(&self, id: NameId) -> &str {
        &self.names[usize::from(id)].name
    }

    /// A known name or alias, else a domain resolved like a Referer, else the
    /// value as given.
    fn resolve_tag(&self, tag: &str) -> CompactString {
        let id = self
            .by_tag
            .get(lowercase(tag).as_ref())
            .copied()
            .or_else(|| tag_host(tag).and_then(|host| self.lookup_host(&host)));
        id.map_or_else(|| tag.into(), |id| self.name(id).into())
    }

    fn resolve_referrer(&self, referrer_host: &str, page_host: &str) -> CompactString {
        let host = normalise_host(referrer_host);
        if host.is_empty() || host == normalise_host(page_host) {
            return CompactString::const_new(DIRECT);
        }
        match self.lookup_host(&host) {
            Some(id) => self.name(id).into(),
            None => host.into(),
        }
    }

    /// The most specific match: at each level from the host up to (not
    /// including) the top-level label, first the exact host, then the host
    /// minus its public suffix against the `name.{}` wildcards. So
    /// `images.google.de` is "Google Images" before `google.de` is "Google".
    fn lookup_host(&self, host: &str) -> Option<NameId> {
        let suffix_len = wildcard_suffix_len(host);
        let mut level = host;
        loop {
            if let Some(&id) = self.hosts.get(level) {
                return Some(id);
            }
            let stem = suffix_len.and_then(|len| stem(level, len));
            if let Some(&id) = stem.and_then(|s| self.stems.get(s)) {
                return Some(id);
            }
            match crate::text::split_at_byte(level, b'.') {
                Some((_, parent)) if parent.contains('.') => level = parent,
                _ => return None,
            }
        }
    }
}

/// The length of the public suffix that `name.{}` wildcards may stand for.
/// Not a private suffix: `yandex.github.io` is somebody's site, not Yandex.
fn wildcard_suffix_len(host: &str) -> Option<usize> {
    let suffix = psl::suffix(host.as_bytes())?;
    (suffix.typ() != Some(psl::Type::Private)).then(|| suffix.as_bytes().len())
}

/// `level` without its public suffix (`google` for `google.co.uk`), when it
/// has a label before the suffix.
fn stem(level: &str, suffix_len: usize) -> Option<&str> {
    let end = level.len().checked_sub(suffix_len + 1)?;
    level.get(..end).filter(|s| !s.is_empty())
}

/// Lowercased, without surrounding blanks, a trailing dot or `www.`. Callers
/// already pass hosts this way; this keeps a stray `WWW.Example.com` from
/// becoming its own source. Borrows in the usual case.
fn normalise_host(host: &str) -> Cow<'_, str> {
    match lowercase(crate::text::trim(host).trim_end_matches('.')) {
        Cow::Borrowed(h) => Cow::Borrowed(strip_www(h)),
        Cow::Owned(h) => Cow::Owned(strip_www(&h).to_owned()),
    }
}

fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

fn lowercase(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The host in a tag value that looks like a domain or URL
/// (`news.ycombinator.com`, `https://t.co/abc`), else `None`.
fn tag_host(tag: &str) -> Option<Cow<'_, str>> {
    if tag.contains(char::is_whitespace) {
        return None;
    }
    // The first `://`, found through its `:` (a substring searcher costs
    // more to set up than a tag takes to scan; this runs on every tagged
    // beacon).
    let bytes = tag.as_bytes();
    let rest = memchr::memchr_iter(b':', bytes)
        .find(|&at| bytes[at + 1..].starts_with(b"//"))
        .map_or(tag, |at| &tag[at + 3..]);
    let host = rest.split(['/', '?', '#', ':']).next().unwrap_or_default();
    host.contains('.').then(|| normalise_host(host))
}

#[derive(Deserialize)]
struct SearchEngine {
    #[serde(default)]
    urls: Vec<String>,
}

/// Name → hosts, in the shape of Socials.yml and AIAssistants.yml.
type HostLists = BTreeMap<String, Vec<String>>;

impl Sources {
    /// Parses the vendored YAML. The files are compiled in and covered by
    /// tests, so a parse failure is a build defect, not a runtime condition.
    fn vendored() -> Self {
        let mut builder = Builder::from_lists();
        builder.add_extra_hosts();
        builder.finish()
    }
}

/// Collects names and hosts; names are merged case-insensitively.
#[derive(Default)]
struct Builder {
    names: Vec<Name>,
    /// Lowercased name → id.
    by_lower: HashMap<Box<str>, NameId>,
    hosts: HashMap<Box<str>, NameId>,
    stems: HashMap<Box<str>, NameId>,
}

impl Builder {
    /// The vendored lists alone, without `EXTRA_HOSTS`.
    fn from_lists() -> Self {
        let ai: HostLists =
            serde_yaml_ng::from_str(AI_ASSISTANTS).expect("vendored AIAssistants.yml");
        let socials: HostLists = serde_yaml_ng::from_str(SOCIALS).expect("vendored Socials.yml");
        let engines: BTreeMap<String, Vec<SearchEngine>> =
            serde_yaml_ng::from_str(SEARCH_ENGINES).expect("vendored SearchEngines.yml");
        let mut builder = Self::default();
        // First registration wins a name's spelling and kind, and a host's
        // name: ChatGPT and Perplexity are also listed as search engines, and
        // Facebook's search page too, but they are an assistant and a network.
        for (name, hosts) in &ai {
            builder.register(name, Kind::AiAssistant, hosts.iter().map(String::as_str));
        }
        for (name, hosts) in &socials {
            builder.register(name, Kind::Social, hosts.iter().map(String::as_str));
        }
        for (name, defs) in &engines {
            let hosts = defs.iter().flat_map(|d| d.urls.iter().map(String::as_str));
            builder.register(name, Kind::Search, hosts);
        }
        builder
    }

    fn add_extra_hosts(&mut self) {
        for (name, kind, hosts) in EXTRA_HOSTS {
            self.register(name, kind, hosts.iter().copied());
        }
    }

    /// The index, with tag lookups for every name not in `NOT_TAG_NAMES`
    /// and for `ALIASES`.
    fn finish(self) -> Sources {
        let by_name = self
            .names
            .iter()
            .enumerate()
            .map(|(id, n)| (n.name.clone(), to_id(id)))
            .collect();
        let mut by_tag: HashMap<Box<str>, NameId> = self.by_lower;
        by_tag.retain(|key, _| !NOT_TAG_NAMES.contains(&key.as_ref()));
        for (alias, name) in ALIASES {
            let id = by_tag.get(name.to_lowercase().as_str()).copied();
            debug_assert!(id.is_some(), "alias {alias} for unknown name {name}");
            if let Some(id) = id {
                by_tag.entry(alias.into()).or_insert(id);
            }
        }
        Sources {
            names: self.names,
            by_name,
            by_tag,
            hosts: self.hosts,
            stems: self.stems,
        }
    }

    fn register<'h>(&mut self, name: &str, kind: Kind, hosts: impl Iterator<Item = &'h str>) {
        let id = self.intern(name, kind);
        for host in hosts {
            self.add_host(host, id);
        }
    }

    /// The id for `name`, case-insensitively, creating it if new.
    fn intern(&mut self, name: &str, kind: Kind) -> NameId {
        let name = DISPLAY_NAMES
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name, |(_, to)| to);
        let next = to_id(self.names.len());
        let id = *self
            .by_lower
            .entry(name.to_lowercase().into())
            .or_insert(next);
        if id == next {
            self.names.push(Name {
                name: name.into(),
                kind,
            });
        }
        id
    }

    /// Indexes one Matomo host pattern. `{}` stands for any public suffix at
    /// the end (`google.{}`) and any subdomain at the start (`{}.bing.com`);
    /// subdomains match anyway, so the latter is just its parent. Patterns
    /// with a path, or a `{}` elsewhere, cannot be told from the host alone
    /// and are skipped: their hosts are covered by other entries.
    fn add_host(&mut self, pattern: &str, id: NameId) {
        let pattern = pattern.trim().to_lowercase();
        let pattern = pattern.strip_prefix("{}.").unwrap_or(&pattern);
        let pattern = pattern.strip_prefix("www.").unwrap_or(pattern);
        if pattern.contains('/') {
            return;
        }
        let (map, key) = match pattern.strip_suffix(".{}") {
            Some(stem) => (&mut self.stems, stem),
            None => (&mut self.hosts, pattern),
        };
        if !key.is_empty() && !key.contains("{}") {
            map.entry(key.into()).or_insert(id);
        }
    }
}

/// Three lists of a few hundred names each stay far below `u16::MAX`.
fn to_id(index: usize) -> NameId {
    NameId::try_from(index).expect("fewer than 65,536 source names")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_hosts_are_cut_at_the_first_scheme_separator() {
        let host = |tag: &str| tag_host(tag).map(Cow::into_owned);
        assert_eq!(
            host("news.ycombinator.com").as_deref(),
            Some("news.ycombinator.com")
        );
        assert_eq!(host("https://t.co/abc").as_deref(), Some("t.co"));
        assert_eq!(host("a:b://c.d/x").as_deref(), Some("c.d"));
        assert_eq!(host("x://y.example://z").as_deref(), Some("y.example"));
        assert_eq!(host("newsletter"), None);
        assert_eq!(host("ends-with:").as_deref(), None);
        assert_eq!(host("a.b:"), Some("a.b".to_owned()));
    }

    const SITE: &str = "example.com";

    fn from_referrer(referrer_host: &str) -> Attribution<'_> {
        Attribution {
            referrer_host,
            page_host: SITE,
            ..Attribution::default()
        }
    }

    fn classify(a: &Attribution) -> CompactString {
        Sources::shared().classify(a)
    }

    fn medium(a: &Attribution) -> &'static str {
        let sources = Sources::shared();
        sources.infer_medium(a, &sources.classify(a))
    }

    /// Referer host → the source an analyst expects to see, written by hand.
    const REFERRERS: &[(&str, &str)] = &[
        // Search engines, including Matomo's `google.{}` / `yandex.{}` wildcards.
        ("google.com", "Google"),
        ("google.co.uk", "Google"),
        ("www.google.co.uk", "Google"),
        ("google.de", "Google"),
        ("google.com.au", "Google"),
        ("images.google.com", "Google Images"),
        ("news.google.com", "Google News"),
        ("com.google.android.googlequicksearchbox", "Google"),
        ("bing.com", "Bing"),
        ("cn.bing.com", "Bing"),
        ("duckduckgo.com", "DuckDuckGo"),
        ("search.yahoo.com", "Yahoo!"),
        ("uk.search.yahoo.com", "Yahoo!"),
        ("yandex.ru", "Yandex"),
        ("yandex.com.tr", "Yandex"),
        ("baidu.com", "Baidu"),
        ("m.baidu.com", "Baidu"),
        ("ecosia.org", "Ecosia"),
        ("search.brave.com", "Brave"),
        ("kagi.com", "Kagi"),
        // Social networks; Matomo names X "Twitter".
        ("t.co", "Twitter"),
        ("twitter.com", "Twitter"),
        ("mobile.twitter.com", "Twitter"),
        ("x.com", "Twitter"),
        ("facebook.com", "Facebook"),
        ("l.facebook.com", "Facebook"),
        ("lm.facebook.com", "Facebook"),
        ("m.facebook.com", "Facebook"),
        ("instagram.com", "Instagram"),
        ("l.instagram.com", "Instagram"),
        ("linkedin.com", "LinkedIn"),
        ("lnkd.in", "LinkedIn"),
        ("reddit.com", "Reddit"),
        ("old.reddit.com", "Reddit"),
        ("out.reddit.com", "Reddit"),
        ("news.ycombinator.com", "Hacker News"),
        ("youtube.com", "YouTube"),
        ("m.youtube.com", "YouTube"),
        ("youtu.be", "YouTube"),
        ("pinterest.com", "Pinterest"),
        ("pinterest.co.uk", "Pinterest"),
        ("bsky.app", "Bluesky"),
        ("mastodon.social", "Mastodon"),
        ("github.com", "GitHub"),
        ("wa.me", "WhatsApp"),
        // AI assistants.
        ("chatgpt.com", "ChatGPT"),
        ("chat.openai.com", "ChatGPT"),
        ("perplexity.ai", "Perplexity"),
        ("www.perplexity.ai", "Perplexity"),
        ("claude.ai", "Claude"),
        ("gemini.google.com", "Gemini"),
        ("copilot.microsoft.com", "Copilot"),
        // Android app referrers: the url crate's host of `android-app://<package>/`.
        ("com.google.android.gm", "Gmail"),
        ("com.reddit.frontpage", "Reddit"),
        ("com.linkedin.android", "LinkedIn"),
        ("mail.google.com", "Gmail"),
        // Unknown hosts are their own source, without "www.".
        ("blog.example.org", "blog.example.org"),
        ("www.some-blog.net", "some-blog.net"),
        ("Blog.Example.ORG", "blog.example.org"),
        ("notgoogle.com", "notgoogle.com"),
        ("google.example.org", "google.example.org"),
        ("yandex.github.io", "yandex.github.io"),
        ("192.168.1.10", "192.168.1.10"),
        ("localhost", "localhost"),
        // Self-referral: only the page's own host; another subdomain refers.
        ("example.com", DIRECT),
        ("www.example.com", DIRECT),
        ("shop.example.com", "shop.example.com"),
        ("", DIRECT),
    ];

    #[test]
    fn referrer_hosts() {
        assert!(REFERRERS.len() >= 30);
        let failures: Vec<String> = REFERRERS
            .iter()
            .filter_map(|&(host, expected)| {
                let got = classify(&from_referrer(host));
                (got != expected).then(|| format!("{host:?}: expected {expected:?}, got {got:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn page_host_with_www_is_still_self() {
        let a = Attribution {
            referrer_host: "example.com",
            page_host: "www.example.com",
            ..Default::default()
        };
        assert_eq!(classify(&a), DIRECT);
    }

    #[test]
    fn utm_source_beats_referrer() {
        let a = Attribution {
            utm_source: "newsletter",
            ..from_referrer("google.com")
        };
        assert_eq!(classify(&a), "newsletter");
    }

    #[test]
    fn precedence_utm_then_source_then_ref() {
        let all = Attribution {
            utm_source: "twitter",
            source_param: "producthunt",
            ref_param: "hn",
            ..from_referrer("google.com")
        };
        assert_eq!(classify(&all), "Twitter");
        let no_utm = Attribution {
            utm_source: "",
            ..all
        };
        assert_eq!(classify(&no_utm), "producthunt");
        let ref_only = Attribution {
            source_param: "  ",
            ..no_utm
        };
        assert_eq!(classify(&ref_only), "Hacker News");
    }

    #[test]
    fn tag_values_match_names_and_aliases_case_insensitively() {
        let cases = [
            ("google", "Google"),
            ("fb", "Facebook"),
            ("FB", "Facebook"),
            ("facebook", "Facebook"),
            ("ig", "Instagram"),
            ("instagram", "Instagram"),
            ("tw", "Twitter"),
            ("x", "Twitter"),
            ("twitter", "Twitter"),
            ("li", "LinkedIn"),
            ("linkedin", "LinkedIn"),
            ("yt", "YouTube"),
            ("youtube", "YouTube"),
            ("hn", "Hacker News"),
            ("hackernews", "Hacker News"),
            ("Hacker News", "Hacker News"),
            ("reddit", "Reddit"),
            ("chatgpt", "ChatGPT"),
            ("perplexity", "Perplexity"),
            ("bing", "Bing"),
            ("duckduckgo", "DuckDuckGo"),
            ("ddg", "DuckDuckGo"),
            (" Reddit ", "Reddit"),
        ];
        for (tag, expected) in cases {
            let a = Attribution {
                utm_source: tag,
                ..Attribution::default()
            };
            assert_eq!(classify(&a), expected, "utm_source={tag:?}");
        }
    }

    #[test]
    fn tag_values_that_are_domains_resolve_like_referrers() {
        let cases = [
            ("news.ycombinator.com", "Hacker News"),
            ("t.co", "Twitter"),
            ("chatgpt.com", "ChatGPT"),
            ("www.Google.de", "Google"),
            ("https://www.reddit.com/r/rust/", "Reddit"),
            ("partner.example.org", "partner.example.org"),
        ];
        for (tag, expected) in cases {
            let a = Attribution {
                ref_param: tag,
                ..Attribution::default()
            };
            assert_eq!(classify(&a), expected, "ref={tag:?}");
        }
    }

    #[test]
    fn unknown_tag_values_are_kept_trimmed() {
        for (tag, expected) in [
            ("newsletter", "newsletter"),
            ("  Spring Sale ", "Spring Sale"),
            ("inbox", "inbox"),
            ("free", "free"),
        ] {
            let a = Attribution {
                utm_source: tag,
                ..Attribution::default()
            };
            assert_eq!(classify(&a), expected, "utm_source={tag:?}");
        }
    }

    #[test]
    fn click_ids_are_looked_up_by_name() {
        assert_eq!(click_id("gclid").map(|c| c.source), Some("Google Ads"));
        assert_eq!(click_id("msclkid").map(|c| c.source), Some("Microsoft Ads"));
        assert_eq!(click_id("sccid").map(|c| c.param), Some("ScCid"));
        assert_eq!(click_id("ScCid").map(|c| c.source), Some("Snapchat Ads"));
        assert_eq!(click_id("fbclid").map(|c| c.medium), Some("social"));
        assert_eq!(click_id("utm_source"), None);
        assert_eq!(click_id(""), None);
    }

    #[test]
    fn gclid_alone_is_google_ads_cpc() {
        let a = Attribution {
            click_id: click_id("gclid"),
            ..from_referrer("")
        };
        assert_eq!(classify(&a), "Google Ads");
        assert_eq!(medium(&a), "cpc");
        // The precedence puts the Referer before anything else: the
        // click id then only tells the medium (google / cpc, as GA has it).
        let with_referrer = Attribution {
            referrer_host: "google.com",
            ..a
        };
        assert_eq!(classify(&with_referrer), "Google");
        assert_eq!(medium(&with_referrer), "cpc");
        // fbclid rides on Instagram's outbound links too.
        let instagram = Attribution {
            referrer_host: "l.instagram.com",
            click_id: click_id("fbclid"),
            ..Attribution::default()
        };
        assert_eq!(classify(&instagram), "Instagram");
    }

    #[test]
    fn tags_beat_the_click_id_but_keep_its_medium() {
        let a = Attribution {
            utm_source: "google",
            click_id: click_id("gclid"),
            ..Attribution::default()
        };
        assert_eq!(classify(&a), "Google");
        assert_eq!(medium(&a), "cpc");
    }

    #[test]
    fn fbclid_is_facebook_social() {
        let a = Attribution {
            click_id: click_id("fbclid"),
            ..Attribution::default()
        };
        assert_eq!(classify(&a), "Facebook");
        assert_eq!(medium(&a), "social");
        let from_facebook = Attribution {
            referrer_host: "l.facebook.com",
            ..a
        };
        assert_eq!(classify(&from_facebook), "Facebook");
    }

    #[test]
    fn inferred_media() {
        let cases = [
            (from_referrer("google.com"), "organic"),
            (from_referrer("duckduckgo.com"), "organic"),
            (from_referrer("t.co"), "social"),
            (from_referrer("news.ycombinator.com"), "social"),
            (from_referrer("chatgpt.com"), "referral"),
            (from_referrer("mail.google.com"), "email"),
            (from_referrer("blog.example.org"), "referral"),
            (from_referrer("shop.example.com"), "referral"),
            (from_referrer("example.com"), ""),
            (from_referrer(""), ""),
            (
                Attribution {
                    utm_source: "twitter",
                    ..Attribution::default()
                },
                "social",
            ),
            (
                Attribution {
                    utm_source: "google",
                    ..Attribution::default()
                },
                "organic",
            ),
            (
                Attribution {
                    utm_source: "chatgpt.com",
                    ..Attribution::default()
                },
                "referral",
            ),
            (
                Attribution {
                    utm_source: "newsletter",
                    ..Attribution::default()
                },
                "",
            ),
            (
                Attribution {
                    ref_param: "producthunt",
                    ..from_referrer("producthunt.com")
                },
                "",
            ),
            (
                Attribution {
                    click_id: click_id("msclkid"),
                    ..Attribution::default()
                },
                "cpc",
            ),
            (
                Attribution {
                    click_id: click_id("dclid"),
                    ..Attribution::default()
                },
                "display",
            ),
        ];
        for (a, expected) in cases {
            assert_eq!(medium(&a), expected, "{a:?}");
        }
    }

    #[test]
    fn names_keep_one_spelling_and_the_first_kind() {
        let sources = Sources::shared();
        // Listed as both assistant and search engine: an assistant.
        assert_eq!(sources.kind_of("ChatGPT"), Some(Kind::AiAssistant));
        assert_eq!(sources.kind_of("You"), Some(Kind::AiAssistant));
        // Facebook's search page is in SearchEngines.yml too.
        assert_eq!(sources.kind_of("Facebook"), Some(Kind::Social));
        assert_eq!(sources.kind_of("Reddit"), Some(Kind::Social));
        assert_eq!(sources.kind_of("reddit"), None);
        assert_eq!(sources.kind_of("Google+"), Some(Kind::Social));
        let mut lower: Vec<String> = sources
            .names
            .iter()
            .map(|n| n.name.to_lowercase())
            .collect();
        let total = lower.len();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), total, "names differing only in case");
    }

    #[test]
    fn every_alias_names_a_known_source() {
        let sources = Sources::shared();
        for (alias, name) in ALIASES {
            assert!(sources.by_name.contains_key(name), "{alias} → {name}");
            assert!(
                sources
                    .by_tag
                    .get(alias)
                    .is_some_and(|&id| sources.name(id) == name),
                "{alias}"
            );
        }
    }

    /// Each hand-added host must still be needed: when upstream starts listing
    /// it, this fails and the entry should be deleted from `EXTRA_HOSTS`.
    #[test]
    fn extra_hosts_are_not_in_the_vendored_lists() {
        let lists = Builder::from_lists().finish();
        let full = Sources::shared();
        for (name, _, hosts) in EXTRA_HOSTS {
            for host in hosts {
                let upstream = lists.lookup_host(host).map(|id| lists.name(id));
                assert_ne!(upstream, Some(name), "{host} is now upstream");
                assert_eq!(
                    full.lookup_host(host).map(|id| full.name(id)),
                    Some(name),
                    "{host}"
                );
            }
        }
    }

    #[test]
    fn path_patterns_do_not_claim_their_host() {
        // AIAssistants.yml lists "x.com/i/grok": x.com itself stays Twitter.
        assert_eq!(classify(&from_referrer("x.com")), "Twitter");
        assert_eq!(classify(&from_referrer("grok.com")), "Grok");
    }

    /// Prints the index build time: run with `--nocapture` to see it.
    #[test]
    fn build_time() {
        let started = std::time::Instant::now();
        let sources = Sources::vendored();
        let elapsed = started.elapsed();
        eprintln!(
            "Sources index: {} names, {} hosts, {} wildcard stems, built in {elapsed:?}",
            sources.names.len(),
            sources.hosts.len(),
            sources.stems.len()
        );
        assert!(sources.hosts.len() > 800);
    }
}
