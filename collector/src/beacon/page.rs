//! The page URL field: the checks that come first with their own messages,
//! the light parse or else the full one, and what the page keeps of the
//! URL: the host without `www.`, the percent-decoded pathname (with the
//! hash-mode route), and the query's attribution tags.
//!
//! A page need not be on the web: a browser extension's
//! (`chrome-extension://id/popup.html`), an app's (`capacitor://localhost/`,
//! `file:///...`) or a bare path (`/pricing`) is stored with its path under
//! the hostname `(none)`, as Plausible stores it. An opaque URL
//! (`about:blank`, `javascript:...`, `mailto:...`) has no path, and what
//! follows its scheme is not kept: it is stored as `/`.

use super::fields::{required_string, Text};
use super::tags::query_tags;
use super::url::{is_web_scheme, normalise_host, plain_web_url, UrlParts};
use super::{Page, MAX_URL_BYTES, NO_HOSTNAME, REQUIRED};
use crate::text::{split_at_byte, trim};
use ::url::{ParseError, Url};
use compact_str::CompactString;
use percent_encoding::percent_decode_str;

/// What a URL without a scheme (`/pricing`, `page.html`) is read against.
/// Its host is reserved (RFC 2606), so no real page has it.
const ROOT: &str = "http://relative.invalid/";
const ROOT_HOST: &str = "relative.invalid";

pub(super) fn parse_page(value: Option<&Text>, hash_mode: bool) -> Result<Page, String> {
    let text = required_string(value)?;
    check_page_url(text)?;
    if let Some(parts) = plain_web_url(text) {
        return Ok(page_of(&parts, hash_mode));
    }
    let (url, relative) = parse_page_url(text)?;
    let host = url
        .host_str()
        .filter(|host| is_web_scheme(&url) && !host.is_empty())
        .filter(|&host| !(relative && host == ROOT_HOST))
        .unwrap_or(NO_HOSTNAME);
    let parts = UrlParts {
        host,
        path: if url.cannot_be_a_base() {
            "/"
        } else {
            url.path()
        },
        query: url.query(),
        fragment: url.fragment(),
    };
    Ok(page_of(&parts, hash_mode))
}

pub(super) fn page_of(parts: &UrlParts, hash_mode: bool) -> Page {
    let (utm, tags) = query_tags(parts.query);
    Page {
        hostname: normalise_host(parts.host),
        pathname: pathname(parts.path, parts.fragment, hash_mode),
        utm,
        tags,
    }
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

/// The full parse: an absolute URL of any scheme, or one without a scheme
/// read against [`ROOT`] (then `true`). Only text that is neither (a bad
/// host or port, such as `https://exa mple.com` or `https://`) is refused.
fn parse_page_url(text: &str) -> Result<(Url, bool), String> {
    let parsed = match Url::parse(text) {
        Err(ParseError::RelativeUrlWithoutBase) => root().join(text).map(|url| (url, true)),
        parsed => parsed.map(|url| (url, false)),
    };
    parsed.map_err(|_| "must be a valid URL".to_owned())
}

fn root() -> Url {
    Url::parse(ROOT).expect("a valid literal")
}

fn has_data_scheme(text: &str) -> bool {
    let start = text.trim_start();
    start
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::tests::{errors, expected, ok, page};
    use crate::beacon::FieldErrors;
    use proptest::prelude::*;

    fn page_hash(url: &str, hash: &str) -> Page {
        ok(&format!(
            r#"{{"n":"pageview","u":{url:?},"d":"example.com","h":{hash}}}"#
        ))
        .page
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

    fn url_errors(url: &str) -> FieldErrors {
        errors(&format!(
            r#"{{"n":"pageview","u":{url:?},"d":"example.com"}}"#
        ))
    }

    #[test]
    fn url_errors_by_case() {
        let cases: &[(&str, &str)] = &[
            (
                "data:text/html,<script>alert(1)</script>",
                "data: URLs are not accepted",
            ),
            (" DATA:image/png;base64,AAAA", "data: URLs are not accepted"),
            ("   ", "is required"),
            ("http://[::1/", "must be a valid URL"),
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

    proptest! {
        #[test]
        fn unescaped_paths_read_as_percent_decoding_reads_them(path in "[a-z/._~!$&'()*+,;=:@-]{0,30}") {
            let slow = percent_decode_str(&path).decode_utf8_lossy().into_owned();
            prop_assert_eq!(decode(&path), slow);
        }
    }
    #[test]
    fn pages_without_a_web_host_keep_their_path_under_no_hostname() {
        let cases: &[(&str, &str)] = &[
            (
                "chrome-extension://abcdefghijklmnop/popup.html",
                "/popup.html",
            ),
            ("capacitor://localhost/home", "/home"),
            ("app://./index.html", "/index.html"),
            ("ftp://example.com/file", "/file"),
            (
                "file:///android_asset/www/index.html",
                "/android_asset/www/index.html",
            ),
            ("/just/a/path", "/just/a/path"),
            ("relative/page?x=1", "/relative/page"),
            ("/a/../b", "/b"),
            // Opaque URLs have no path; what follows the scheme is not kept.
            ("about:blank", "/"),
            ("javascript:alert(1)", "/"),
            ("mailto:someone@example.com", "/"),
        ];
        for (url, path) in cases {
            let got = page(url);
            assert_eq!(got.hostname, "(none)", "{url}");
            assert_eq!(got.pathname, *path, "{url}");
        }
    }

    #[test]
    fn a_hostless_page_keeps_its_tags_and_hash_route() {
        let got = page("capacitor://localhost/shop?utm_source=app&token=secret");
        assert_eq!(got.utm.source, "app");
        assert_eq!(
            page_hash("app://./index.html#/settings", "1").pathname,
            "/index.html#/settings"
        );
    }

    #[test]
    fn the_root_has_its_reserved_host() {
        assert_eq!(root().host_str(), Some(ROOT_HOST));
        // Only a URL without a scheme is read against it.
        assert_eq!(
            page("https://relative.invalid/x").hostname,
            "relative.invalid"
        );
        assert_eq!(page("//relative.invalid/x").hostname, "(none)");
    }

    #[test]
    fn a_scheme_relative_url_keeps_its_host() {
        let got = page("//www.example.com/pricing");
        assert_eq!(got.hostname, "example.com");
        assert_eq!(got.pathname, "/pricing");
    }

    #[test]
    fn urls_no_parser_can_read_are_refused() {
        for url in [
            "https://",
            "https://exa mple.com/",
            "https://example.com:99999/",
            "//exa mple.com/x",
        ] {
            assert_eq!(
                url_errors(url),
                expected(&[("url", &["must be a valid URL"])]),
                "url {url}"
            );
        }
    }
}
