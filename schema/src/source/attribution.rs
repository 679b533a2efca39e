//! Naming the source of a visit from its tags, click id and Referer, in
//! the precedence the module doc of `source` gives: a tag value resolves
//! through names, aliases and domains; a Referer through the host index,
//! unless it is the page's own host.

use super::click_ids::ClickId;
use super::hosts::{lowercase, normalise_host, tag_host};
use super::ANDROID_APP;
use super::{Sources, DIRECT};
use compact_str::CompactString;

/// What the classification looks at. All strings may be empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attribution<'a> {
    pub utm_source: &'a str,
    /// `?source=`
    pub source_param: &'a str,
    /// `?ref=`
    pub ref_param: &'a str,
    /// Host of the Referer, lowercased, without `www.`; for an Android
    /// app, `android-app://` and its package.
    pub referrer_host: &'a str,
    /// The page's hostname, lowercased, without `www.`.
    pub page_host: &'a str,
    pub click_id: Option<&'a ClickId>,
}

impl Attribution<'_> {
    /// The first non-blank tag value, in precedence order.
    pub(super) fn tag(&self) -> Option<&str> {
        [self.utm_source, self.source_param, self.ref_param]
            .into_iter()
            .map(str::trim)
            .find(|value| !value.is_empty())
    }
}

impl Sources {
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
        // An Android app is looked up by its package (Matomo's lists name
        // apps that way, as `linkedin.android` for `com.linkedin.android`),
        // and an unknown one is named as Plausible names it.
        if let Some(package) = host.strip_prefix(ANDROID_APP) {
            return match self.lookup_host(package) {
                Some(id) => self.name(id).into(),
                None => host.as_ref().into(),
            };
        }
        match self.lookup_host(&host) {
            Some(id) => self.name(id).into(),
            None => host.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tests::{classify, from_referrer};

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
}
