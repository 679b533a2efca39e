//! Cluster mode against two private ClickHouse servers forming two shards:
//! migrations on every host, two collectors at once storing every event
//! exactly once under one visitor id per visitor, salts erased on every
//! host, and reports equal to a single-node run over the same rows.

use chrono::{TimeZone, Utc};
use integration_tests::cluster_harness::TestCluster;
use integration_tests::query_harness::{insert, with_editors, TestQuery};
use integration_tests::*;
use schema::{Db, EventRow};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Visitors sending beacons, and the network each comes from (`203.0.v.9`).
const VISITORS: usize = 48;

async fn engine(db: &Db, table: &str) -> String {
    let sql = format!(
        "SELECT engine FROM system.tables WHERE database = '{}' AND name = '{table}'",
        db.database()
    );
    db.fetch_tsv(&sql).await.unwrap().trim().to_owned()
}

/// Beacon `seq` of `visitor`: its page, and whether it goes to the second
/// collector. Every third visitor alternates between the collectors.
fn beacons() -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    for visitor in 0..VISITORS {
        for seq in 0..=(visitor % 4) {
            let to_second = if visitor % 3 == 0 {
                seq % 2 == 1
            } else {
                visitor % 2 == 1
            };
            out.push((visitor, seq, to_second));
        }
    }
    out
}

