//! `GET /api/dashboard/prop-keys`, which the properties panel offers its
//! keys from: the keys of a site's events on the asked days by visitors,
//! a goal's own keys first when a goal is named, and the refusals.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::{insert, pageview, serve, TestQuery, ADMIN_TOKEN};
use integration_tests::{OTHER_SITE, SITE};
use schema::config::GoalConfig;
use schema::EventRow;
use serde_json::{json, Value};

const NOW: i64 = 1_710_000_000; // 2024-03-09 16:00:00 UTC

fn with_props(name: &str, ts: i64, visitor: u64, props: &[(&str, &str)]) -> EventRow {
    EventRow {
        name: name.into(),
        props_keys: props.iter().map(|p| p.0.to_string()).collect(),
        props_values: props.iter().map(|p| p.1.to_string()).collect(),
        ..pageview(SITE, ts, visitor, "/")
    }
}

async fn keys(service: &TestQuery, query: &str) -> (u16, Value) {
    let response = service
        .http()
        .get(service.url(&format!("/api/dashboard/prop-keys?{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn keys_by_visitors_with_the_goals_own_first() {
    let (service, db, _) = serve(
        |c| {
            c.site[0].goal = vec![GoalConfig {
                event: Some("Signup".into()),
                ..GoalConfig::default()
            }];
        },
        Utc.timestamp_opt(NOW, 0).unwrap(),
    )
    .await;
    let yesterday = NOW - 86_400;
    insert(
        &db,
        &[
            // `section` on three visitors' pageviews, `author` on one
            // visitor's signup, `plan` on another's pageview.
            with_props("pageview", NOW - 100, 1, &[("section", "news")]),
            with_props("pageview", NOW - 100, 2, &[("section", "news")]),
            with_props(
                "pageview",
                NOW - 100,
                3,
                &[("section", "shop"), ("plan", "pro")],
            ),
            with_props("pageview", NOW - 90, 3, &[("plan", "pro")]),
            with_props("Signup", NOW - 80, 1, &[("author", "Ana")]),
            // Yesterday's key, and another site's.
            with_props("pageview", yesterday, 4, &[("old", "x")]),
            EventRow {
                site: OTHER_SITE.into(),
                ..with_props("pageview", NOW - 10, 5, &[("elsewhere", "y")])
            },
        ],
    )
    .await;
    let today = format!("site_id={SITE}&from=2024-03-09&to=2024-03-09");
    let (status, answer) = keys(&service, &today).await;
    assert_eq!(status, 200, "{answer}");
    // Visitors 1, 2, 3 carry section; 3 plan; 1 author. Ties by name.
    assert_eq!(
        answer["keys"],
        json!([
            {"key": "section", "visitors": 3, "goal": false},
            {"key": "author", "visitors": 1, "goal": false},
            {"key": "plan", "visitors": 1, "goal": false},
        ])
    );
    let (_, answer) = keys(&service, &format!("{today}&goal=Signup")).await;
    assert_eq!(
        answer["keys"],
        json!([
            {"key": "author", "visitors": 1, "goal": true},
            {"key": "section", "visitors": 3, "goal": false},
            {"key": "plan", "visitors": 1, "goal": false},
        ])
    );
    let (_, answer) = keys(
        &service,
        &format!("site_id={SITE}&from=2024-03-08&to=2024-03-08"),
    )
    .await;
    assert_eq!(
        answer["keys"],
        json!([{"key": "old", "visitors": 1, "goal": false}])
    );

    // Refusals: the days, the goal, the caller.
    for bad in [
        format!("site_id={SITE}&to=2024-03-09"),
        format!("site_id={SITE}&from=2024-03-09&to=March"),
        format!("site_id={SITE}&from=2024-03-10&to=2024-03-09"),
        format!("{today}&goal=Nope"),
        "from=2024-03-09&to=2024-03-09".to_string(),
    ] {
        let (status, answer) = keys(&service, &bad).await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    let anonymous = service
        .http()
        .get(service.url(&format!("/api/dashboard/prop-keys?{today}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    service.stop().await;
}
