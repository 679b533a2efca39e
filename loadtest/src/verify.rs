//! `--verify`: counts the rows in the collector's `events` table before the
//! run, then polls ClickHouse after it until the run's rows equal the
//! accepted beacons (each beacon names one site, so one row each), or
//! reports the difference once the timeout passes.

use crate::stats::Verification;
use anyhow::{ensure, Context};
use std::time::Duration;
use tokio::time::Instant;

/// Where the collector stores its rows.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// ClickHouse's HTTP interface, e.g. `http://127.0.0.1:18123`.
    pub clickhouse_url: String,
    pub database: String,
    /// How long to wait for the rows after the last answer.
    pub timeout: Duration,
}

/// A ClickHouse HTTP client for one database's `events` count.
pub struct Counter {
    client: reqwest::Client,
    options: VerifyOptions,
}

impl Counter {
    pub fn new(options: VerifyOptions) -> anyhow::Result<Self> {
        let db = &options.database;
        ensure!(
            !db.is_empty() && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "--database must be a plain identifier (letters, digits, _): {db:?}"
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { client, options })
    }

    /// Rows in `DATABASE.events` now.
    pub async fn stored(&self) -> anyhow::Result<u64> {
        let sql = format!(
            "SELECT count() FROM {}.events FORMAT TabSeparated",
            self.options.database
        );
        let response = self
            .client
            .post(&self.options.clickhouse_url)
            .body(sql)
            .send()
            .await
            .with_context(|| format!("asking ClickHouse at {}", self.options.clickhouse_url))?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.is_success(), "ClickHouse answered {status}: {text}");
        text.trim()
            .parse()
            .with_context(|| format!("ClickHouse answered {text:?} to a count"))
    }

    /// Polls until `baseline + expected` rows are stored or the timeout
    /// passes; more rows than expected end the wait at once.
    pub async fn wait_for(&self, baseline: u64, expected: u64) -> anyhow::Result<Verification> {
        let started = Instant::now();
        loop {
            let stored = self.stored().await?.saturating_sub(baseline);
            let timed_out = started.elapsed() >= self.options.timeout;
            if stored >= expected || timed_out {
                return Ok(Verification {
                    expected,
                    stored,
                    ok: stored == expected,
                    waited_s: started.elapsed().as_secs_f64(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
