//! Filter values that mean something to the layers between the API and
//! ClickHouse: `?`, `??` and `?fields` (the `clickhouse` crate's bind
//! placeholders), quotes, backslashes and NUL. Every one is stored as a page,
//! a utm source, a custom property's key and its value; each filter
//! operator then has to return exactly the rows that a plain Rust fold over
//! the inserted values (string comparison and the `regex` crate) picks.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, TestQuery, ADMIN_TOKEN};
use integration_tests::{TestDb, SITE};
use query::api::request::Op;
use schema::EventRow;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

/// The stored values, all different. Each is the page, utm source, property
/// key and property value of one pageview by a visitor of its own.
const VALUES: [&str; 16] = [
    "?",
    "??",
    "?fields",
    "/q?x",
    "/q??x",
    "/blog",
    "/blog/",
    "/blogs",
    "it's",
    "'?'",
    "a\\b",
    "\\?",
    "nul\0byte",
    "quote\"d",
    "back`tick",
    "/plain",
];

/// Values sent although no row holds them exactly.
const ABSENT: [&str; 4] = ["???", "x?y", "?field", "\0"];

/// `matches` patterns beyond each stored value escaped as a literal.
const PATTERNS: [&str; 10] = [
    "^/blog/?$",
    "\\?",
    "^\\?\\?$",
    "^\\?fields$",
    "\\?$",
    "'",
    "\\\\",
    "\\x00",
    "^[^?]*$",
    "\"",
];

/// Whether a row whose dimension value is `value` passes `op` with the
/// filter's values: Rust string operations and the `regex` crate.
fn passes(op: Op, value: &str, filter: &[String]) -> bool {
    let any = |test: &dyn Fn(&str) -> bool| filter.iter().any(|f| test(f));
    let matched = match op {
        Op::Is | Op::IsNot => any(&|f| value == f),
        Op::Contains | Op::ContainsNot => any(&|f| value.contains(f)),
        Op::Matches | Op::MatchesNot => any(&|f| regex::Regex::new(f).unwrap().is_match(value)),
    };
    matched != op.negated()
}

fn rows() -> Vec<EventRow> {
    VALUES
        .iter()
        .enumerate()
        .map(|(i, v)| EventRow {
            utm_source: (*v).into(),
            props_keys: vec![(*v).into()],
            props_values: vec![(*v).into()],
            ..pageview(SITE, NOW - 100 - i as i64, 1000 + i as u64, v)
        })
        .collect()
}

/// The service with the rows stored, and the database (dropped with it).
async fn start() -> (TestQuery, TestDb) {
    let (service, db, _) = serve(|_| {}, Utc.timestamp_opt(NOW, 0).unwrap()).await;
    insert(&db, &rows()).await;
    (service, db)
}

/// The pages a filter lets through, as the service reports them: the
/// pageviews grouped by page, each page once.
async fn pages_passing(service: &TestQuery, filter: Value) -> BTreeSet<String> {
    let body = json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                      "dimensions": ["event:page"], "filters": [filter],
                      "pagination": {"limit": 1000}});
    let (status, answer) = service.post(Some(ADMIN_TOKEN), &body).await;
    assert_eq!(status, 200, "{body} -> {answer}");
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["metrics"][0], 1, "{body} -> {answer}");
            r["dimensions"][0].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Runs one filter and compares the pages it lets through with the rows
/// whose value (`value_of` the stored one) passes it; a failure described.
async fn check(
    service: &TestQuery,
    op: Op,
    dimension: &str,
    values: &[String],
    value_of: impl Fn(&'static str) -> &'static str,
) -> Option<String> {
    let expected: BTreeSet<String> = VALUES
        .iter()
        .filter(|row| passes(op, value_of(row), values))
        .map(|row| row.to_string())
        .collect();
    let filter = json!([op.name(), dimension, values]);
    let got = pages_passing(service, filter.clone()).await;
    (got != expected).then(|| format!("{filter}: got {got:?}, expected {expected:?}"))
}

/// The value lists sent with each operator: one stored or absent value
/// at a time, and a few pairs.
fn value_lists(op: Op) -> Vec<Vec<String>> {
    let singles: Vec<String> = match op {
        Op::Matches | Op::MatchesNot => VALUES
            .iter()
            .map(|v| regex::escape(v))
            .chain(PATTERNS.iter().map(|p| p.to_string()))
            .collect(),
        _ => VALUES
            .iter()
            .chain(ABSENT.iter())
            .map(|v| v.to_string())
            .collect(),
    };
    let pairs = singles
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| c.to_vec())
        .take(4)
        .collect::<Vec<_>>();
    singles.into_iter().map(|v| vec![v]).chain(pairs).collect()
}

const OPS: [Op; 6] = [
    Op::Is,
    Op::IsNot,
    Op::Contains,
    Op::ContainsNot,
    Op::Matches,
    Op::MatchesNot,
];

#[tokio::test]
async fn placeholder_and_quote_characters_filter_exactly_on_pages_and_sources() {
    let (service, _db) = start().await;
    let mut failures = Vec::new();
    // `visit:utm_source` goes through the visit relation, `event:page` not.
    for dimension in ["event:page", "visit:utm_source"] {
        for op in OPS {
            for values in value_lists(op) {
                let failure = check(&service, op, dimension, &values, |row| row).await;
                failures.extend(failure);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    service.stop().await;
}

#[tokio::test]
async fn placeholder_and_quote_characters_work_in_property_keys_and_values() {
    let (service, _db) = start().await;
    let mut failures = Vec::new();
    for key in VALUES {
        // A row's value of this property: its own if it carries the key,
        // else "(none)", as the API documents.
        let value_of = |row: &'static str| if row == key { row } else { "(none)" };
        let dimension = format!("event:props:{key}");
        let lists = [
            (Op::Is, vec![key.to_string()]),
            (Op::IsNot, vec![key.to_string()]),
            (Op::Contains, vec!["?".to_string()]),
            (Op::ContainsNot, vec!["'".to_string(), "\\".to_string()]),
            (Op::Matches, vec![regex::escape(key)]),
            (Op::MatchesNot, vec!["\\?".to_string()]),
        ];
        for (op, values) in lists {
            failures.extend(check(&service, op, &dimension, &values, value_of).await);
        }
        // Grouped by the property: one pageview has it, the rest do not.
        let body = json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                          "dimensions": [dimension]});
        let answer = service.ok(&body).await;
        let expected = json!([
            {"dimensions": ["(none)"], "metrics": [VALUES.len() - 1]},
            {"dimensions": [key], "metrics": [1]},
        ]);
        if answer["results"] != expected {
            failures.push(format!("{body}: got {}", answer["results"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    service.stop().await;
}
