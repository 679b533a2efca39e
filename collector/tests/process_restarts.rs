//! The real collector binary, interrupted under load and started again,
//! against the private test ClickHouse:
//! - `durability = "spool"` and `kill -9`: every acknowledged beacon is
//!   stored, exactly once;
//! - `durability = "memory"` and SIGTERM: the process exits 0 within a
//!   bounded time, and exactly the acknowledged beacons are stored.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("--config")
        .arg(config)
        .env_remove("CLICKHOUSE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The exit status, or `None` if the process is still running after `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the collector did not become ready");
}

/// Sends beacons until `running` is false; returns the paths that got 202
/// with no drop header.
async fn load(
    base: String,
    worker: u64,
    running: Arc<AtomicBool>,
    next: Arc<AtomicU64>,
) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut acknowledged = Vec::new();
    while running.load(Ordering::Relaxed) {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let body = format!(
            r#"{{"n":"pageview","u":"https://example.com/{worker}/{n}","d":"example.com"}}"#
        );
        let sent = client
            .post(format!("{base}/api/event"))
            .header("user-agent", UA)
            .body(body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == 202 && r.headers().get("x-analytics-dropped").is_none() => {
                acknowledged.push(format!("/{worker}/{n}"));
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    acknowledged
}

#[derive(Clone, Copy, PartialEq)]
enum Interruption {
    Kill9,
    SigTerm,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_beacons_survive_kill_9() {
    interrupted_under_load("spool", Interruption::Kill9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_everything_and_exits_zero() {
    interrupted_under_load("memory", Interruption::SigTerm).await;
}

async fn interrupted_under_load(durability: &str, how: Interruption) {
    let clickhouse = schema::local_server::shared().expect("private clickhouse");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let database = format!("restart_{durability}_{}", std::process::id());
    let config_path = dir.path().join("collector.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[clickhouse]
url = "{url}"
database = "{database}"

[collector]
listen = "127.0.0.1:{port}"
durability = "{durability}"
spool_dir = "{spool}"
dead_letter_dir = "{dead}"
visitor_events_per_minute = 0

[[site]]
domain = "example.com"
"#,
            url = clickhouse.http_url(),
            spool = dir.path().join("spool").display(),
            dead = dir.path().join("dead").display(),
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let mut first = start(&config_path);
    wait_ready(&base).await;
    let running = Arc::new(AtomicBool::new(true));
    let next = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|w| tokio::spawn(load(base.clone(), w, running.clone(), next.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    match how {
        // SIGKILL: no flush, no goodbye.
        Interruption::Kill9 => {
            first.kill().unwrap();
            first.wait().unwrap();
        }
        Interruption::SigTerm => {
            let status = Command::new("kill")
                .args(["-TERM", &first.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            let exited = wait_exit(&mut first, Duration::from_secs(20));
            assert_eq!(
                exited.and_then(|s| s.code()),
                Some(0),
                "a clean, bounded exit"
            );
        }
    }
    running.store(false, Ordering::Relaxed);
    let mut acknowledged = std::collections::HashSet::new();
    for w in workers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(
        acknowledged.len() > 100,
        "too little load to mean anything: {}",
        acknowledged.len()
    );

    let mut second = start(&config_path);
    wait_ready(&base).await;
    let db = schema::connect(&schema::config::ClickHouseConfig {
        url: clickhouse.http_url().to_owned(),
        database: database.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut stored = Vec::new();
    for _ in 0..400 {
        let text = db.fetch_tsv("SELECT pathname FROM events").await.unwrap();
        stored = text.lines().map(str::to_owned).collect();
        if acknowledged.iter().all(|p| stored.contains(p)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    let _ = db
        .execute(&format!("DROP DATABASE IF EXISTS {database}"))
        .await;
    // Every acknowledged beacon is there, and nothing is there twice. After
    // kill -9 a beacon spooled but cut off before its 202 may be there too;
    // after SIGTERM every request finished, so the sets are equal.
    let missing = acknowledged.iter().filter(|p| !stored.contains(p)).count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged beacons lost",
        acknowledged.len()
    );
    let distinct: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), stored.len(), "a beacon was stored twice");
    if how == Interruption::SigTerm {
        assert_eq!(
            stored.len(),
            acknowledged.len(),
            "stored beacons never acknowledged"
        );
    }
}
