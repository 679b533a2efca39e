//! Bot verdicts: which requests come from crawlers, tools, monitors or
//! preloading browsers rather than from a person looking at the page.
//!
//! A user agent is a bot when
//! - it is shorter than `MIN_BROWSER_UA_LEN` once trimmed: every browser
//!   sends a long user agent (well over 60 characters), while scripts send
//!   things like `node`, `Ruby` or an empty header. The collector already
//!   rejects a missing header with 400; a present but tiny one lands here;
//! - or it matches a pattern of the vendored crawler-user-agents list
//!   (`collector/data/crawler-user-agents/`, MIT) or one of `OUR_PATTERNS`.
//!
//! All patterns are matched ignoring case: bots spell
//! their own names inconsistently (`GoogleBot`, `baiduspider`, `DotBot`). The
//! list's README only says its patterns are regexes, and its own libraries
//! match case-sensitively by default; ignoring case catches more bots, and
//! the few patterns that would then hit real browsers (`Sonic` in
//! "Panasonic", `NING/` in "Lightning/") are tightened in `OVERRIDES`.
//!
//! Most patterns (about 1,400 of 1,500) are plain words like `Googlebot`.
//! Those go into one Aho-Corasick automaton matched ignoring ASCII case; the
//! rest into one alternation `(?:p1)|(?:p2)|...`, matched ignoring case.
//! Compiled as one alternation the whole list took about 10 MB of memory;
//! split this way it takes about 3 MB (JSON parsing included), and gives
//! the same verdicts (a test compares the two). Not a `RegexSet`: we
//! only ask whether any pattern matches, and the set takes ~0.7 s to build.
//!
//! `UserAgents::classify` in `ua.rs` adds uap's "Spider" device family on top.
//! Never log a user agent.

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexBuilder};
use regex_syntax::hir::HirKind;
use serde::Deserialize;

/// The crawler-user-agents list (npm `crawler-user-agents` 1.60.0).
const VENDORED_JSON: &str = include_str!("../../data/crawler-user-agents/crawler-user-agents.json");

/// Shorter than this (in bytes, after trimming) is a script, not a browser.
/// The shortest browser user agents in use are several times longer.
const MIN_BROWSER_UA_LEN: usize = 10;

/// Our additions to the vendored list: HTTP libraries, automation and other
/// tools it does not cover (tests check the ones it does cover too). Electron
/// is deliberately absent: its token is in every desktop app built on it, and
/// people browse through those apps.
const OUR_PATTERNS: &[&str] = &[
    // Headless and automated browsers.
    "Headless",
    "Cypress/",
    // HTTP libraries and runtimes with their default user agent.
    "^Java/",
    "^Java-http-client/",
    "^Wget2?/",
    "^undici",
    "reqwest/",
    "^Deno/",
    "^Bun/",
    "^Dart/",
    "^GuzzleHttp/",
    "^PostmanRuntime/",
    "^insomnia/",
    "^Faraday v",
    "PowerShell/",
    // A bare product token with nothing after it is a script.
    r"^Mozilla/[0-9.]+$",
];

/// Vendored patterns that match real browsers (found by running uap-core's
/// test user agents through the list), and what we match instead: the bot's
/// own token, as in the list's example instances.
const OVERRIDES: &[(&str, &str)] = &[
    // Panasonic, ViewSonic and Huawei "Ultra Sonic" phones, Slack's desktop app.
    ("Sonic", r"\bSonic/|RankSonic"),
    // HTC Butterfly phones.
    ("Butterfly", "Butterfly/"),
    // Lightning/ in SeaMonkey and Thunderbird.
    (r"NING\/", r"\bNING/"),
    // The Windows Phone "FLUID".
    ("Fluid", "Fluid/"),
    // Lightningyak/.
    (r"YaK\/", r"\bYaK/"),
];

/// Enough for the whole list compiled ignoring case (it needs about 2 MiB),
/// with room for the list to grow.
const SIZE_LIMIT: usize = 16 << 20;

/// One entry of crawler-user-agents.json; its other fields are documentation.
#[derive(Deserialize)]
struct Crawler {
    pattern: String,
}

/// Every bot pattern, compiled once: the plain words in one automaton, the
/// true regexes in one alternation.
pub struct BotPatterns {
    words: AhoCorasick,
    any: Regex,
}

