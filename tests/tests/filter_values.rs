//! Filter values that mean something to the layers between the API and
//! ClickHouse: `?`, `??` and `?fields` (the `clickhouse` crate's bind
//! placeholders), quotes, backslashes and NUL. Every one is stored as a page,
//! a utm source, a custom property's key and its value; each filter
//! operator then has to return exactly the rows that a plain Rust fold over
//! the inserted values (string comparison and the `regex` crate) picks.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, with_editors, TestQuery};
use integration_tests::{test_config, TestDb, SITE};
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

#[derive(Clone, Copy, Debug)]
enum Op {
    Is,
    IsNot,
    Contains,
    ContainsNot,
    Matches,
    MatchesNot,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Is => "is",
            Op::IsNot => "is_not",
            Op::Contains => "contains",
            Op::ContainsNot => "contains_not",
            Op::Matches => "matches",
            Op::MatchesNot => "matches_not",
        }
    }

    /// Whether a row whose dimension value is `value` passes.
    fn passes(self, value: &str, filter: &[String]) -> bool {
        let any = |test: &dyn Fn(&str) -> bool| filter.iter().any(|f| test(f));
        match self {
            Op::Is => any(&|f| value == f),
            Op::IsNot => !any(&|f| value == f),
            Op::Contains => any(&|f| value.contains(f)),
            Op::ContainsNot => !any(&|f| value.contains(f)),
            Op::Matches => any(&|f| regex::Regex::new(f).unwrap().is_match(value)),
            Op::MatchesNot => !any(&|f| regex::Regex::new(f).unwrap().is_match(value)),
        }
    }
}

fn rows() -> Vec<EventRow> {
    VALUES
        .iter()
        .enumerate()
        .map(|(i, v)| EventRow {
            timestamp: (NOW - 100 - i as i64) as u32,
            site: SITE.into(),
            name: "pageview".into(),
            pathname: (*v).into(),
            visitor_id: 1000 + i as u64,
            utm_source: (*v).into(),
            props_keys: vec![(*v).into()],
            props_values: vec![(*v).into()],
            interactive: 1,
            ..EventRow::default()
        })
        .collect()
}

/// The pages a filter lets through, as the service reports them: the
/// pageviews grouped by page, each page once.
async fn pages_passing(service: &TestQuery, filter: Value) -> BTreeSet<String> {
    let body = json!({"site_id": SITE, "metrics": ["pageviews"], "date_range": "day",
                      "dimensions": ["event:page"], "filters": [filter],
                      "pagination": {"limit": 1000}});
    let (status, answer) = service
        .post(Some(integration_tests::query_harness::ADMIN_TOKEN), &body)
        .await;
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
    let mut config = test_config();
    with_editors(&mut config);
    let service = TestQuery::start(config.clone(), Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let db = TestDb::connect(&config).await;
    insert(&db, &rows()).await;
    let mut failures = Vec::new();
    // `visit:utm_source` goes through the visit relation, `event:page` not.
    for dimension in ["event:page", "visit:utm_source"] {
        for op in OPS {
            for values in value_lists(op) {
                let expected: BTreeSet<String> = VALUES
                    .iter()
                    .filter(|v| op.passes(v, &values))
                    .map(|v| v.to_string())
                    .collect();
                let filter = json!([op.name(), dimension, values]);
                let got = pages_passing(&service, filter.clone()).await;
                if got != expected {
                    failures.push(format!("{filter}: got {got:?}, expected {expected:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    service.stop().await;
}

#[tokio::test]
async fn placeholder_and_quote_characters_work_in_property_keys_and_values() {
    let mut config = test_config();
    with_editors(&mut config);
    let service = TestQuery::start(config.clone(), Utc.timestamp_opt(NOW, 0).unwrap()).await;
    let db = TestDb::connect(&config).await;
    insert(&db, &rows()).await;
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
            let expected: BTreeSet<String> = VALUES
                .iter()
                .filter(|row| op.passes(value_of(row), &values))
                .map(|v| v.to_string())
                .collect();
            let filter = json!([op.name(), dimension, values]);
            let got = pages_passing(&service, filter.clone()).await;
            if got != expected {
                failures.push(format!("{filter}: got {got:?}, expected {expected:?}"));
            }
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
