//! Our SQL on current ClickHouse. The services' own code (every migration
//! with what `schema migrate` does around it, the collector's salts and
//! inserts, the materializer, and every request of the report catalogue on
//! the raw-events and the rollup path) runs against ClickHouse 26 (chdb,
//! see `integration_tests::chdb`) and, over the same rows, against the
//! private 18.16 server. A step fails when a statement fails on 26, when
//! either server refuses it, or when the two answer differently; every
//! failure is named (step or catalogue entry, SQL, error) and all of them
//! are reported together.

use chrono::{DateTime, TimeZone, Utc};
use collector::clock::Clock;
use collector::delivery::sink::{ClickHouseSink, EventSink};
use collector::privacy::salt::SaltStore;
use integration_tests::chdb::ChdbServer;
use integration_tests::query_harness::{self, TestQuery, ADMIN_TOKEN};
use integration_tests::report_catalogue::{catalogue, Entry};
use integration_tests::{test_config, ManualClock, TestDb, SITE};
use schema::config::SiteConfig;
use schema::{Config, Db, EventRow, SaltRow};
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

const BERLIN: &str = "berlin.example";
const KOLKATA: &str = "kolkata.example";
/// The spool batch id of the first rows.
const BATCH: u64 = 7;
/// Rows of the current generation of materialized tables.
const CURRENT: &str =
    "(chunk, generation) IN (SELECT chunk, max(generation) FROM visit_chunks GROUP BY chunk)";

/// "Now" for the services: a Wednesday afternoon after the rows below.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()
}

fn at(day: u32, hour: u32, minute: u32) -> u32 {
    let t = Utc
        .with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap();
    u32::try_from(t.timestamp()).unwrap()
}

/// One server under test: its config and database.
struct Side {
    config: Config,
    db: TestDb,
}

impl Side {
    async fn new(url: &str, database: &str) -> Self {
        let mut config = test_config();
        config.clickhouse.url = url.into();
        config.clickhouse.database = database.into();
        for (domain, zone) in [(BERLIN, "Europe/Berlin"), (KOLKATA, "Asia/Kolkata")] {
            let mut site = SiteConfig::new(domain);
            site.timezone = zone.into();
            config.site.push(site);
        }
        query_harness::with_editors(&mut config);
        let db = TestDb::connect(&config).await;
        Self { config, db }
    }

    fn db(&self) -> Db {
        (*self.db).clone()
    }
}

/// Which server a query outside a step runs on.
#[derive(Clone, Copy)]
enum Server {
    Old,
    New,
}

/// Both servers, and everything that went wrong so far.
struct Check {
    chdb: ChdbServer,
    old: Side,
    new: Side,
    failures: Vec<String>,
}

impl Check {
    /// Runs `step` on 18.16 and on ClickHouse 26, and returns 26's result
    /// when both succeeded with the same result.
    async fn step<T, E, F, Fut>(&mut self, name: &str, step: F) -> Option<T>
    where
        F: Fn(Db, Config) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        T: PartialEq + Debug,
        E: Display,
    {
        self.drain("between steps").await;
        let old = step(self.old.db(), self.old.config.clone()).await;
        let new = step(self.new.db(), self.new.config.clone()).await;
        self.drain(name).await;
        match (old, new) {
            (Ok(a), Ok(b)) if a == b => return Some(b),
            (Ok(a), Ok(b)) => self.fail(format!("{name}: 18.16 gave {a:?}, 26 gave {b:?}")),
            (Err(e), Ok(_)) => self.fail(format!("{name}: failed on 18.16: {e}")),
            (_, Err(e)) => self.fail(format!("{name}: failed on 26: {e}")),
        }
        None
    }

    /// Records every statement that failed on ClickHouse 26 since the last call.
    async fn drain(&mut self, name: &str) {
        for statement in self.chdb.statements().await {
            if let Some(error) = statement.error {
                self.fail(format!(
                    "{name}: statement failed on ClickHouse 26:\n    {}\n    {error}",
                    statement.sql
                ));
            }
        }
    }

    /// Compares a result with what was expected. No result (a step or query
    /// that failed, already recorded with its error) is a failure of this
    /// check too: a check that could not be made must not pass.
    fn expect<T: PartialEq + Debug>(&mut self, name: &str, got: Option<T>, expected: T) {
        match got {
            Some(got) if got == expected => {}
            Some(got) => self.fail(format!("{name}: got {got:?}, expected {expected:?}")),
            None => self.fail(format!(
                "{name}: no result to compare with {expected:?} (see its failure above)"
            )),
        }
    }

