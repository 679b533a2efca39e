//! The generated privacy statement follows the config: each key it states
//! (retention, DNT and GPC, the GeoIP database, `[privacy]`) is changed and
//! the text is read again. Then its two outlets, `schema privacy-statement`
//! and the collector's `GET /privacy`, and GPC's `/.well-known/gpc.json`.
//!
//! Expected phrases are written out here, and numbers (months, dates) are
//! worked out with floating point and chrono, not with the code under test.

use integration_tests::geoip_fixture::{write_city_db, write_country_db, GeoEntry};
use integration_tests::{test_config, TestCollector, NO_DNT_SITE, SITE};
use schema::config::{PrivacyConfig, SiteConfig};
use schema::privacy_statement::{render, Facts, Format, LocationDetail};
use schema::Config;
use std::path::Path;
use std::process::Command;

fn privacy() -> PrivacyConfig {
    PrivacyConfig {
        controller: "Acme Publishing Ltd".into(),
        contact: "privacy@acme.example".into(),
        hosting_location: None,
    }
}

fn config_with(edit: impl FnOnce(&mut Config, &mut SiteConfig)) -> Config {
    let mut config = Config {
        privacy: Some(privacy()),
        ..Config::default()
    };
    let mut site = SiteConfig::new(SITE);
    edit(&mut config, &mut site);
    config.site.push(site);
    config.validate().expect("a valid config");
    config
}

/// The Markdown statement of `SITE`, with the location detail of the
/// config's GeoIP file, as the command line works it out.
fn statement(config: &Config) -> String {
    let location = LocationDetail::of_geoip_file(config.collector.geoip.as_deref()).unwrap();
    render(
        &Facts::gather(config, SITE, location).unwrap(),
        Format::Markdown,
    )
}

/// The table row of one column.
fn row<'a>(text: &'a str, column: &str) -> &'a str {
    let start = format!("| `{column}` |");
    text.lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no row for {column} in\n{text}"))
}

#[test]
fn retention_is_stated_in_days_and_months() {
    for days in [1_u32, 30, 45, 365, 790, 3650] {
        let text = statement(&config_with(|_, site| site.retention_days = days));
        let months = (f64::from(days) / 30.44).round();
        let months = match months as u32 {
            0 => "less than a month".to_owned(),
            1 => "about 1 month".to_owned(),
            m => format!("about {m} months"),
        };
        let unit = if days == 1 { "day" } else { "days" };
        let expected = format!("kept for {days} {unit} ({months})");
        assert!(text.contains(&expected), "{expected} not in\n{text}");
    }
}

#[test]
fn a_visitor_threshold_is_stated_only_when_the_site_has_one() {
    let without = statement(&config_with(|_, site| site.min_visitors = None));
    assert!(!without.contains("Small numbers."), "{without}");
    assert!(!without.contains("fewer than"), "{without}");
    for k in [2_u32, 5, 1000] {
        let text = statement(&config_with(|_, site| site.min_visitors = Some(k)));
        let expected = format!("never show a count of fewer than {k} visitors");
        assert!(text.contains(&expected), "{expected} not in\n{text}");
    }
}

#[test]
fn browser_signals_are_stated_as_the_site_sets_them() {
    const DNT_HONOURED: &str = "sends Do Not Track (`DNT: 1`), your visits are not recorded";
    const GPC_HONOURED: &str =
        "Global Privacy Control (`Sec-GPC: 1`), your visits are not recorded";
    const BOTH_HONOURED: &str =
        "sends Do Not Track (`DNT: 1`) or Global Privacy Control (`Sec-GPC: 1`), your visits are not recorded at all";
    for (dnt, gpc) in [(true, true), (true, false), (false, true), (false, false)] {
        let text = statement(&config_with(|_, site| {
            site.respect_dnt = dnt;
            site.respect_gpc = gpc;
        }));
        let says = |phrase: &str| text.contains(phrase);
        assert_eq!(
            says(BOTH_HONOURED),
            dnt && gpc,
            "dnt={dnt} gpc={gpc}\n{text}"
        );
        assert_eq!(
            says(DNT_HONOURED) || says(BOTH_HONOURED),
            dnt,
            "dnt={dnt} gpc={gpc}\n{text}"
        );
        assert_eq!(
            says(GPC_HONOURED) || says(BOTH_HONOURED),
            gpc,
            "dnt={dnt} gpc={gpc}\n{text}"
        );
        if !dnt {
            assert!(says("Do Not Track (`DNT: 1`) is not acted on") || !gpc);
        }
    }
}

