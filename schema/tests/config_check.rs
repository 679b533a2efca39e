//! `schema config check` as a deployment script runs it: every bad key
//! named in one run with a failing exit code, and with `--connect`, a
//! ClickHouse that answers but is not migrated refused until it is.

use std::path::Path;
use std::process::{Command, Output};

fn check(file: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schema"))
        .args(["config", "check"])
        .arg(file)
        .args(extra)
        .env_remove("CLICKHOUSE_URL")
        .env_remove("CLICKHOUSE_DATABASE")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn two_bad_keys_are_named_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "[collector]\nbatch_max_age_ms = 0\n\n[[site]]\ndomain = \"example.com\"\ntimezone = \"Mars/Base\"\n",
    )
    .unwrap();
    let output = check(&file, &[]);
    assert!(!output.status.success(), "{}", text(&output));
    let said = text(&output);
    assert!(said.contains("collector.batch_max_age_ms"), "{said}");
    assert!(said.contains("site[0].timezone"), "{said}");
    assert!(said.contains("2 invalid value(s)"), "{said}");
}

#[tokio::test]
async fn connect_checks_that_clickhouse_answers_and_is_migrated() {
    let server = schema::local_server::shared().expect("a private ClickHouse");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let database = format!("check_{}", std::process::id());
    std::fs::write(
        &file,
        format!(
            "[clickhouse]\nurl = \"{}\"\ndatabase = \"{database}\"\n",
            server.http_url()
        ),
    )
    .unwrap();
    let plain = check(&file, &[]);
    assert!(plain.status.success(), "{}", text(&plain));

    let before = check(&file, &["--connect"]);
    assert!(!before.status.success(), "{}", text(&before));
    assert!(
        text(&before).contains("schema migrate"),
        "{}",
        text(&before)
    );

    let mut config = schema::Config::default();
    config.clickhouse.url = server.http_url().to_owned();
    config.clickhouse.database = database;
    let db = schema::connect(&config.clickhouse).await.unwrap();
    schema::migrate::migrate(&db).await.unwrap();
    let after = check(&file, &["--connect"]);
    assert!(after.status.success(), "{}", text(&after));
    assert!(text(&after).contains("is migrated"), "{}", text(&after));
}
