//! The single writer task: takes a batch when it is full or old enough,
//! inserts it, retries transient failures with backoff (the full queue
//! pushes back on clients meanwhile), and keeps what ClickHouse refuses in
//! the dead-letter directory.

use super::budget::ByteBudget;
use super::queue::{take, Shared};
use super::BatchConfig;
use crate::delivery::sink::EventSink;
use crate::metrics::Metrics;
use schema::EncodedRows;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(super) struct Writer<S> {
    pub(super) sink: S,
    pub(super) config: BatchConfig,
    pub(super) metrics: Arc<Metrics>,
    pub(super) budget: ByteBudget,
    pub(super) stop: CancellationToken,
}

impl<S: EventSink> Writer<S> {
    pub(super) async fn run(self, shared: Arc<Shared>) {
        let max_rows = shared.max_rows;
        let mut batch = EncodedRows::default();
        loop {
            // Registered before looking, so a push in between is not missed.
            let work = shared.work.notified();
            tokio::pin!(work);
            work.as_mut().enable();
            let due = {
                let mut queue = shared.lock();
                if self.stop.is_cancelled() {
                    // Refuse new rows; those already queued are still written.
                    queue.closed = true;
                }
                let age = queue.oldest.map(|t| t + self.config.max_age);
                let ready = queue.closed
                    || queue.rows >= max_rows
                    || age.is_some_and(|due| due <= Instant::now());
                if ready && queue.rows > 0 {
                    batch = take(&mut queue);
                }
                age
            };
            if !batch.is_empty() {
                shared.room.notify_waiters();
                self.flush(&mut batch).await;
                continue;
            }
            if self.stop.is_cancelled() {
                // Closed and drained.
                return;
            }
            match due {
                Some(due) => {
                    tokio::select! {
                        _ = self.stop.cancelled() => {}
                        _ = &mut work => {}
                        _ = tokio::time::sleep_until(due) => {}
                    }
                }
                None => {
                    tokio::select! {
                        _ = self.stop.cancelled() => {}
                        _ = &mut work => {}
                    }
                }
            }
        }
    }

    /// Writes the batch, retrying transient failures with backoff. Empties
    /// the batch whatever the outcome.
    async fn flush(&self, batch: &mut EncodedRows) {
        if batch.is_empty() {
            return;
        }
        let mut attempt = 0u32;
        let mut attempts_while_stopping = 0u32;
        loop {
            let started = std::time::Instant::now();
            let result = self.sink.insert(batch).await;
            self.metrics
                .insert_duration
                .observe(started.elapsed().as_secs_f64());
            match result {
                Ok(()) => {
                    self.metrics.flushed("ok");
                    self.metrics.rows_written.inc_by(batch.rows as u64);
                    break;
                }
                Err(e) if e.retryable && self.may_retry(&mut attempts_while_stopping) => {
                    self.metrics.flushed("retry");
                    tracing::warn!(rows = batch.rows, attempt, error = %e, "batch insert failed; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    self.metrics.flushed("failed");
                    self.give_up(batch, &e.to_string());
                    break;
                }
            }
        }
        self.budget.give_back(batch.bytes.len());
        *batch = EncodedRows::default();
    }

    /// Keeps a batch ClickHouse would not take in the dead-letter directory,
    /// or, failing that, counts it as lost. Logged once, with the row count.
    fn give_up(&self, batch: &EncodedRows, error: &str) {
        let kept = self.config.dead_letters.as_ref().map(|d| {
            let rows = batch.decode().map_err(std::io::Error::other)?;
            d.keep(&rows)
        });
        match kept {
            Some(Ok(path)) => {
                self.metrics.rows_dead_lettered.inc_by(batch.rows as u64);
                tracing::error!(rows = batch.rows, %error, file = %path.display(), "batch insert failed; rows kept in the dead-letter file");
            }
            Some(Err(io)) => {
                self.metrics.rows_lost.inc_by(batch.rows as u64);
                tracing::error!(rows = batch.rows, %error, dead_letter_error = %io, "batch insert failed and the dead-letter file could not be written; rows lost");
            }
            None => {
                self.metrics.rows_lost.inc_by(batch.rows as u64);
                tracing::error!(rows = batch.rows, %error, "batch insert failed; rows lost");
            }
        }
    }

    /// While running, a transient failure is retried until it clears (the
    /// full queue pushes back on clients meanwhile); once stopping, a batch
    /// gets `attempts_when_stopping` tries in all from then on.
    fn may_retry(&self, attempts_while_stopping: &mut u32) -> bool {
        if !self.stop.is_cancelled() {
            return true;
        }
        *attempts_while_stopping += 1;
        *attempts_while_stopping < self.config.attempts_when_stopping
    }
}

/// 100 ms doubling to at most 5 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6))).min(Duration::from_secs(5))
}
