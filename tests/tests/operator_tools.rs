//! An operator's day-one tools against the real services: a token made by
//! `schema token new` signs in to the dashboard once its printed block is in
//! the config, and `schema doctor` notices forwarding headers that come
//! from a peer the collector does not trust.

use integration_tests::query_harness::TestQuery;
use integration_tests::{pageview, send, test_config, TestCollector, SITE};
use schema::Config;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// Runs the real `schema` command line, built from this checkout. Through
/// the `cargo` on PATH (rustup's proxy, as an operator runs it): the
/// toolchain's own cargo would let rustup pick a dependency's pinned
/// toolchain when it compiles that dependency.
fn schema_cli(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new("cargo")
        .args(["run", "--quiet", "-p", "schema", "--bin", "schema", "--"])
        .args(args)
        .current_dir(root)
        .output()
        .expect("cargo run")
}

#[tokio::test]
async fn a_token_from_schema_token_new_signs_in_to_the_dashboard() {
    let output = schema_cli(&["token", "new", "Ana", "--role", "viewer", "--sites", SITE]);
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let token = printed
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no token in\n{printed}"))
        .to_owned();
    let block = &printed[printed.find("[[editor]]").expect("an [[editor]] block")..];
    assert!(!block.contains(&token), "the block must hold only the hash");

    // Pasted into the config, as the output says.
    let mut config = test_config();
    config.editor = Config::parse(block).expect("the block parses").editor;
    config.validate().expect("the pasted config is valid");
    let service = TestQuery::start(config, chrono::Utc::now()).await;

    let cookie = service.session(&token).await;
    let sites: serde_json::Value = service
        .http()
        .get(service.url("/api/dashboard/sites"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sites.to_string().matches(SITE).count(), 1, "{sites}");
    assert!(
        !sites.to_string().contains(integration_tests::OTHER_SITE),
        "{sites}"
    );
}

#[tokio::test]
async fn schema_token_new_refuses_what_no_config_would_take() {
    let output = schema_cli(&[
        "token",
        "new",
        "Ana",
        "--role",
        "viewer",
        "--sites",
        "Not A Site",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--sites") && stderr.contains("Not A Site"),
        "{stderr}"
    );
}

fn forwarding_warnings(report: &schema::doctor::Report) -> Vec<&String> {
    report
        .warnings
        .iter()
        .filter(|w| w.contains("trusted_proxies"))
        .collect()
}

#[tokio::test]
async fn the_doctor_names_forwarding_headers_from_untrusted_peers() {
    let mut config = test_config();
    // The collector trusts nobody, as if its reverse proxy were missing.
    config.collector.trusted_proxies = Vec::new();
    let collector = TestCollector::start(config.clone()).await;
    config.collector.listen = collector.addr;

    let before = schema::doctor::examine(&config, SystemTime::now()).await;
    assert!(before.text.contains("read from"), "{}", before.text);
    assert!(
        forwarding_warnings(&before).is_empty(),
        "{:?}",
        before.warnings
    );

    let beacon = pageview(SITE, &format!("https://{SITE}/"));
    let answer = send(&collector, &beacon, &[("x-forwarded-for", "198.51.100.7")]).await;
    assert_eq!(answer.status(), 202);
    let after = schema::doctor::examine(&config, SystemTime::now()).await;
    assert_eq!(forwarding_warnings(&after).len(), 1, "{}", after.text);
    assert!(
        after.warnings.iter().any(|w| w.starts_with("1 beacon")),
        "{:?}",
        after.warnings
    );
}