impl BotPatterns {
    /// The vendored crawler-user-agents patterns plus our own additions.
    ///
    /// Panics only if the vendored data is broken, which the tests would show.
    pub fn vendored() -> Self {
        let patterns: Vec<String> = vendored_patterns()
            .iter()
            .map(|pattern| overridden(pattern))
            .chain(OUR_PATTERNS.iter().map(|pattern| pattern.to_string()))
            .collect();
        let (mut words, mut regexes) = (Vec::new(), Vec::new());
        for pattern in patterns {
            match plain_word(&pattern) {
                Some(word) => words.push(word),
                None => regexes.push(pattern),
            }
        }
        let patterns = regexes;
        let words = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&words)
            .expect("a few thousand words fit an automaton");
        let any = build_any(&patterns).unwrap_or_else(|_| {
            // A data update brought a pattern the regex crate rejects
            // (look-around, back-references): drop those, keep the rest.
            let usable = compilable(&patterns);
            tracing::warn!(
                skipped = patterns.len() - usable.len(),
                "bot patterns skipped"
            );
            build_any(&usable).expect("vendored bot patterns compile")
        });
        Self { words, any }
    }

    /// Whether this user agent belongs to a bot, a tool or a script.
    pub fn is_bot(&self, user_agent: &str) -> bool {
        user_agent.trim().len() < MIN_BROWSER_UA_LEN
            || self.words.is_match(user_agent)
            || self.any.is_match(user_agent)
    }
}

/// Parsed once: looking a header up by string parses the name every time.
static PREFETCH_HEADERS: [http::HeaderName; 3] = [
    http::HeaderName::from_static("sec-purpose"),
    http::HeaderName::from_static("purpose"),
    http::HeaderName::from_static("x-moz"),
];

/// `Purpose: prefetch` or `Sec-Purpose: prefetch` (also `prefetch;prerender`):
/// the browser is only preloading, nobody has seen the page yet. Old Firefox
/// said `X-Moz: prefetch`.
pub fn is_prefetch(headers: &http::HeaderMap) -> bool {
    PREFETCH_HEADERS.iter().any(|name| {
        headers
            .get_all(name)
            .iter()
            .any(|value| first_token_is_prefetch(value.as_bytes()))
    })
}

/// `prefetch`, `prefetch;prerender`, `Prefetch`: the first `;`-separated item.
fn first_token_is_prefetch(value: &[u8]) -> bool {
    let first = value.split(|byte| *byte == b';').next().unwrap_or_default();
    first.trim_ascii().eq_ignore_ascii_case(b"prefetch")
}

fn vendored_patterns() -> Vec<String> {
    let crawlers: Vec<Crawler> =
        serde_json::from_str(VENDORED_JSON).expect("vendored crawler-user-agents.json parses");
    crawlers
        .into_iter()
        .map(|crawler| crawler.pattern)
        .collect()
}

/// The pattern itself, or its replacement from `OVERRIDES`.
fn overridden(pattern: &str) -> String {
    OVERRIDES
        .iter()
        .find(|(original, _)| *original == pattern)
        .map_or(pattern, |(_, replacement)| replacement)
        .to_string()
}

/// The text a pattern matches when it is a plain ASCII word (escapes such
/// as `\/` allowed): matching it ignoring ASCII case is then the same as
/// the regex ignoring case. `None` for anything with regex syntax in it, or
/// with letters outside ASCII, whose case folding is Unicode's.
fn plain_word(pattern: &str) -> Option<String> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    match hir.kind() {
        HirKind::Literal(literal) if literal.0.is_ascii() => {
            String::from_utf8(literal.0.to_vec()).ok()
        }
        _ => None,
    }
}

/// One regex matching wherever any of the patterns matches.
fn build_any(patterns: &[String]) -> Result<Regex, regex::Error> {
    let alternation: Vec<String> = patterns
        .iter()
        .map(|pattern| format!("(?:{pattern})"))
        .collect();
    RegexBuilder::new(&alternation.join("|"))
        .case_insensitive(true)
        .size_limit(SIZE_LIMIT)
        .build()
}

