//! Do-Not-Track, Global Privacy Control and the opt-out cookie leave no row;
//! unknown sites are dropped too, each with its reason in a header.

use integration_tests::*;

async fn dropped_reason(
    collector: &TestCollector,
    site: &str,
    headers: &[(&str, &str)],
) -> Option<String> {
    let url = format!("https://{site}/page");
    let response = send(collector, &pageview(site, &url), headers).await;
    assert_eq!(response.status(), 202);
    response
        .headers()
        .get("x-analytics-dropped")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn refused_beacons_leave_no_row() {
    let collector = TestCollector::start(test_config()).await;
    type Headers = &'static [(&'static str, &'static str)];
    let cases: [(&str, Headers, &str); 5] = [
        (SITE, &[("dnt", "1")], "dnt"),
        (SITE, &[("sec-gpc", "1")], "gpc"),
        (
            SITE,
            &[("cookie", "theme=dark; analytics_optout=1")],
            "optout",
        ),
        (NO_DNT_SITE, &[("cookie", "analytics_optout=1")], "optout"),
        ("not-configured.net", &[], "unknown-site"),
    ];
    for (site, headers, reason) in cases {
        assert_eq!(
            dropped_reason(&collector, site, headers).await.as_deref(),
            Some(reason)
        );
    }
    // A beacon that is recorded proves the writer was flushing meanwhile.
    assert_eq!(
        dropped_reason(&collector, SITE, &[("dnt", "0")]).await,
        None
    );
    expect_event_count(&collector.db, 1).await;
    let metrics = collector.metrics().await;
    assert_dropped(
        &metrics,
        &[("dnt", 1), ("gpc", 1), ("optout", 2), ("unknown-site", 1)],
    );
    collector.stop().await;
}

#[tokio::test]
async fn a_site_may_choose_to_ignore_dnt_and_gpc() {
    let collector = TestCollector::start(test_config()).await;
    let headers = [("dnt", "1"), ("sec-gpc", "1")];
    assert_eq!(
        dropped_reason(&collector, NO_DNT_SITE, &headers).await,
        None
    );
    expect_event_count(&collector.db, 1).await;
    collector.stop().await;
}

#[tokio::test]
async fn optout_page_sets_and_clears_the_cookie() {
    let mut config = test_config();
    config.collector.optout_cookie_domain = Some("example.com".into());
    let collector = TestCollector::start(config).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let page = client
        .get(collector.url("/optout"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("counted anonymously"), "{page}");

    let out = client
        .post(collector.url("/optout"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "optout");
    let cookie = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in [
        "analytics_optout=1",
        "Path=/",
        "Max-Age=315360000",
        "SameSite=Lax",
        "Domain=example.com",
        "Secure",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(
        !cookie.contains("HttpOnly"),
        "the tracker must be able to read it"
    );

    let page = client
        .get(collector.url("/optout"))
        .header("cookie", "analytics_optout=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("opted out"), "{page}");

    let back = client.post(collector.url("/optin")).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let cleared = back.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("analytics_optout=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(
        !cleared.contains("Secure"),
        "plain http without a trusted https header"
    );
    collector.stop().await;
}

/// Standard base64 (RFC 4648, with padding), as CSP hashes are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_rfc_4648() {
    for (input, want) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes()), want);
    }
}

#[tokio::test]
async fn optout_page_cannot_be_framed_and_runs_only_its_own_style() {
    let collector = TestCollector::start(test_config()).await;
    let response = reqwest::get(collector.url("/optout")).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let page = response.text().await.unwrap();
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for wanted in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(directives.contains(&wanted), "{csp} lacks {wanted}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The page's one inline stylesheet is allowed by its hash, as a browser
    // checks it: sha256 of the text between the tags, in base64.
    let style = page
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style)
        .expect("an inline stylesheet");
    // (schema's sha256 of editor tokens is a plain hex sha256.)
    let digest = hex::decode(schema::auth::token_sha256(style)).unwrap();
    let allowed = format!("style-src 'sha256-{}'", base64(&digest));
    assert!(
        directives.contains(&allowed.as_str()),
        "{csp} lacks {allowed}"
    );
    // Nothing else for the policy to allow: no script, no other resource.
    assert!(
        !page.contains("<script") && !page.contains("style="),
        "{page}"
    );
    assert_eq!(page.matches("<style>").count(), 1);
    collector.stop().await;
}
