//! CSV exports opened in a spreadsheet: a stored page, utm value or
//! property value that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return would run as a formula. Such cells are written with a leading
//! `'` (OWASP's advice), every other cell exactly as stored.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, TestQuery, ADMIN_TOKEN};
use integration_tests::SITE;
use schema::EventRow;
use serde_json::json;
use std::collections::BTreeMap;

const NOW: i64 = 1_710_000_000;

/// Stored values, each a page, a utm source and a property value.
const VALUES: [&str; 9] = [
    "=HYPERLINK(\"https://evil.example\",\"x\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "/safe",
    "a=b",
    "'quoted",
];

/// What a spreadsheet-safe export writes for a stored value.
fn expected_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The first column of each data row of a CSV export, with the count
/// in the second.
async fn exported(service: &TestQuery, dimension: &str) -> BTreeMap<String, String> {
    let body = json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                      "dimensions": [dimension]});
    let response = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "text/csv")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [dimension, "pageviews"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn cells_that_a_spreadsheet_would_run_are_neutralised() {
    let (service, db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let rows: Vec<EventRow> = VALUES
        .iter()
        .enumerate()
        .map(|(i, v)| EventRow {
            utm_source: (*v).into(),
            props_keys: vec!["k".into()],
            props_values: vec![(*v).into()],
            ..pageview(SITE, NOW - 100 - i as i64, i as u64 + 1, v)
        })
        .collect();
    insert(&db, &rows).await;
    let expected: BTreeMap<String, String> = VALUES
        .iter()
        .map(|v| (expected_cell(v), "1".to_owned()))
        .collect();
    assert_eq!(expected.len(), VALUES.len());
    for dimension in ["event:page", "visit:utm_source", "event:props:k"] {
        assert_eq!(exported(&service, dimension).await, expected, "{dimension}");
    }
    // JSON answers carry the values as stored.
    let answer = service
        .ok(
            &json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                    "dimensions": ["event:page"]}),
        )
        .await;
    let pages: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dimensions"][0].as_str().unwrap())
        .collect();
    for value in VALUES {
        assert!(pages.contains(&value), "{value:?} in {pages:?}");
    }
    service.stop().await;
}