fn page(visitor: usize, seq: usize) -> String {
    format!("/m/{visitor}/{seq}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_store_every_event_once_under_one_visitor_id() {
    let cluster = TestCluster::start();
    // A member without an HTTP URL stops the migration before any DDL:
    // listing one host, or none (both servers share 127.0.0.1, so the
    // `url`-port convention finds only the first).
    for hosts in [vec![cluster.urls()[0].clone()], vec![]] {
        let mut config = cluster.config(0);
        config.clickhouse.hosts = hosts;
        let partial = schema::connect(&config.clickhouse).await.unwrap();
        let err = schema::migrate::migrate(&partial)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("(shard 2, replica 1 of cluster"), "{err}");
    }
    let db = schema::connect(&cluster.config(0).clickhouse)
        .await
        .unwrap();
    for host in cluster.host_dbs().await {
        let sql = format!(
            "SELECT count() FROM system.databases WHERE name = '{}'",
            db.database()
        );
        assert_eq!(
            scalar(&host.in_system(), &sql).await,
            0,
            "a refused migration created nothing"
        );
    }
    let all: Vec<u32> = schema::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(schema::migrate::migrate(&db).await.unwrap(), all);
    let hosts = cluster.host_dbs().await;
    for host in &hosts {
        assert_eq!(schema::migrate::applied(host).await.unwrap(), all);
        for table in ["events", "salts", "visit_events", "visit_totals"] {
            assert_eq!(engine(host, table).await, "Distributed", "{table}");
        }
        assert_eq!(engine(host, "events_local").await, "MergeTree");
        assert_eq!(
            engine(host, "visit_totals_local").await,
            "AggregatingMergeTree"
        );
        assert_eq!(engine(host, "visit_totals_mv").await, "MaterializedView");
    }
    assert!(schema::migrate::migrate(&db).await.unwrap().is_empty());

    let first = TestCollector::start(cluster.config(0)).await;
    let second = TestCollector::start(cluster.config(1)).await;
    let urls = [first.url("/api/event"), second.url("/api/event")];
    let mut sending = tokio::task::JoinSet::new();
    for (visitor, seq, to_second) in beacons() {
        let url = urls[usize::from(to_second)].clone();
        sending.spawn(async move {
            let body = pageview(SITE, &format!("https://example.com{}", page(visitor, seq)));
            let response = reqwest::Client::new()
                .post(url)
                .header("user-agent", BROWSER_UA)
                .header("x-forwarded-for", format!("203.0.{visitor}.9"))
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 202);
            assert!(response.headers().get("x-analytics-dropped").is_none());
        });
    }
    while let Some(sent) = sending.join_next().await {
        sent.unwrap();
    }
    let day = first.clock.today();
    let _first_db = first.stop().await;
    let _second_db = second.stop().await;

    // 1. Exactly once: each page once through the Distributed table, and
    // the shards' local tables add up to the same rows.
    let rows = db
        .fetch_rows("SELECT pathname, toString(visitor_id) FROM events")
        .await
        .unwrap();
    let mut stored: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in &rows {
        stored
            .entry(row[0].clone())
            .or_default()
            .push(row[1].parse().unwrap());
    }
    let sent: BTreeSet<String> = beacons().iter().map(|&(v, s, _)| page(v, s)).collect();
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), sent);
    let twice: Vec<&String> = stored
        .iter()
        .filter(|(_, ids)| ids.len() != 1)
        .map(|(p, _)| p)
        .collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let mut local_total = 0;
    for host in &hosts {
        let local = scalar(host, "SELECT count() FROM events_local").await;
        assert!(local > 0, "a shard got no rows");
        local_total += local;
        assert_eq!(
            scalar(host, "SELECT count() FROM events").await,
            sent.len() as u64
        );
    }
    assert_eq!(
        local_total,
        sent.len() as u64,
        "local tables hold other rows than events"
    );

    // 2. One visitor id per visitor, whichever collector took the beacon:
    // the documented hash under the day's smallest stored salt.
    let mut ids = BTreeSet::new();
    for visitor in 0..VISITORS {
        let expected =
            visitor_id_by_hand(&db, day, SITE, &[203, 0, visitor as u8, 0], BROWSER_UA).await;
        for seq in 0..=(visitor % 4) {
            assert_eq!(
                stored[&page(visitor, seq)],
                vec![expected],
                "visitor {visitor} seq {seq}"
            );
        }
        ids.insert(expected);
    }
    assert_eq!(ids.len(), VISITORS);
    let both = beacons()
        .iter()
        .filter(|b| b.0 % 3 == 0 && b.1 == 1)
        .count();
    assert!(both > 10, "few visitors used both collectors");

    // A day's salt candidates live on one shard, so an offer reads back.
    let mut with_salts = 0;
    for host in &hosts {
        let sql = format!("SELECT count() FROM salts_local WHERE toUInt16(day) = {day}");
        with_salts += u32::from(scalar(host, &sql).await > 0);
    }
    assert_eq!(with_salts, 1, "today's salt candidates are on one shard");

    // Expired salts are erased on every host, wherever they are.
    for host in &hosts {
        let sql = format!(
            "INSERT INTO salts_local (day, salt, created_at) VALUES \
             (toDate(toDateTime({old} * 86400)), toFixedString(unhex('{ab}'), 32), now())",
            old = day - 5,
            ab = "ab".repeat(32),
        );
        host.execute(&sql).await.unwrap();
    }
    let erased = schema::salts::erase_before(&db, day - 1).await.unwrap();
    assert_eq!(erased.len(), 1, "{erased:?}");
    for host in &hosts {
        let sql = format!(
            "SELECT count() FROM salts_local WHERE toUInt16(day) < {}",
            day - 1
        );
        assert_eq!(scalar(host, &sql).await, 0);
    }
}

