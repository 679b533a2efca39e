//! The referrer field. A referrer is a hint, not a requirement: anything
//! unparsable, or of the wrong type, is dropped rather than reported (a
//! wrong type is recorded in [`Ignored`]). It is cut to its byte limit
//! first, then read by the light parse when it is a plain http(s) URL and by
//! the `url` crate otherwise. Only http(s) and `android-app://` referrers
//! are kept, as Plausible keeps them: an Android app's is that app
//! (`android-app://com.google.android.gm`), which names the source.

use super::fields::Text;
use super::ignored::{Ignored, OptionalField};
use super::url::{
    has_dot_segment, is_web_scheme, needs_full_parse, normalise_host, plain_host, split_fragment,
    split_web_scheme,
};
use super::{truncate, Referrer, MAX_REFERRER_BYTES};
use crate::text::split_at_byte;
use ::url::Url;
use compact_str::{format_compact, CompactString};
use serde_json::Value;

/// The scheme of Android app referrers, which Chrome sends for pages opened
/// from an app; kept in the referrer's host so it says where it came from.
pub use schema::source::ANDROID_APP;

/// A referrer is a hint, not a requirement: anything unparsable becomes `None`.
pub(super) fn parse_referrer(value: Option<&Text>, ignored: &mut Ignored) -> Option<Referrer> {
    let text = match value {
        None | Some(Text::Other(Value::Null)) => return None,
        Some(Text::Str(text)) => text,
        Some(Text::Other(_)) => {
            ignored.add(OptionalField::Referrer);
            return None;
        }
    };
    let text = truncate(text, MAX_REFERRER_BYTES);
    let full = || Url::parse(text).ok().as_ref().and_then(referrer_of);
    plain_web_referrer(text).or_else(full)
}

/// Browsers send the Referer already normalised, so for a plain ASCII
/// http(s) URL a light parse (no IDNA, no path normalisation) gives the same
/// host and path as the full URL parser at a fraction of the cost. Anything
/// that could differ (escapes, dot segments, non-ASCII) takes the full parse.
pub(super) fn plain_web_referrer(text: &str) -> Option<Referrer> {
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

/// The referrer of a parsed http(s) or `android-app://` URL with a host.
pub(super) fn referrer_of(url: &Url) -> Option<Referrer> {
    let host = url.host_str().filter(|host| !host.is_empty())?;
    let host: CompactString = if is_web_scheme(url) {
        normalise_host(host)
    } else if url.scheme() == "android-app" {
        format_compact!("{ANDROID_APP}{host}")
    } else {
        return None;
    };
    let path = url.path().into();
    Some(Referrer { host, path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::beacon::tests::{ok, with};

    fn referrer(json_value: &str) -> Option<Referrer> {
        ok(&with(&format!(r#""r":{json_value}"#))).referrer
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
    fn a_referrer_of_the_wrong_type_is_dropped_and_the_event_kept() {
        for wrong in [r#"{"host":"x"}"#, "true", "7"] {
            let beacon = ok(&with(&format!(r#""r":{wrong}"#)));
            assert_eq!(beacon.referrer, None, "{wrong}");
            assert!(beacon.ignored.contains(OptionalField::Referrer), "{wrong}");
        }
        let unreadable = ok(&with(r#""referrer":"not a url""#));
        assert!(
            unreadable.ignored.is_empty(),
            "an unreadable string is no problem"
        );
    }

    #[test]
    fn only_web_and_android_app_referrers_are_kept() {
        for other in [
            "chrome-extension://abcdefghijklmnop/page.html",
            "ios-app://123456/com.example",
            "app://./index.html",
            "ftp://files.example.org/x",
            "file:///C:/page.html",
            "about:blank",
        ] {
            assert_eq!(referrer(&format!("{other:?}")), None, "{other}");
        }
        let app = Referrer {
            host: "android-app://com.google.android.gm".into(),
            path: String::new().into(),
        };
        assert_eq!(
            referrer(r#""android-app://com.google.android.gm""#),
            Some(app)
        );
        let deep = Referrer {
            host: "android-app://com.google.android.googlequicksearchbox".into(),
            path: "/https/www.google.com".into(),
        };
        assert_eq!(
            referrer(
                r#""android-app://com.google.android.googlequicksearchbox/https/www.google.com""#
            ),
            Some(deep)
        );
    }
}
