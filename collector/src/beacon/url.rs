//! The light parse of plain http(s) URLs, shared by the page and the
//! referrer, and the host normalisation both use.
//!
//! Browsers send URLs already normalised, so for a plain ASCII http(s) URL a
//! byte-level split gives the same parts as the `url` crate at a fraction of
//! the cost; this runs on every beacon. Whatever could read differently
//! (IDNA and punycode, dot segments, escaped dots, user info, backslashes,
//! numeric hosts) is left to the full parse. The tests hold the two parses
//! to agreeing, and the split to cutting as the old `http::Uri` one did.

use crate::text::split_at_byte;
use ::url::Url;
use compact_str::CompactString;

/// Text the light parse would read differently from the `url` crate:
/// non-ASCII (IDNA), backslashes, user info, escaped dots (`%2e` segments),
/// characters the URL standard escapes or strips (quotes, braces, tabs and
/// line breaks).
pub(super) fn needs_full_parse(text: &str) -> bool {
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
pub(super) fn plain_host(authority: &str) -> Option<&str> {
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
pub(super) fn split_fragment(text: &str) -> (&str, Option<&str>) {
    match split_at_byte(text, b'#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (text, None),
    }
}

/// A `/.` in a path: a dot segment, which only the full parse resolves.
pub(super) fn has_dot_segment(path: &str) -> bool {
    let bytes = path.as_bytes();
    memchr::memchr_iter(b'.', bytes).any(|at| at > 0 && bytes[at - 1] == b'/')
}

/// `http://` or `https://` (any case) and the rest, whose every byte is
/// one a URL may carry unescaped: letters, digits, `-._~`, the
/// sub-delimiters `!$&'()*+,;=`, `:`, `/`, `?` and `%`.
pub(super) fn split_web_scheme(text: &str) -> Option<(&'static str, &str)> {
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
pub(super) struct UrlParts<'a> {
    pub(super) host: &'a str,
    pub(super) path: &'a str,
    pub(super) query: Option<&'a str>,
    pub(super) fragment: Option<&'a str>,
}

/// Browsers send `location.href` already normalised, so for a plain ASCII
/// http(s) URL a light parse (no IDNA, no path normalisation) gives the same
/// parts as the full URL parser at a fraction of the cost. Anything that
/// could differ (dot segments, backslashes, user info, non-ASCII) takes the
/// full parse, which also produces the precise error messages.
pub(super) fn plain_web_url(text: &str) -> Option<UrlParts<'_>> {
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

pub(super) fn is_web_scheme(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// `www.example.com` and `example.com` are the same site for reporting.
pub(super) fn normalise_host(host: &str) -> CompactString {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::page::page_of;
    use crate::beacon::parse;
    use crate::beacon::tests::{ok, page};

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
        use crate::beacon::referrer::plain_web_referrer;
        use crate::beacon::Referrer;
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
}
