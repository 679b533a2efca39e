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