    /// One query on one server, outside a step; a failure is recorded with
    /// the server's error, and the chdb statement log is drained after it.
    async fn query(&mut self, name: &str, side: Server, sql: &str) -> Option<String> {
        let (db, server) = match side {
            Server::Old => (self.old.db(), "18.16"),
            Server::New => (self.new.db(), "26"),
        };
        let result = db.fetch_tsv(sql).await;
        self.drain(name).await;
        match result {
            Ok(text) => Some(text),
            Err(e) => {
                self.fail(format!("{name}: failed on {server}: {e}\n    {sql}"));
                None
            }
        }
    }

    fn fail(&mut self, message: String) {
        eprintln!("FAILED {message}");
        self.failures.push(message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_sql_runs_on_current_clickhouse_as_on_18_16() {
    let chdb = ChdbServer::start();
    let database = format!("test_{}", hex::encode(rand::random::<[u8; 6]>()));
    let old = Side::new(&integration_tests::clickhouse_url(), &database).await;
    let new = Side::new(chdb.url(), &database).await;
    let mut check = Check {
        chdb,
        old,
        new,
        failures: Vec::new(),
    };
    // The engine under test must be current, and the baseline the 18.x
    // the services are written for (the private server, or CLICKHOUSE_URL
    // if that names one), asked by SQL rather than taken from the client.
    let new_version = check.new.db.version();
    assert!(
        new_version >= schema::client::ServerVersion(26, 0),
        "{new_version:?}"
    );
    // Over plain HTTP, as this test's database does not exist yet.
    let old_version = reqwest::Client::new()
        .post(&check.old.config.clickhouse.url)
        .body("SELECT version()")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("the baseline server answers SELECT version()")
        .text()
        .await
        .unwrap();
    assert!(
        old_version.trim().starts_with("18."),
        "the baseline server is {old_version:?}, not ClickHouse 18.x"
    );

    migrations(&mut check).await;
    salts(&mut check).await;
    inserts_and_rollups(&mut check).await;
    for rollups in [false, true] {
        reports(&mut check, rollups).await;
    }
    lifecycle(&mut check).await;
    // Anything 26 ran since the last drain (there should be nothing) is
    // checked too, so no failed statement goes unreported.
    check.drain("after the last check").await;
    assert!(
        check.failures.is_empty(),
        "{} failures on current ClickHouse:\n{}",
        check.failures.len(),
        check.failures.join("\n")
    );
}

/// Every migration, in order, as `schema migrate` applies it; then again
/// with nothing to do; then with its records lost, so every statement runs
/// again and every column addition is skipped by the column check.
async fn migrations(check: &mut Check) {
    let all: Vec<u32> = schema::migrate::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    let name = "migrate a new database";
    let got = check
        .step(
            name,
            |db, _| async move { schema::migrate::migrate(&db).await },
        )
        .await;
    check.expect(name, got, all.clone());
    let name = "migrate again";
    let got = check
        .step(
            name,
            |db, _| async move { schema::migrate::migrate(&db).await },
        )
        .await;
    check.expect(name, got, Vec::new());
    let name = "migrate with the records lost";
    let got = check
        .step(name, |db, _| async move {
            db.execute("DROP TABLE schema_migrations").await?;
            schema::migrate::migrate(&db).await
        })
        .await;
    check.expect(name, got, all);
}

/// The collector's salt store: an expired salt is erased (DROP PARTITION),
/// today's is offered and agreed on.
async fn salts(check: &mut Check) {
    let today = u16::try_from(now().timestamp() / 86_400).unwrap();
    let name = "salts: open the store, erasing an expired day";
    let got = check
        .step(name, |db, _| async move {
            let expired = SaltRow {
                day: today - 5,
                salt: [9; 32],
                created_at: 0,
            };
            schema::salts::offer(&db, &expired).await?;
            let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now().timestamp() as u64));
            let store = SaltStore::open(db.clone(), clock).await?;
            let left = db
                .fetch_tsv(&format!(
                    "SELECT count() FROM salts WHERE toUInt16(day) < {}",
                    today - 1
                ))
                .await?;
            let days = db.fetch_tsv("SELECT count() FROM salts").await?;
            Ok::<_, schema::DbError>((store.current_day(), left, days))
        })
        .await;
    check.expect(
        name,
        got,
        (Some(today), "0\n".to_string(), "1\n".to_string()),
    );
}

/// The collector's batch insert and batch count, then the materializer:
/// a first run, and a second after late events.
async fn inserts_and_rollups(check: &mut Check) {
    let first = first_rows();
    let count = first.len() as u64;
    let name = "collector: insert a spool batch and count it";
    let got = check
        .step(name, |db, config| {
            let rows = first.clone();
            async move {
                let sink = ClickHouseSink::new(db, &config.clickhouse.url);
                sink.insert(&schema::EncodedRows::of(&rows)).await?;
                sink.stored_in_batch(BATCH).await
            }
        })
        .await;
    check.expect(name, got, count);
    let sites = vec![SITE.to_string(), BERLIN.into(), KOLKATA.into()];
    let first_hour = i64::from(first.iter().map(|r| r.timestamp).min().unwrap()) / 3600 * 3600;
    let settled = (now().timestamp() - 3600) / 3600 * 3600;
    let name = "materializer: first run";
    let got = check
        .step(name, |db, _| {
            let sites = sites.clone();
            async move {
                let report = query::jobs::rollup::Rollup::default()
                    .run_at(&db, &sites, now().timestamp())
                    .await?;
                Ok::<_, schema::DbError>((report.new_hours, report.redone_hours))
            }
        })
        .await;
    check.expect(name, got, (((settled - first_hour) / 3600) as usize, 0));
    let name = "materializer: late events";
    let got = check
        .step(name, |db, config| {
            let sites = sites.clone();
            async move {
                let sink = ClickHouseSink::new(db.clone(), &config.clickhouse.url);
                sink.insert(&schema::EncodedRows::of(&late_rows()))
                    .await
                    .map_err(|e| schema::DbError::Unexpected(e.to_string()))?;
                let report = query::jobs::rollup::Rollup::default()
                    .run_at(&db, &sites, now().timestamp())
                    .await?;
                Ok::<_, schema::DbError>((report.new_hours, report.redone_hours > 0))
            }
        })
        .await;
    check.expect(name, got, (0, true));
    for (name, sql) in [
        (
            "materialized visits",
            format!(
                "SELECT count(), sum(is_first), sum(v_duration), sum(v_pageviews), sum(v_bounce) \
                 FROM visit_events WHERE {CURRENT}"
            ),
        ),
        (
            "hourly totals",
            format!(
                "SELECT dim, count(), uniqCombinedIfMerge(14)(visitors), sumMerge(pageviews), sumMerge(visits), \
                 sumMerge(duration) FROM visit_totals WHERE {CURRENT} GROUP BY dim ORDER BY dim"
            ),
        ),
        (
            "daily totals",
            "SELECT day, dim, uniqCombinedIfMerge(14)(visitors), sumMerge(events) FROM visit_totals_daily \
             WHERE (day, generation) IN (SELECT day, max(generation) FROM visit_days GROUP BY day) \
             GROUP BY day, dim ORDER BY day, dim"
                .to_string(),
        ),
    ] {
        check
            .step(name, |db, _| {
                let sql = sql.clone();
                async move { db.fetch_tsv(&sql).await }
            })
            .await;
    }
}

/// Every catalogue entry and the realtime number, through the query
/// service, reading events only or materialized visits too.
async fn reports(check: &mut Check, rollups: bool) {
    let mode = if rollups { "rollups" } else { "raw events" };
    let start = |side: &Side| {
        let mut config = side.config.clone();
        config.query.rollups = rollups;
        TestQuery::start(config, now())
    };
    let old = start(&check.old).await;
    let new = start(&check.new).await;
    check
        .drain(&format!("start the query service ({mode})"))
        .await;
    for entry in catalogue(SITE, &[BERLIN, KOLKATA], rollups) {
        let name = format!("report `{}` ({mode})", entry.name);
        let (a, b) = tokio::join!(ask(&old, &entry), ask(&new, &entry));
        check.drain(&name).await;
        if b.0 != 200 {
            check.fail(format!("{name}: 26 answered {} {}", b.0, b.1));
        } else if a.0 != 200 {
            check.fail(format!("{name}: 18.16 answered {} {}", a.0, a.1));
        } else if a != b {
            check.fail(format!(
                "{name}: answers differ\n    18.16: {}\n    26:    {}",
                a.1, b.1
            ));
        }
    }
    let name = format!("realtime visitors ({mode})");
    let realtime = |service: &TestQuery| {
        let url = service.url(&format!("/api/v1/stats/realtime/visitors?site_id={SITE}"));
        let request = service.http().get(url).bearer_auth(ADMIN_TOKEN).send();
        async move {
            let response = request.await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (a, b) = (realtime(&old).await, realtime(&new).await);
    check.drain(&name).await;
    // One visitor was seen in the five minutes before "now".
    for (server, got) in [("18.16", a), ("26", b)] {
        if got != (200, "1".to_string()) {
            check.fail(format!("{name}: {server} answered {got:?}, expected 1"));
        }
    }
    old.stop().await;
    new.stop().await;
}

/// Status and body of one catalogue request.
async fn ask(service: &TestQuery, entry: &Entry) -> (u16, String) {
    let mut request = service
        .http()
        .post(service.url("/api/v2/query"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&entry.body);
    if entry.csv {
        request = request.header("accept", "text/csv");
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn event(site: &str, timestamp: u32, name: &str, pathname: &str, visitor_id: u64) -> EventRow {
    EventRow {
        timestamp,
        site: site.into(),
        name: name.into(),
        hostname: "www.example.com".into(),
        pathname: pathname.into(),
        visitor_id,
        interactive: 1,
        batch_id: BATCH,
        ..EventRow::default()
    }
}

fn pageview(site: &str, timestamp: u32, pathname: &str, visitor_id: u64) -> EventRow {
    event(site, timestamp, "pageview", pathname, visitor_id)
}

fn with_props(mut row: EventRow, props: &[(&str, &str)]) -> EventRow {
    row.props_keys = props.iter().map(|(k, _)| k.to_string()).collect();
    row.props_values = props.iter().map(|(_, v)| v.to_string()).collect();
    row
}

/// A desktop visitor from a search engine in Germany, with UTM tags.
fn from_search(mut row: EventRow) -> EventRow {
    row.referrer = "https://www.google.com/".into();
    row.source = "Google".into();
    row.medium = "organic".into();
    row.utm_source = "newsletter".into();
    row.utm_medium = "email".into();
    row.utm_campaign = "winter".into();
    row.utm_content = "top".into();
    row.utm_term = "analytics".into();
    row.country = "DE".into();
    row.region = "DE-BE".into();
    row.city = "Berlin".into();
    row.browser = "Firefox".into();
    row.browser_version = "133.0".into();
    row.os = "Linux".into();
    row.device = "Desktop".into();
    row.screen_size = "Desktop".into();
    row
}

/// A phone in France that came straight to the site.
fn on_phone(mut row: EventRow) -> EventRow {
    row.country = "FR".into();
    row.region = "FR-IDF".into();
    row.city = "Paris".into();
    row.browser = "Safari".into();
    row.browser_version = "18.1".into();
    row.os = "iOS".into();
    row.os_version = "18.1".into();
    row.device = "Mobile".into();
    row
}

/// The rows stored before the materializer first runs.
fn first_rows() -> Vec<EventRow> {
    let mut rows = vec![
        // A visit with a signup and time on page.
        from_search(pageview(SITE, at(23, 10, 0), "/", 101)),
        from_search(pageview(SITE, at(23, 10, 5), "/pricing", 101)),
        from_search(with_props(
            event(SITE, at(23, 10, 6), "Signup", "/pricing", 101),
            &[("plan", "pro")],
        )),
        from_search(event(SITE, at(23, 10, 7), "engagement", "/pricing", 101)),
        // One visit across UTC midnight: the id changes, the old one is kept.
        on_phone(pageview(SITE, at(23, 23, 50), "/blog", 202)),
        on_phone(EventRow {
            prev_visitor_id: 202,
            ..pageview(SITE, at(24, 0, 10), "/blog/post", 303)
        }),
        on_phone(EventRow {
            prev_visitor_id: 202,
            ..event(SITE, at(24, 0, 12), "engagement", "/blog/post", 303)
        }),
        // A bounce on another hostname, with a property.
        with_props(
            EventRow {
                hostname: "blog.example.com".into(),
                country: "US".into(),
                device: "Tablet".into(),
                browser: "Chrome".into(),
                ..pageview(SITE, at(24, 12, 0), "/", 404)
            },
            &[("author", "ann")],
        ),
        // Two visits of one visitor (a 40-minute gap), an outbound click and
        // a non-interactive event.
        from_search(pageview(SITE, at(25, 9, 0), "/", 505)),
        from_search(pageview(SITE, at(25, 9, 40), "/pricing", 505)),
        from_search(with_props(
            event(SITE, at(25, 9, 41), "Outbound Link: Click", "/pricing", 505),
            &[("url", "https://other.org/"), ("plan", "free")],
        )),
        EventRow {
            interactive: 0,
            ..event(SITE, at(25, 9, 42), "Scroll", "/pricing", 505)
        },
        // In the hour not yet materialized; the last one is "realtime".
        pageview(SITE, at(25, 14, 30), "/", 606),
        pageview(SITE, at(25, 14, 58), "/blog", 606),
        // Around local midnight in Berlin (UTC+1) and Kolkata (UTC+5:30).
        pageview(BERLIN, at(24, 22, 50), "/", 707),
        pageview(BERLIN, at(24, 23, 10), "/b", 707),
        pageview(KOLKATA, at(24, 18, 20), "/", 808),
        pageview(KOLKATA, at(24, 18, 40), "/k", 808),
    ];
    rows.sort_by_key(|r| r.timestamp);
    rows
}

/// Rows that arrive after their hour was materialized (an import, a spool
/// replay), written from memory (batch 0).
fn late_rows() -> Vec<EventRow> {
    [
        pageview(SITE, at(23, 11, 15), "/late", 909),
        with_props(
            event(SITE, at(23, 11, 16), "Signup", "/late", 909),
            &[("plan", "basic")],
        ),
    ]
    .into_iter()
    .map(|r| EventRow { batch_id: 0, ..r })
    .collect()
}

/// The operator commands' SQL: a site's export, a site's deletion from
/// every table, and retention that deletes part of a month (a mutation,
/// waited for in `system.mutations`), each compared between the servers.
async fn lifecycle(check: &mut Check) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_owned();
    let name = "schema site export (CSV)";
    let exported = check
        .step(name, |db, _| {
            let file = out.join(format!("{}.csv", db.version().0));
            async move { schema::export::export_site(&db, SITE, &file).await }
        })
        .await;
    check.expect(name, exported.map(|rows| rows > 0), true);

    let name = "schema site delete";
    let deleted = check
        .step(name, |db, _| async move {
            let deadline = std::time::Duration::from_secs(60);
            schema::site_delete::delete_site(&[db], KOLKATA, deadline).await
        })
        .await;
    check.expect(name, deleted.map(|report| report.rows() > 0), true);

    // Today is the real day, as the table TTL that current servers get
    // counts from the server's clock: so TTL merges remove only what the
    // run itself removes, and both servers keep the same rows.
    let name = "schema retention run (all but the newest day expire)";
    let today = u32::try_from(Utc::now().timestamp() / 86_400).unwrap();
    let removed = check
        .step(name, |db, mut config| async move {
            let newest = db
                .fetch_tsv("SELECT toUInt32(toDate(max(timestamp))) FROM events")
                .await
                .map_err(|e| e.to_string())?;
            let newest: u32 = newest.trim().parse().map_err(|_| newest.clone())?;
            for site in &mut config.site {
                site.retention_days = today - newest;
            }
            let cutoffs = schema::retention::Cutoffs::for_config(&config, today);
            let deadline = std::time::Duration::from_secs(60);
            schema::retention::enforce(&[db], &cutoffs, deadline)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    check.expect(name, removed.map(|report| report.rows() > 0), true);
    // Current servers also carry the rule as the tables' TTL; 18.16 has none.
    let name = "retention: table TTL on current ClickHouse only";
    let ttl_sql = "SELECT name FROM system.tables WHERE database = currentDatabase() \
                   AND position(create_table_query, ' TTL ') > 0 ORDER BY name";
    let with_ttl = check.query(name, Server::New, ttl_sql).await;
    let expected =
        "events\nimported_stats\nimports\nvisit_events\nvisit_totals\nvisit_totals_daily\n"
            .to_owned();
    check.expect(name, with_ttl, expected);
    let old_ttl = check.query(name, Server::Old, ttl_sql).await;
    check.expect(name, old_ttl, String::new());
}