/// The patterns the regex crate accepts on their own. Slow (one compile
/// each), so only used when the whole alternation fails.
fn compilable(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .filter(|pattern| regex::RegexBuilder::new(pattern).build().is_ok())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::LazyLock;

    static PATTERNS: LazyLock<BotPatterns> = LazyLock::new(BotPatterns::vendored);

    /// How many crawler-user-agents 1.60.0 patterns the regex crate rejects.
    /// A data update that changes this must be looked at.
    const REJECTED_VENDORED: usize = 0;

    #[test]
    fn vendored_patterns_the_regex_crate_rejects_are_counted() {
        let vendored = vendored_patterns();
        assert_eq!(vendored.len(), 1500, "crawler-user-agents 1.60.0 has 1500");
        let rejected = vendored.len() - compilable(&vendored).len();
        assert_eq!(rejected, REJECTED_VENDORED);
    }

    #[test]
    fn whole_list_compiles_without_the_fallback() {
        let patterns: Vec<String> = vendored_patterns().iter().map(|p| overridden(p)).collect();
        assert!(build_any(&patterns).is_ok());
    }

    #[test]
    fn our_patterns_and_overrides_compile() {
        for pattern in OUR_PATTERNS {
            assert!(regex::Regex::new(pattern).is_ok(), "{pattern}");
        }
        let vendored = vendored_patterns();
        for (original, replacement) in OVERRIDES {
            assert!(vendored.iter().any(|p| p == original), "stale: {original}");
            assert!(regex::Regex::new(replacement).is_ok(), "{replacement}");
        }
    }

    /// The old way: every pattern in one case-insensitive alternation.
    fn one_alternation() -> Regex {
        let patterns: Vec<String> = vendored_patterns()
            .iter()
            .map(|p| overridden(p))
            .chain(OUR_PATTERNS.iter().map(|p| p.to_string()))
            .collect();
        build_any(&patterns).unwrap()
    }

    #[test]
    fn most_patterns_are_plain_words() {
        let vendored = vendored_patterns();
        let words = vendored.iter().filter(|p| plain_word(p).is_some()).count();
        assert!(words > 1_300, "{words} of {}", vendored.len());
        assert_eq!(
            plain_word(r"yandex\.com\/bots").as_deref(),
            Some("yandex.com/bots")
        );
        assert_eq!(plain_word("Ahrefs(Bot|SiteAudit)"), None);
        assert_eq!(plain_word("^Seekbot"), None);
        assert_eq!(plain_word("[wW]get"), None);
    }

    #[test]
    fn split_patterns_agree_with_one_alternation() {
        #[derive(Deserialize)]
        struct Entry {
            pattern: String,
            #[serde(default)]
            instances: Vec<String>,
        }
        let oracle = one_alternation();
        let entries: Vec<Entry> = serde_json::from_str(VENDORED_JSON).unwrap();
        let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        // Each instance as listed, shouted, whispered, and each pattern's own
        // text inside a browser's user agent.
        let mut inputs: Vec<String> = Vec::new();
        for entry in &entries {
            for instance in &entry.instances {
                inputs.push(instance.clone());
                inputs.push(instance.to_uppercase());
                inputs.push(instance.to_lowercase());
            }
            inputs.push(format!("{browser} {}", entry.pattern));
            inputs.push(format!("{browser} {}", entry.pattern.replace('\\', "")));
        }
        inputs.push(browser.to_string());
        for input in &inputs {
            let trimmed_short = input.trim().len() < MIN_BROWSER_UA_LEN;
            assert_eq!(
                PATTERNS.is_bot(input),
                trimmed_short || oracle.is_match(input),
                "{input}"
            );
        }
    }

    #[test]
    fn vendored_instances_are_bots() {
        // The list's own examples must all match: a check on how we compile it.
        #[derive(Deserialize)]
        struct Entry {
            #[serde(default)]
            instances: Vec<String>,
        }
        let entries: Vec<Entry> = serde_json::from_str(VENDORED_JSON).unwrap();
        let misses: Vec<&String> = entries
            .iter()
            .flat_map(|entry| &entry.instances)
            .filter(|instance| !PATTERNS.is_bot(instance))
            .collect();
        assert!(misses.is_empty(), "{} instances missed", misses.len());
    }

    #[test]
    fn tools_libraries_and_monitors_are_bots() {
        let bots = [
            "curl/8.5.0",
            "Wget/1.21.4",
            "wget2/2.1.0",
            "python-requests/2.32.3",
            "Python-urllib/3.12",
            "Python/3.12 aiohttp/3.10.10",
            "python-httpx/0.27.2",
            "Go-http-client/1.1",
            "Go-http-client/2.0",
            "okhttp/4.12.0",
            "Java/17.0.2",
            "Java-http-client/21.0.5",
            "libwww-perl/6.77",
            "axios/1.7.7",
            "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
            "undici",
            "Apache-HttpClient/4.5.14 (Java/17.0.9)",
            "Scrapy/2.11.2 (+https://scrapy.org)",
            "reqwest/0.12.9",
            "Deno/2.1.4",
            "Bun/1.1.38",
            "Dart/3.5 (dart:io)",
            "GuzzleHttp/7",
            "PostmanRuntime/7.42.0",
            "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.6",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
            "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
            "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Cypress/13.16.0 Chrome/130.0.6723.137 Electron/33.2.0 Safari/537.36",
            "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
            "Mozilla/5.0 (compatible; StatusCake)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Site24x7",
            "Better Uptime Bot Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.61 Safari/537.36",
            "Uptime-Kuma/1.23.13",
            "Mozilla/5.0",
        ];
        for user_agent in bots {
            assert!(PATTERNS.is_bot(user_agent), "{user_agent}");
        }
    }

    #[test]
    fn empty_and_tiny_user_agents_are_bots() {
        for user_agent in ["", "   ", "-", "node", "Ruby", "Mozilla"] {
            assert!(PATTERNS.is_bot(user_agent), "{user_agent:?}");
        }
    }

    #[test]
    fn browsers_are_not_bots() {
        let browsers = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            // Electron apps are people browsing (Obsidian has a web viewer).
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) obsidian/1.7.7 Chrome/128.0.6613.186 Electron/32.2.5 Safari/537.36",
        ];
        for user_agent in browsers {
            assert!(!PATTERNS.is_bot(user_agent), "{user_agent}");
        }
    }

    #[test]
    fn overrides_keep_real_browsers_out() {
        let browsers = [
            "Mozilla/5.0 (Linux; Android 4.2.2; Panasonic T31 Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/33.0.1750.170 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; U; Android 2.3.5; mk-mk; Lucky Ultra Sonic U8650 Build/HuaweiU8650B836) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
            "Mozilla/5.0 (Linux; U; Android 2.2.2; Zh-CN; ViewSonic-V350 Build/FRG83G) AppleWebKit/534.31 (KHTML, Like Gecko) UCBrowser/9.3.1.344 U3/0.8.0 Mobile Safari/534.31",
            "Mozilla/5.0 (Linux; Android 4.2.2; HTC J butterfly Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/29.0.1547.49 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 4.4.1; HTC Butterfly S Build/KRT16M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.99 Mobile Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/130.0.6723.137 Electron/33.2.0 Safari/537.36 Sonic Slack_SSB/4.41.105",
            "Mozilla/5.0 (X11; U; Linux x86_64; fr; rv:1.9.1.9) Gecko/20100428 Lightning/1.0b1 SeaMonkey/2.0.4",
            "Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; Qualcomm; FLUID)",
        ];
        for user_agent in browsers {
            assert!(!PATTERNS.is_bot(user_agent), "{user_agent}");
        }
    }

    #[test]
    fn bots_are_matched_ignoring_case() {
        assert!(PATTERNS.is_bot("googlebot/2.1; +http://www.google.com/bot.html"));
        assert!(PATTERNS.is_bot(
            "Mozilla/5.0 (compatible; DotBot/1.1; http://www.dotnetdotcom.org/, crawler@dotnetdotcom.org)"
        ));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn prefetch_headers() {
        assert!(is_prefetch(&headers(&[("purpose", "prefetch")])));
        assert!(is_prefetch(&headers(&[("sec-purpose", "prefetch")])));
        assert!(is_prefetch(&headers(&[(
            "sec-purpose",
            "prefetch;prerender"
        )])));
        assert!(is_prefetch(&headers(&[(
            "sec-purpose",
            "prefetch; anonymous-client-ip"
        )])));
        assert!(is_prefetch(&headers(&[("purpose", "Prefetch")])));
        assert!(is_prefetch(&headers(&[("x-moz", "prefetch")])));
    }

    #[test]
    fn other_headers_are_not_prefetch() {
        assert!(!is_prefetch(&headers(&[])));
        assert!(!is_prefetch(&headers(&[("sec-fetch-mode", "navigate")])));
        assert!(!is_prefetch(&headers(&[("purpose", "")])));
        assert!(!is_prefetch(&headers(&[("sec-purpose", "prerender")])));
        assert!(!is_prefetch(&headers(&[("sec-purpose", "prefetchx")])));
    }
}
