//! What a failed report tells its caller: a plain message with a request
//! id, never ClickHouse's error text, its address or the database's name.
//! The detail goes to the log under the same id, so an operator can find
//! it from what the caller reports.
//!
//! This binary captures its logs, so it holds one test.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, ADMIN_TOKEN};
use integration_tests::{capture_logs, SITE};
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000;

/// The id in a message such as `storage unavailable (request 7f3a...)`.
fn request_id(message: &str) -> String {
    let start = message
        .find("(request ")
        .unwrap_or_else(|| panic!("no request id in {message:?}"))
        + "(request ".len();
    let id: String = message[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(id.len(), 16, "{message}");
    assert_eq!(&message[start + 16..], ")", "{message}");
    id
}

/// Fails if `text` shows anything of ClickHouse's own.
fn assert_no_internals(text: &str, url: &str, database: &str) {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    for needle in ["Code:", "DB::Exception", "clickhouse", address, database] {
        assert!(!text.contains(needle), "{needle:?} in {text}");
    }
}

#[tokio::test]
async fn failed_reports_answer_a_plain_message_whose_id_is_in_the_log() {
    let logs = capture_logs();
    let now = Utc.timestamp_opt(NOW, 0).unwrap();
    let (service, db, config) = serve(|_| {}, now).await;
    insert(&db, &[pageview(SITE, NOW - 100, 1, "/")]).await;
    let url = &config.clickhouse.url;
    let database = &config.clickhouse.database;

    // A pattern Rust's regex knows and ClickHouse's RE2 does not: RE2's
    // refusal is the caller's mistake, told without RE2's text.
    let emoji = json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day",
                       "filters": [["matches", "event:page", ["\\p{Emoji}"]]]});
    let (status, answer) = service.post(Some(ADMIN_TOKEN), &emoji).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(message.contains("RE2"), "{message}");
    assert_no_internals(&answer.to_string(), url, database);
    let pattern_id = request_id(message);

    // The events table is gone: ClickHouse answers with its own error text.
    db.execute("DROP TABLE events").await.unwrap();
    let report = json!({"site_id": SITE, "metrics": ["visitors"], "date_range": "day"});
    let response = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let text = response.text().await.unwrap();
    assert_no_internals(&text, url, database);
    let answer: Value = serde_json::from_str(&text).unwrap();
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.starts_with("storage unavailable (request "),
        "{message}"
    );
    let storage_id = request_id(message);
    assert_ne!(storage_id, pattern_id);

    // The log line with that id holds what ClickHouse said.
    let logged = logs.text();
    let line = |id: &str| {
        logged
            .lines()
            .find(|l| l.contains(&format!("request_id={id}")))
            .unwrap_or_else(|| panic!("no log line with request_id={id} in\n{logged}"))
            .to_owned()
    };
    let storage_line = line(&storage_id);
    assert!(storage_line.contains("Code: 60"), "{storage_line}");
    assert!(storage_line.contains("events"), "{storage_line}");
    let pattern_line = line(&pattern_id);
    assert!(pattern_line.contains("Code: 427"), "{pattern_line}");
    service.stop().await;
}
