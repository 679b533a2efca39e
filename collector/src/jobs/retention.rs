//! The retention job: every so often, erase what is older than each site's
//! `retention_days` (see [`schema::retention`]), first a few minutes after
//! start so that start-up stays quick.
//!
//! Every collector runs it; running it on several at once is harmless (a
//! second run finds nothing left to remove). A stop signal abandons a run
//! that waits for a deletion: the server finishes it anyway.

use crate::clock::Clock;
use schema::retention::{self, Cutoffs};
use schema::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// When the job runs.
#[derive(Debug, Clone, Copy)]
pub struct RetentionSchedule {
    /// The first run, after start.
    pub first: Duration,
    /// Between runs: retention counts whole days, so hourly is plenty.
    pub every: Duration,
}

impl Default for RetentionSchedule {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(5 * 60),
            every: Duration::from_secs(60 * 60),
        }
    }
}

/// Starts the job; it ends at `stop`.
pub fn spawn(
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    schedule: RetentionSchedule,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let stopping = stop.clone();
    crate::jobs::periodic::every_after(schedule.first, schedule.every, stop, move || {
        let (config, clock, stop) = (config.clone(), clock.clone(), stopping.clone());
        async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = run_once(&config, clock.as_ref()) => {}
            }
        }
    })
}

async fn run_once(config: &Config, clock: &dyn Clock) {
    let cutoffs = Cutoffs::for_config(config, u32::from(clock.today()));
    let outcome = async {
        let hosts = schema::erase::hosts(config).await?;
        retention::enforce(&hosts, &cutoffs, schema::erase::DEFAULT_MUTATION_DEADLINE).await
    }
    .await;
    match outcome {
        Ok(report) if report.rows() > 0 => {
            for table in report.tables.iter().filter(|t| t.rows() > 0) {
                tracing::info!(
                    table = %table.table,
                    rows_dropped = table.rows_dropped,
                    rows_deleted = table.rows_deleted,
                    "retention: expired rows removed"
                );
            }
        }
        Ok(_) => tracing::debug!("retention: nothing expired"),
        Err(e) => tracing::warn!(error = %e, "retention run failed; retried at the next run"),
    }
}
