//! The binary refuses a bad config at start-up with an error naming the key.

use std::process::Command;

fn run_with_config(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("--config")
        .arg(&path)
        .env_remove("CLICKHOUSE_URL")
        .env_remove("CLICKHOUSE_DATABASE")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn invalid_configs_stop_the_binary_naming_the_key() {
    let cases = [
        ("[collector]\nlisten = \"not an address\"\n", "listen"),
        (
            "[collector]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
            "trusted_proxies",
        ),
        (
            "[collector]\nbatch_max_rows = 0\n",
            "collector.batch_max_rows",
        ),
        (
            "[clickhouse]\ndatabase = \"drop table\"\n",
            "clickhouse.database",
        ),
        ("[[site]]\ndomain = \"Bad Domain\"\n", "site[0].domain"),
        ("[sites]\ndomain = \"typo.com\"\n", "sites"),
    ];
    for (text, key) in cases {
        let (ok, stderr) = run_with_config(text);
        assert!(!ok, "{text} was accepted");
        assert!(
            stderr.contains(key),
            "{text}: error does not name {key}: {stderr}"
        );
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let output = Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(["--config", "/nonexistent/analytics.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/analytics.toml"), "{stderr}");
}
