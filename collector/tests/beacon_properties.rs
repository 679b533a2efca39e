//! Properties of the beacon parser over generated input: it never panics,
//! what it keeps is normalised, and query parameters other than the
//! attribution tags never survive into the parsed beacon.

use collector::beacon::parse;
use proptest::prelude::*;

fn beacon(url: &str) -> String {
    serde_json::json!({"n": "pageview", "u": url, "d": "example.com", "h": 1}).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&body);
    }

    #[test]
    fn never_panics_on_json_like_text(body in "[{}\\[\\]\":,a-z0-9 .\\\\%#?&=/-]{0,300}") {
        let _ = parse(body.as_bytes());
    }

    #[test]
    fn kept_parts_are_normalised(
        sub in "(www\\.)?[a-zA-Z][a-zA-Z0-9-]{0,20}",
        path in "(/[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,12}){0,5}",
        route in "[a-zA-Z0-9/?=&%.-]{0,20}",
    ) {
        // `xn--` starts a punycode label, which random letters seldom make valid.
        prop_assume!(!sub.to_ascii_lowercase().contains("xn--"));
        let url = format!("https://{sub}.Example.com{path}#{route}");
        let page = parse(beacon(&url).as_bytes()).expect("a valid beacon").page;
        prop_assert!(!page.hostname.starts_with("www."), "{}", page.hostname);
        prop_assert_eq!(page.hostname.clone(), page.hostname.to_ascii_lowercase());
        prop_assert!(page.pathname.starts_with('/'), "{}", page.pathname);
        let after_hash = page.pathname.split_once('#').map_or("", |(_, r)| r);
        prop_assert!(!after_hash.contains('?') && !after_hash.contains('='), "{}", page.pathname);
    }

    #[test]
    fn other_query_parameters_never_survive(
        name in "[a-z]{1,8}",
        secret in "zq[a-zA-Z0-9]{8,16}",
        utm in "[a-z]{1,10}",
    ) {
        prop_assume!(!["source", "ref"].contains(&name.as_str()) && !name.starts_with("utm"));
        let url = format!("https://example.com/p?utm_source={utm}&{name}={secret}#/r?{name}={secret}");
        let parsed = parse(beacon(&url).as_bytes()).expect("a valid beacon");
        let debug = format!("{:?}", parsed);
        prop_assert!(!debug.contains(&secret), "{}", debug);
        prop_assert_eq!(parsed.page.utm.source, utm);
    }
}
