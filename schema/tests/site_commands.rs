//! The lifecycle commands as an operator runs them: `schema retention run`,
//! `schema site export` and `schema site delete` as processes, against a
//! private clickhouse-server. (What each removes or writes, row by row, is
//! checked in `tests/tests/lifecycle.rs`.)

use schema::{Config, Db, EventRow};
use std::process::{Command, Output};

struct Setup {
    db: Db,
    config_path: std::path::PathBuf,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let server = schema::local_server::shared().expect("a private ClickHouse");
    let mut config = Config::default();
    config.clickhouse.url = server.http_url().to_owned();
    config.clickhouse.database = format!("cli_{}", std::process::id());
    let db = schema::connect(&config.clickhouse).await.unwrap();
    schema::migrate::migrate(&db).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[clickhouse]\nurl = \"{}\"\ndatabase = \"{}\"\n\n[[site]]\ndomain = \"a.example\"\nretention_days = 30\n",
            config.clickhouse.url, config.clickhouse.database
        ),
    )
    .unwrap();
    Setup {
        db,
        config_path,
        dir,
    }
}

fn schema(args: &[&str], config: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schema"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("CLICKHOUSE_URL")
        .env_remove("CLICKHOUSE_DATABASE")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn count(db: &Db, sql: &str) -> u64 {
    db.fetch_tsv(sql).await.unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn the_commands_run_as_processes() {
    let s = setup().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let day = 86_400;
    let rows: Vec<EventRow> = [
        ("a.example", now - 100 * day), // past its 30 days
        ("a.example", now - day),
        ("a.example", now - 2 * day),
        ("b.example", now - 100 * day), // not configured: the default 790 days
    ]
    .iter()
    .map(|(site, timestamp)| EventRow {
        timestamp: *timestamp,
        site: site.to_string().into(),
        name: "pageview".into(),
        ..EventRow::default()
    })
    .collect();
    let mut insert = s.db.client().insert::<EventRow>("events").await.unwrap();
    for row in &rows {
        insert.write(row).await.unwrap();
    }
    insert.end().await.unwrap();

    let out = stdout(&schema(&["retention", "run"], &s.config_path));
    assert!(out.contains("retention: 1 row(s) removed in all"), "{out}");
    assert_eq!(count(&s.db, "SELECT count() FROM events").await, 3);

    let csv = s.dir.path().join("a.csv");
    let out = stdout(&schema(
        &[
            "site",
            "export",
            "a.example",
            "--out",
            csv.to_str().unwrap(),
        ],
        &s.config_path,
    ));
    assert!(out.contains("2 event(s) written"), "{out}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("\"timestamp\",\"site\","), "{text}");
    assert_eq!(text.lines().count(), 3, "a header and two rows: {text}");

    let parquet = s.dir.path().join("a.parquet");
    let out = stdout(&schema(
        &[
            "site",
            "export",
            "a.example",
            "--out",
            parquet.to_str().unwrap(),
        ],
        &s.config_path,
    ));
    assert!(out.contains("2 event(s) written"), "{out}");
    let bytes = std::fs::read(&parquet).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));

    let refused = schema(&["site", "delete", "*"], &s.config_path);
    assert!(!refused.status.success());
    let out = stdout(&schema(&["site", "delete", "a.example"], &s.config_path));
    assert!(out.contains("events: 2 row(s) removed"), "{out}");
    assert_eq!(
        count(&s.db, "SELECT count() FROM events WHERE site = 'a.example'").await,
        0
    );
    assert_eq!(count(&s.db, "SELECT count() FROM events").await, 1);
    s.db.execute(&format!("DROP DATABASE {}", s.db.database()))
        .await
        .unwrap();
}