#[test]
fn location_follows_the_geoip_database() {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("city.mmdb");
    write_city_db(
        &city,
        &[GeoEntry {
            network: "81.2.69.0/24".parse().unwrap(),
            country: "GB",
            subdivision: Some("ENG"),
            city: Some("London"),
        }],
    );
    let country = dir.path().join("country.mmdb");
    write_country_db(&country, &[("81.2.69.0/24".parse().unwrap(), "GB")]);

    let none = statement(&config_with(|_, _| {}));
    assert!(none.contains("No location is recorded"), "{none}");
    for column in ["country", "region", "city"] {
        assert!(row(&none, column).contains("Always empty on this site"));
    }

    let with = |path: &Path| {
        let path = path.to_owned();
        statement(&config_with(move |c, _| c.collector.geoip = Some(path)))
    };
    let by_country = with(&country);
    assert!(
        by_country.contains("Only the country is recorded"),
        "{by_country}"
    );
    assert!(!row(&by_country, "country").contains("Always empty"));
    assert!(row(&by_country, "region").contains("holds countries only"));
    assert!(row(&by_country, "city").contains("holds countries only"));

    let by_city = with(&city);
    assert!(by_city.contains("The country, region and city are recorded"));
    for column in ["country", "region", "city"] {
        assert!(!row(&by_city, column).contains("Always empty"), "{column}");
    }
}

#[test]
fn the_privacy_section_names_who_runs_it() {
    let text = statement(&config_with(|_, _| {}));
    assert!(text.starts_with("# Privacy statement: analytics on example.com\n"));
    assert!(text.contains("Acme Publishing Ltd runs the analytics service"));
    assert!(text.contains("[privacy@acme.example](mailto:privacy@acme.example)"));
    assert!(!text.contains("The data is stored in"));

    let text = statement(&config_with(|c, _| {
        c.privacy = Some(PrivacyConfig {
            controller: "Blog of Bea".into(),
            contact: "https://bea.example/contact".into(),
            hosting_location: Some("Finland (Helsinki)".into()),
        });
    }));
    assert!(text.contains("Blog of Bea runs the analytics service"));
    assert!(!text.contains("Acme"));
    assert!(text.contains("<https://bea.example/contact>"));
    assert!(text.contains("The data is stored in Finland (Helsinki)."));
}

#[test]
fn fixed_claims_and_every_recorded_field_are_there() {
    let text = statement(&config_with(|c, _| {
        c.collector.optout_cookie = "no_count".into();
        c.collector.public_url = Some("https://stats.example.com".into());
    }));
    for claim in [
        "Your IP address; your browser's user agent;",
        "other than the opt-out cookie (no\\_count), which holds only your choice",
        "any identifier that follows you from one site to another or from one day to the next",
        "first 24 bits (IPv4) or 48 bits (IPv6)",
        "erased after at most 2 days",
        "one person cannot be followed from one day to the next",
        "[the opt-out page](https://stats.example.com/optout)",
        "No third party receives it",
        "Article 11 of the GDPR",
    ] {
        assert!(text.contains(claim), "{claim} not in\n{text}");
    }
    for doc in schema::event_docs::EVENT_COLUMN_DOCS {
        assert!(row(&text, doc.column).contains(doc.description));
    }
}

/// Runs the real `schema` command line, built from this checkout, as
/// operator_tools.rs does.
fn schema_cli(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new("cargo")
        .args(["run", "--quiet", "-p", "schema", "--bin", "schema", "--"])
        .args(args)
        .current_dir(root)
        .output()
        .expect("cargo run")
}

