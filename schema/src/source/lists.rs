//! The host → name index, built once from Matomo's vendored lists (search
//! engines, social networks, AI assistants) plus the hosts, display names,
//! aliases and exclusions they lack. Names merge case-insensitively and the
//! first registration wins a name's spelling and kind.

use super::medium::Kind;
use super::{HashMap, Name, NameId, Sources};
use serde::Deserialize;
use std::collections::BTreeMap;

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
    pub(super) fn vendored() -> Self {
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