/// A person's id on a UTC day. The low bit is `person + day`, so that
/// (with the `visitor_id` sharding key over two shards) a person's ids of
/// two days in a row always live on different shards.
fn id_of(person: u64, day: i64) -> u64 {
    let mixed = person.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (day as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (mixed & !1) | ((person + day as u64) & 1)
}

const DAY1: i64 = 19_791; // 2024-03-09

/// Two UTC days of events: every person has visits of a few pages, some
/// bounce, some send a custom event, and every fourth one is active across
/// the midnight between the days (the events after midnight carry the
/// previous day's id, as the collector stores them).
fn dataset() -> Vec<(u64, EventRow)> {
    const PAGES: [&str; 5] = ["/", "/blog", "/blog/post-1", "/docs", "/pricing"];
    const SOURCES: [&str; 4] = ["", "Google", "Hacker News", "Newsletter"];
    const COUNTRIES: [&str; 3] = ["DE", "FR", "US"];
    let mut rows = Vec::new();
    for person in 0..80u64 {
        let crossing = person % 4 == 0;
        // At least four page views 4 to 6 minutes apart, from 5 to 7
        // minutes before midnight: past midnight, in one visit.
        let (start, pageviews) = if crossing {
            let start = (DAY1 + 1) * 86_400 - 300 - (person as i64 % 5) * 30;
            (start, 4 + (person % 3) as i64)
        } else {
            let start = DAY1 * 86_400 + (person as i64 * 1_777) % (2 * 86_400 - 4_000);
            (start, 1 + (person % 5) as i64)
        };
        for k in 0..pageviews {
            let ts = start + k * (240 + (person as i64 % 3) * 60);
            let day = ts.div_euclid(86_400);
            let after_midnight = ts - day * 86_400 < 1_800;
            let mut row = EventRow {
                timestamp: ts as u32,
                site: SITE.into(),
                name: "pageview".into(),
                hostname: "example.com".into(),
                pathname: PAGES[((person + k as u64) % 5) as usize].into(),
                visitor_id: id_of(person, day),
                prev_visitor_id: if after_midnight {
                    id_of(person, day - 1)
                } else {
                    0
                },
                interactive: 1,
                source: SOURCES[(person % 4) as usize].into(),
                country: COUNTRIES[(person % 3) as usize].into(),
                browser: "Firefox".into(),
                device: "Desktop".into(),
                ..EventRow::default()
            };
            if k == 0 {
                row.referrer = row.source.to_lowercase();
            }
            rows.push((person, row.clone()));
            if person % 6 == 1 && k == pageviews - 1 {
                let signup = EventRow {
                    name: "Signup".into(),
                    timestamp: row.timestamp + 30,
                    ..row
                };
                rows.push((person, signup));
            }
        }
    }
    rows
}

fn queries() -> Vec<Value> {
    let range = json!(["2024-03-09", "2024-03-10"]);
    let all = [
        "visitors",
        "visits",
        "pageviews",
        "events",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
    ];
    vec![
        json!({"metrics": all, "date_range": range}),
        json!({"metrics": ["visitors", "pageviews", "bounce_rate"], "dimensions": ["event:page"], "date_range": range}),
        json!({"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"], "date_range": range}),
        json!({"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["visit:country"], "date_range": range}),
        json!({"metrics": ["visits", "bounce_rate"], "dimensions": ["visit:entry_page"], "date_range": range}),
        json!({"metrics": ["visits"], "dimensions": ["visit:exit_page"], "date_range": range}),
        json!({"metrics": ["events", "visitors"], "dimensions": ["event:name"], "date_range": range}),
        json!({"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"], "date_range": range}),
        json!({"metrics": ["visitors", "visits", "visit_duration"], "dimensions": ["time:hour"], "date_range": ["2024-03-09", "2024-03-09"]}),
        json!({"metrics": all, "date_range": range, "filters": [["is", "visit:country", ["DE"]]]}),
        json!({"metrics": ["visitors", "visits"], "dimensions": ["visit:source"], "date_range": range,
               "filters": [["contains", "event:page", ["/blog"]]]}),
        json!({"metrics": ["visitors", "visits", "visit_duration", "bounce_rate"], "date_range": ["2024-03-10", "2024-03-10"]}),
        // Goals (test_config's) and properties, matched at read time.
        json!({"metrics": ["visitors", "events", "conversion_rate", "total_revenue"], "dimensions": ["event:goal"], "date_range": range}),
        json!({"metrics": ["visitors", "group_conversion_rate"], "dimensions": ["visit:source"], "date_range": range,
               "filters": [["is", "event:goal", ["Visit /blog/**", "Signup"]]]}),
        json!({"metrics": ["visitors", "events"], "dimensions": ["event:props:plan"], "date_range": range,
               "filters": [["is", "event:props:plan", ["(none)"]]]}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_equal_a_single_node_run_over_the_same_rows() {
    let cluster = TestCluster::start();
    let now = Utc.with_ymd_and_hms(2024, 3, 12, 12, 0, 0).unwrap();
    // Reports through the second host, inserts through the first: any
    // host answers for the whole cluster.
    let mut cluster_config = cluster.config(1);
    with_editors(&mut cluster_config);
    let mut single_config = test_config();
    with_editors(&mut single_config);
    let clustered = TestQuery::start(cluster_config, now).await;
    let single = TestQuery::start(single_config.clone(), now).await;
    let single_db = TestDb::connect(&single_config).await;
    let cluster_db = schema::connect(&cluster.config(0).clickhouse)
        .await
        .unwrap();

    let data = dataset();
    let rows: Vec<EventRow> = data.iter().map(|(_, row)| row.clone()).collect();
    insert(&cluster_db, &rows).await;
    insert(&single_db, &rows).await;

    // Each person's ids of the two days are on different shards, so a visit
    // across midnight really is put together from two shards.
    let hosts = cluster.host_dbs().await;
    for id in [id_of(0, DAY1), id_of(0, DAY1 + 1)] {
        let sql = format!("SELECT count() FROM events_local WHERE visitor_id = {id}");
        let home = (id % 2) as usize;
        assert!(
            scalar(&hosts[home], &sql).await > 0,
            "id {id} not on shard {home}"
        );
        assert_eq!(
            scalar(&hosts[1 - home], &sql).await,
            0,
            "id {id} on two shards"
        );
    }

    for mut query in queries() {
        query["site_id"] = json!(SITE);
        let expected = single.ok(&query).await;
        let got = clustered.ok(&query).await;
        assert!(
            !expected["results"].as_array().unwrap().is_empty(),
            "{query}: no rows"
        );
        assert_eq!(got, expected, "{query}");
    }

    // Each person made one visit (no gap reaches 30 minutes), also across
    // midnight, where it has two visitor ids: counted from the data.
    let persons: BTreeSet<u64> = data.iter().map(|(p, _)| *p).collect();
    let ids: BTreeSet<u64> = data.iter().map(|(_, row)| row.visitor_id).collect();
    let crossing = data
        .iter()
        .filter(|(p, _)| p % 4 == 0)
        .map(|(_, r)| r.visitor_id);
    assert_eq!(
        crossing.collect::<BTreeSet<_>>().len(),
        2 * 20,
        "crossers have two ids"
    );
    let totals = json!({"site_id": SITE, "metrics": ["visitors", "visits"],
        "date_range": ["2024-03-09", "2024-03-10"]});
    let got = clustered.ok(&totals).await;
    assert_eq!(
        got["results"][0]["metrics"],
        json!([ids.len(), persons.len()]),
        "{got}"
    );
    clustered.stop().await;
    single.stop().await;

    // Site deletion reaches every shard's local table, not only the host
    // it was started from.
    let erase_hosts = schema::erase::hosts(&cluster.config(0)).await.unwrap();
    assert_eq!(erase_hosts.len(), 2, "one host per shard");
    let deadline = std::time::Duration::from_secs(60);
    let report = schema::site_delete::delete_site(&erase_hosts, SITE, deadline)
        .await
        .unwrap();
    let removed: u64 = report
        .tables
        .iter()
        .filter(|(table, _)| table == "events_local")
        .map(|(_, rows)| rows)
        .sum();
    assert_eq!(removed, rows.len() as u64, "{report:?}");
    for host in &hosts {
        let sql = format!("SELECT count() FROM events_local WHERE site = '{SITE}'");
        assert_eq!(scalar(host, &sql).await, 0, "rows left on a shard");
    }
}
