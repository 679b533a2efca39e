//! Host lookup in the index: the most specific match from the host up,
//! exact hosts before Matomo's `name.{}` wildcards (which stand for public
//! suffixes only), and the host normalisation and tag-value host
//! extraction that feed it. Runs on every beacon with a referrer.

use super::{NameId, Sources};
use std::borrow::Cow;

impl Sources {
    /// The most specific match: at each level from the host up to (not
    /// including) the top-level label, first the exact host, then the host
    /// minus its public suffix against the `name.{}` wildcards. So
    /// `images.google.de` is "Google Images" before `google.de` is "Google".
    pub(super) fn lookup_host(&self, host: &str) -> Option<NameId> {
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
pub(super) fn normalise_host(host: &str) -> Cow<'_, str> {
    match lowercase(crate::text::trim(host).trim_end_matches('.')) {
        Cow::Borrowed(h) => Cow::Borrowed(strip_www(h)),
        Cow::Owned(h) => Cow::Owned(strip_www(&h).to_owned()),
    }
}

fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

pub(super) fn lowercase(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The host in a tag value that looks like a domain or URL
/// (`news.ycombinator.com`, `https://t.co/abc`), else `None`.
pub(super) fn tag_host(tag: &str) -> Option<Cow<'_, str>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tests::{classify, from_referrer};
    use crate::source::DIRECT;

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
        // Android app referrers, as the beacon parser gives them: known by
        // the package, else named after it as Plausible names them.
        ("android-app://com.google.android.gm", "Gmail"),
        ("android-app://com.reddit.frontpage", "Reddit"),
        ("android-app://com.linkedin.android", "LinkedIn"),
        (
            "android-app://com.example.reader",
            "android-app://com.example.reader",
        ),
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
    fn path_patterns_do_not_claim_their_host() {
        // AIAssistants.yml lists "x.com/i/grok": x.com itself stays Twitter.
        assert_eq!(classify(&from_referrer("x.com")), "Twitter");
        assert_eq!(classify(&from_referrer("grok.com")), "Grok");
    }
}
