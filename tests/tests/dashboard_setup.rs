//! The dashboard's first-run endpoint without a browser:
//! `GET /api/dashboard/setup?site_id=` tells an editor who may read the site
//! whether it has any event yet, and gives the tracker snippet with the
//! collector's configured address. Other editors are refused as the Stats
//! API refuses them, and the flag flips once the site's first event is
//! stored (another site's events do not flip it).

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{
    insert, with_editors, TestQuery, ADMIN_TOKEN, VIEWER_TOKEN,
};
use integration_tests::{test_config, TestDb, OTHER_SITE, SITE};
use schema::{Config, EventRow};
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

fn pageview(site: &str) -> EventRow {
    EventRow {
        timestamp: (NOW - 60) as u32,
        site: site.into(),
        name: "pageview".into(),
        pathname: "/".into(),
        visitor_id: 7,
        interactive: 1,
        ..EventRow::default()
    }
}

async fn start(config: &Config) -> (TestQuery, TestDb) {
    let service = TestQuery::start(config.clone(), Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let db = TestDb::connect(config).await;
    (service, db)
}

/// `GET /api/dashboard/setup` with a bearer token (or none) and the query
/// string as given: status, `Cache-Control` and JSON.
async fn setup(service: &TestQuery, token: Option<&str>, query: &str) -> (u16, String, Value) {
    let mut request = service
        .http()
        .get(service.url(&format!("/api/dashboard/setup{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, cache, json)
}

async fn has_events(service: &TestQuery, token: &str, site: &str) -> bool {
    let (status, _, json) = setup(service, Some(token), &format!("?site_id={site}")).await;
    assert_eq!(status, 200, "{json}");
    json["has_events"].as_bool().expect("a boolean has_events")
}

#[tokio::test]
async fn the_flag_flips_with_the_sites_own_first_event_and_only_readers_see_it() {
    let mut config = test_config();
    with_editors(&mut config);
    config.collector.public_url = Some("https://stats.example.com/".into());
    let (service, db) = start(&config).await;

    let (status, cache, answer) =
        setup(&service, Some(ADMIN_TOKEN), &format!("?site_id={SITE}")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(cache, "no-store");
    assert_eq!(
        answer,
        json!({
            "site_id": SITE,
            "has_events": false,
            "script_url": "https://stats.example.com/js/script.js",
            "snippet": format!(
                "<script defer data-domain=\"{SITE}\" src=\"https://stats.example.com/js/script.js\"></script>"
            ),
            "collector_url_from": "public_url",
            "local": false,
        })
    );

    // The viewer may read only OTHER_SITE: SITE is refused as the Stats API
    // refuses it, and so is a site that does not exist (no probing).
    let (status, _, refused) =
        setup(&service, Some(VIEWER_TOKEN), &format!("?site_id={SITE}")).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.get("has_events").is_none(), "{refused}");
    let (status, _, refused) =
        setup(&service, Some(VIEWER_TOKEN), "?site_id=nowhere.example").await;
    assert_eq!(status, 403, "{refused}");
    let (status, stats) = service
        .post(
            Some(VIEWER_TOKEN),
            &json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day"}),
        )
        .await;
    assert_eq!(status, 403, "the Stats API refuses the same: {stats}");
    // No caller, no site, an unknown site for the admin.
    assert_eq!(
        setup(&service, None, &format!("?site_id={SITE}")).await.0,
        401
    );
    assert_eq!(
        setup(&service, Some("wrong-token"), &format!("?site_id={SITE}"))
            .await
            .0,
        401
    );
    assert_eq!(setup(&service, Some(ADMIN_TOKEN), "").await.0, 400);
    assert_eq!(setup(&service, Some(ADMIN_TOKEN), "?site_id=").await.0, 400);
    assert_eq!(
        setup(&service, Some(ADMIN_TOKEN), "?site_id=nowhere.example")
            .await
            .0,
        400
    );

    // Another site's event does not count for this one.
    insert(&db, &[pageview(OTHER_SITE)]).await;
    assert!(has_events(&service, VIEWER_TOKEN, OTHER_SITE).await);
    assert!(!has_events(&service, ADMIN_TOKEN, SITE).await);

    insert(&db, &[pageview(SITE)]).await;
    assert!(has_events(&service, ADMIN_TOKEN, SITE).await);
    // Still refused to the viewer once there is something to reveal.
    let (status, _, refused) =
        setup(&service, Some(VIEWER_TOKEN), &format!("?site_id={SITE}")).await;
    assert_eq!(status, 403, "{refused}");

    service.stop().await;
}

#[tokio::test]
async fn a_session_cookie_is_accepted_and_a_loopback_listen_address_gets_data_local() {
    let mut config = test_config();
    with_editors(&mut config);
    config.collector.listen = "127.0.0.1:8123".parse().unwrap();
    let (service, _db) = start(&config).await;

    let cookie = service.session(VIEWER_TOKEN).await;
    let get = |site: &str| {
        service
            .http()
            .get(service.url(&format!("/api/dashboard/setup?site_id={site}")))
            .header("cookie", cookie.clone())
            .send()
    };

    let answer: Value = {
        let response = get(OTHER_SITE).await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    };
    assert_eq!(answer["has_events"], false);
    assert_eq!(answer["collector_url_from"], "listen");
    assert_eq!(answer["local"], true);
    assert_eq!(
        answer["snippet"],
        format!(
            "<script defer data-domain=\"{OTHER_SITE}\" data-local \
             src=\"http://127.0.0.1:8123/js/script.js\"></script>"
        )
    );
    // The cookie reads only the viewer's own site.
    assert_eq!(get(SITE).await.unwrap().status(), 403);

    service.stop().await;
}
