//! Whole-body parsing: `parse` on complete JSON bodies, the errors it
//! collects across fields, and the helpers the pieces' tests share.

use super::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(super) fn ok(json: &str) -> Beacon {
    match parse(json.as_bytes()) {
        Ok(beacon) => beacon,
        Err(errors) => panic!("expected {json} to parse, got {errors:?}"),
    }
}

pub(super) fn errors(json: &str) -> FieldErrors {
    match parse(json.as_bytes()) {
        Ok(beacon) => panic!("expected {json} to fail, got {beacon:?}"),
        Err(errors) => errors,
    }
}

pub(super) fn expected(pairs: &[(&str, &[&str])]) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for (field, messages) in pairs {
        for msg in *messages {
            errors.add(field, *msg);
        }
    }
    errors
}

/// A valid event with one field replaced by `extra` (a `"key":value` fragment).
pub(super) fn with(extra: &str) -> String {
    format!(r#"{{"n":"pageview","u":"https://example.com/","d":"example.com",{extra}}}"#)
}

pub(super) fn page(url: &str) -> Page {
    ok(&format!(
        r#"{{"n":"pageview","u":{url:?},"d":"example.com"}}"#
    ))
    .page
}

pub(super) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
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
        ignored: Ignored::default(),
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
        ignored: Ignored::default(),
    };
    assert_eq!(ok(body), want);
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
        r#"{"n":true,"u":2,"d":3,"r":4,"p":5,"i":"x","h":"y","$":6,"w":"7","sd":-1,"e":1.5}"#;
    let want = expected(&[
        ("domain", &["must be a string"]),
        ("name", &["must be a string or a whole number"]),
        ("url", &["must be a string"]),
    ]);
    assert_eq!(errors(body), want);
}

#[test]
fn optional_fields_never_refuse_an_event() {
    let body = r#"{"n":"pageview","u":"https://example.com/","d":"example.com",
        "r":4,"p":5,"i":"x","h":"y","$":6,"w":"seven","sd":-1,"e":1.5}"#;
    let beacon = ok(body);
    let all: Vec<OptionalField> = OptionalField::ALL.to_vec();
    assert_eq!(beacon.ignored.iter().collect::<Vec<_>>(), all);
    assert_eq!(beacon.referrer, None);
    assert_eq!(beacon.props, vec![]);
    assert!(beacon.interactive);
    assert_eq!(beacon.revenue, None);
    assert_eq!(
        (
            beacon.screen_width,
            beacon.scroll_depth,
            beacon.engagement_ms
        ),
        (None, None, None)
    );
    assert!(ok(&with(r#""v":1"#)).ignored.is_empty());
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
    let got = errors(&"[".repeat(10_000));
    let messages = got.0.get("request").expect("request error");
    assert_eq!(got.0.len(), 1);
    assert!(
        messages[0].starts_with("invalid JSON: recursion limit exceeded"),
        "{messages:?}"
    );
    // Deep props, raw or stringified, are skipped without recursing: the
    // event is kept without them, and an unfinished body is still refused.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for props in [deep.clone(), format!("{deep:?}")] {
        let beacon = ok(&with(&format!(r#""p":{props}"#)));
        assert_eq!(beacon.props, vec![]);
        assert!(beacon.ignored.contains(OptionalField::Props));
    }
    let unfinished = errors(&format!(r#"{{"p":{}"#, "[".repeat(10_000)));
    assert!(
        unfinished.0["request"][0].starts_with("invalid JSON"),
        "{unfinished:?}"
    );
}

#[test]
fn errors_serialise_as_field_map() {
    let json = serde_json::to_string(&errors(r#"{"n":"x","u":"https://a b/"}"#)).unwrap();
    let want = r#"{"domain":["is required"],"url":["must be a valid URL"]}"#;
    assert_eq!(json, want);
}

proptest! {
    #[test]
    fn byte_splits_cut_as_str_splits_do(text in "[a-z&=?#,é]{0,20}", pick in 0usize..5) {
        let sep = ['&', '=', '?', '#', ','][pick];
        let byte = u8::try_from(sep).unwrap();
        prop_assert_eq!(split_at_byte(&text, byte), text.split_once(sep));
        prop_assert_eq!(pieces(&text, byte).collect::<Vec<_>>(), text.split(sep).collect::<Vec<_>>());
    }
}

#[test]
fn never_panics_on_random_input() {
    let mut rng = StdRng::seed_from_u64(0x9E37_79B9_7F4A_7C15);
    let seed = br#"{"n":"pageview","u":"https://www.example.com/a%C3%A9?utm_source=x#h","d":"a.com,b.com","r":"https://r.example/","p":{"k":"v","n":1},"$":{"amount":"1.5","currency":"EUR"},"h":1,"w":1280,"sd":50,"e":10}"#;
    // JSON-ish alphabet makes structurally interesting inputs more likely.
    let alphabet = br#"{}[]":,.-+eE0123456789 \%#/?&=nudrpiwh$tf"#;
    for round in 0..600 {
        let bytes: Vec<u8> = match round % 3 {
            0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
            1 => (0..rng.random_range(0..256))
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect(),
            _ => {
                let mut bytes = seed.to_vec();
                for _ in 0..=rng.random_range(0..8) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = rng.random();
                }
                bytes
            }
        };
        let _ = parse(&bytes);
    }
}
