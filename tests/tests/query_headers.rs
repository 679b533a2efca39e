//! Headers on every answer of the query service's API: `nosniff`, so a
//! browser never reads a JSON or CSV answer as something else, and
//! `no-store`, so no cache keeps a report or an error; and `Retry-After`
//! on every 503, so a client knows when to come back.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, ADMIN_TOKEN};
use integration_tests::SITE;
use serde_json::json;

const NOW: i64 = 1_710_000_000;

fn assert_api_headers(what: &str, response: &reqwest::Response) {
    let headers = response.headers();
    assert_eq!(
        headers
            .get("x-content-type-options")
            .map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}: {headers:?}"
    );
    assert_eq!(
        headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what}: {headers:?}"
    );
}

#[tokio::test]
async fn every_api_answer_is_nosniff_and_no_store_and_every_503_says_when_to_retry() {
    let now = Utc.timestamp_opt(NOW, 0).unwrap();
    let (service, db, config) = serve(|_| {}, now).await;
    insert(&db, &[pageview(SITE, NOW - 100, 1, "/")]).await;
    let http = service.http();
    let report = json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day"});
    let query = || http.post(service.url("/api/v2/query"));
    let realtime = format!("/api/v1/stats/realtime/visitors?site_id={SITE}");
    let cases = [
        (
            "report",
            query().bearer_auth(ADMIN_TOKEN).json(&report),
            200,
        ),
        (
            "CSV report",
            query()
                .bearer_auth(ADMIN_TOKEN)
                .header("accept", "text/csv")
                .json(&report),
            200,
        ),
        ("bad query", query().bearer_auth(ADMIN_TOKEN).body("{"), 400),
        ("no token", query().json(&report), 401),
        (
            "realtime",
            http.get(service.url(&realtime)).bearer_auth(ADMIN_TOKEN),
            200,
        ),
        (
            "sites",
            http.get(service.url("/api/dashboard/sites"))
                .bearer_auth(ADMIN_TOKEN),
            200,
        ),
        (
            "cross-site sign-in",
            http.post(service.url("/api/dashboard/login"))
                .json(&json!({"token": ADMIN_TOKEN})),
            403,
        ),
        (
            "unknown path",
            http.get(service.url("/api/v3/nothing")),
            404,
        ),
        ("health", http.get(service.url("/healthz")), 200),
        ("readiness", http.get(service.url("/readyz")), 200),
    ];
    for (what, request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        assert_api_headers(what, &response);
    }
    // The dashboard's own files keep their caching: revalidated, not banned.
    let page = http.get(service.url("/")).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");

    // ClickHouse no longer has the database: reports and readiness get 503.
    db.execute(&format!("DROP DATABASE {}", config.clickhouse.database))
        .await
        .unwrap();
    for (what, request) in [
        ("report", query().bearer_auth(ADMIN_TOKEN).json(&report)),
        ("readiness", http.get(service.url("/readyz"))),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 503, "{what}");
        assert_api_headers(what, &response);
        assert_eq!(response.headers()["retry-after"], "5", "{what}");
    }
    service.stop().await;
}
