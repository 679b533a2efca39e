//! Bounds on filters, each refused with a 400 that names the filter: values
//! per filter, conditions per query, bytes of all values together (so the
//! SQL stays far below ClickHouse's `max_query_size`), and `matches`
//! patterns that compile too large or use syntax ClickHouse's RE2 lacks.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, ADMIN_TOKEN};
use integration_tests::SITE;
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000;

fn body(filters: Value) -> Value {
    json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day", "filters": filters})
}

/// `n` different pages, none stored.
fn pages(n: usize, len: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("/{i:0>width$}", width = len - 1))
        .collect()
}

#[tokio::test]
async fn filters_past_their_bounds_get_400_naming_the_filter() {
    let now = Utc.timestamp_opt(NOW, 0).unwrap();
    let (service, db, _) = serve(|_| {}, now).await;
    insert(&db, &[pageview(SITE, NOW - 100, 1, "/blog")]).await;

    let page_filter = |values: Vec<String>| json!(["is", "event:page", values]);
    let many_conditions: Vec<Value> = (0..31).map(|i| page_filter(pages(1 + i % 2, 8))).collect();
    let nested = json!([
        "or",
        (0..31)
            .map(|_| page_filter(pages(1, 8)))
            .collect::<Vec<_>>()
    ]);
    // Nine filters of 100 values of 20 bytes: 18,000 bytes, past the
    // 16,384 allowed, in the ninth.
    let heavy: Vec<Value> = (0..9).map(|_| page_filter(pages(100, 20))).collect();
    let refused = [
        (
            body(json!([page_filter(pages(101, 8))])),
            ["filters[0][2]", "100 values"],
        ),
        (
            body(json!(many_conditions)),
            ["filters[30]", "30 conditions"],
        ),
        (body(json!([nested])), ["filters[0]", "30 conditions"]),
        (body(json!(heavy)), ["filters[8]", "16384 bytes"]),
        (
            body(json!([[
                "matches",
                "event:page",
                ["^/blog", "(?<slug>[a-z]+)"]
            ]])),
            ["filters[0][2][1]", "RE2"],
        ),
        (
            body(json!([["matches_not", "event:page", ["[a-z&&[^aeiou]]"]]])),
            ["filters[0][2][0]", "RE2"],
        ),
        (
            body(json!([["matches", "event:page", ["(\\w{100}){10}"]]])),
            ["filters[0][2][0]", "too large"],
        ),
        (
            body(json!([["matches", "event:page", ["a{1001}"]]])),
            ["filters[0][2][0]", "1000"],
        ),
    ];
    let mut failures = Vec::new();
    for (body, named) in refused {
        let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
        let message = answer["error"].as_str().unwrap_or_default();
        if status != 400 || !named.iter().all(|n| message.contains(n)) {
            let shown: String = body["filters"].to_string().chars().take(100).collect();
            failures.push(format!("{shown}: {status} {answer}, should name {named:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // At the bounds, and with RE2's own spellings, the filters run.
    let at_bounds = [
        body(json!([page_filter(pages(100, 8))])),
        body(json!((0..30)
            .map(|_| page_filter(pages(1, 8)))
            .collect::<Vec<_>>())),
        body(json!((0..8)
            .map(|_| page_filter(pages(100, 20)))
            .collect::<Vec<_>>())),
    ];
    for body in at_bounds {
        let answer = service.ok(&body).await;
        assert_eq!(answer["results"][0]["metrics"][0], 0);
    }
    let re2 = body(json!([[
        "matches",
        "event:page",
        ["^/(?P<slug>b[a-z]+)$", "a{1000}"]
    ]]));
    assert_eq!(service.ok(&re2).await["results"][0]["metrics"][0], 1);
    service.stop().await;
}