#[test]
fn the_command_line_prints_both_forms_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("analytics.toml");
    let write = |text: &str| std::fs::write(&file, text).unwrap();
    let path = file.to_str().unwrap();
    write(
        "[[site]]\ndomain = \"example.com\"\nretention_days = 400\nrespect_gpc = false\n\
         [privacy]\ncontroller = \"Acme Publishing Ltd\"\ncontact = \"privacy@acme.example\"\n",
    );

    let markdown = schema_cli(&["privacy-statement", SITE, "--config", path]);
    assert!(markdown.status.success(), "{markdown:?}");
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    assert!(
        markdown.contains("kept for 400 days (about 13 months)"),
        "{markdown}"
    );
    assert!(markdown.contains("Global Privacy Control (`Sec-GPC: 1`) is not acted on"));
    assert!(markdown.contains("Acme Publishing Ltd runs the analytics service"));

    let html = schema_cli(&[
        "privacy-statement",
        SITE,
        "--config",
        path,
        "--format",
        "html",
    ]);
    assert!(html.status.success(), "{html:?}");
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("<td><code>visitor_id</code></td>"), "{html}");
    assert!(html.contains("kept for 400 days (about 13 months)"));

    let unknown = schema_cli(&["privacy-statement", "nope.example", "--config", path]);
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("`nope.example` is not a [[site]]"),
        "{stderr}"
    );

    write("[[site]]\ndomain = \"example.com\"\n");
    let no_section = schema_cli(&["privacy-statement", SITE, "--config", path]);
    assert!(!no_section.status.success());
    let stderr = String::from_utf8_lossy(&no_section.stderr);
    assert!(stderr.contains("no [privacy] section"), "{stderr}");
}

/// Noon UTC on 2026-03-14: the collector's clock at start-up.
const STARTED_AT: u64 = 1_773_489_600;

#[tokio::test]
async fn the_collector_serves_the_statement_and_the_gpc_file() {
    let dir = tempfile::tempdir().unwrap();
    let country = dir.path().join("country.mmdb");
    write_country_db(&country, &[("81.2.69.0/24".parse().unwrap(), "GB")]);
    let mut config = test_config();
    config.privacy = Some(privacy());
    config.collector.geoip = Some(country.clone());
    config.site[0].retention_days = 90;
    let collector = TestCollector::start_at(config.clone(), STARTED_AT).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(collector.url(path));

    // HTML by default, the same words as the command line's Markdown.
    let page = get("/privacy?site=example.com").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("kept for 90 days (about 3 months)"), "{html}");
    assert!(html.contains("Only the country is recorded"), "{html}");

    let markdown = get("/privacy?site=example.com")
        .header("accept", "text/markdown")
        .send()
        .await
        .unwrap();
    assert_eq!(markdown.status(), 200);
    assert_eq!(
        markdown.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let markdown = markdown.text().await.unwrap();
    let facts = Facts::gather(&config, SITE, LocationDetail::Country).unwrap();
    assert_eq!(markdown, render(&facts, Format::Markdown));
    assert!(markdown.contains("[the opt-out page](optout)"));

    // The client's mistakes, each with its reason.
    let missing = get("/privacy").send().await.unwrap();
    assert_eq!(missing.status(), 400);
    assert!(missing.text().await.unwrap().contains("site"));
    let unknown = get("/privacy?site=nope.example").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body = unknown.text().await.unwrap();
    assert!(
        body.contains("no site `nope.example` is configured"),
        "{body}"
    );

    // The opt-out page links every site's statement.
    let optout = get("/optout").send().await.unwrap().text().await.unwrap();
    assert!(
        optout.contains(r#"<a href="privacy?site=example.com">"#),
        "{optout}"
    );

    // GPC: the Host's site, when it respects GPC; lastUpdate is the day the
    // collector started with this config.
    let gpc = |host: &str| {
        http.get(collector.url("/.well-known/gpc.json"))
            .header("host", host.to_owned())
            .send()
    };
    let served = gpc("www.example.com").await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    let body: serde_json::Value = served.json().await.unwrap();
    let day = chrono::DateTime::from_timestamp(STARTED_AT as i64, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(day, "2026-03-14");
    assert_eq!(body, serde_json::json!({ "gpc": true, "lastUpdate": day }));
    assert_eq!(gpc(NO_DNT_SITE).await.unwrap().status(), 404);
    // Its own host serves a site that ignores GPC too: no claim.
    assert_eq!(gpc("stats.elsewhere.example").await.unwrap().status(), 404);
    collector.stop().await;
}

#[tokio::test]
async fn without_a_privacy_section_no_statement_is_published() {
    let mut config = test_config();
    config.site.retain(|s| s.respect_gpc);
    let collector = TestCollector::start(config).await;
    let http = reqwest::Client::new();
    let response = http
        .get(collector.url("/privacy?site=example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(body.contains("no [privacy] section"), "{body}");
    let optout = http
        .get(collector.url("/optout"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!optout.contains("privacy?site="));
    // Every site it serves respects GPC: its own host claims support.
    let gpc = http
        .get(collector.url("/.well-known/gpc.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(gpc.status(), 200);
    collector.stop().await;
}
