//! A bounded in-memory queue of rows and the single writer task that turns
//! it into batch inserts: a batch is written when it reaches `max_rows` or
//! when its first row is `max_age` old, whichever comes first.
//!
//! The queue is the back-pressure point: when it is full, [`EventQueue::try_push_all`]
//! fails at once and the request gets `503` instead of waiting. Bulk imports
//! use [`EventQueue::push_all_waiting`] instead, which waits (for a bounded
//! time) until the writer makes room, so a large import is slowed rather
//! than refused. While the
//! sink fails transiently the writer retries the same batch, so the queue
//! fills and the collector sheds load rather than losing rows. On stop the
//! writer closes the queue, drains it, and gives up on a failing sink after
//! a bounded number of retries (counted in `analytics_rows_lost_total`).
//!
//! Rows wait as RowBinary bytes ([`schema::EncodedRows`]), already cut into batches,
//! not as [`EventRow`]s: a page view then takes about 200 bytes instead of
//! about a kilobyte, and the insert sends the bytes as they are.

mod budget;
mod queue;
#[cfg(test)]
mod tests;
mod writer;

pub use queue::Encoded;

use crate::delivery::dead_letter::DeadLetters;
use crate::delivery::sink::EventSink;
use crate::metrics::Metrics;
use budget::ByteBudget;
use queue::{Queue, Shared};
use schema::EventRow;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use writer::Writer;

#[derive(Debug, Clone)]
pub struct BatchConfig {
    pub max_rows: usize,
    pub max_age: Duration,
    /// Rows the queue holds before refusing more.
    pub capacity: usize,
    /// Bytes those rows may take before the queue refuses more: a row
    /// can carry kilobytes of props, so a row count alone bounds no memory.
    pub max_bytes: usize,
    /// Attempts per batch once stopping, so shutdown ends even if ClickHouse is down.
    pub attempts_when_stopping: u32,
    /// Where batches go that ClickHouse would not take; `None` loses them.
    pub dead_letters: Option<Arc<DeadLetters>>,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_rows: 10_000,
            max_age: Duration::from_secs(1),
            capacity: 100_000,
            max_bytes: 256 * 1024 * 1024,
            attempts_when_stopping: 5,
            dead_letters: None,
        }
    }
}

/// The queue is full (or closed): the caller should answer 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The sending side, cloned into every request handler.
#[derive(Debug, Clone)]
pub struct EventQueue {
    shared: Arc<Shared>,
    budget: ByteBudget,
}

impl EventQueue {
    /// Queues all rows or none, without waiting.
    pub fn try_push_all(&self, rows: Vec<EventRow>) -> Result<(), QueueFull> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = Encoded::new(&rows);
        let bytes = rows.bytes().len();
        self.budget.take(bytes)?;
        if !self.shared.push(&rows) {
            self.budget.give_back(bytes);
            return Err(QueueFull);
        }
        Ok(())
    }

    /// Queues all rows, waiting for room rather than failing at once: the
    /// back-pressure of a bulk import. Fails when the queue is closed, or
    /// when no room frees up for `wait` (the writer is stuck on a failing
    /// ClickHouse), which the caller reports as 503.
    ///
    /// Rows go in slices of at most the queue's capacity; each slice is all
    /// or nothing, so an error can follow a first slice queued only when
    /// `rows` is longer than the queue.
    pub async fn push_all_waiting(
        &self,
        rows: Vec<EventRow>,
        wait: Duration,
    ) -> Result<(), QueueFull> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let slice: Vec<EventRow> = rows.by_ref().take(self.shared.capacity).collect();
            self.push_slice_waiting(slice, wait).await?;
        }
        Ok(())
    }

    async fn push_slice_waiting(
        &self,
        rows: Vec<EventRow>,
        wait: Duration,
    ) -> Result<(), QueueFull> {
        let rows = Encoded::new(&rows);
        let bytes = rows.bytes().len();
        let deadline = Instant::now() + wait;
        self.budget.take_waiting(bytes, deadline).await?;
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            // Registered before trying, so room made in between is not missed.
            room.as_mut().enable();
            if self.shared.push(&rows) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline || self.shared.lock().closed {
                self.budget.give_back(bytes);
                return Err(QueueFull);
            }
            let _ =
                tokio::time::timeout_at(deadline.min(now + budget::RECHECK_ROOM_EVERY), room).await;
        }
    }

    /// Bytes the queued rows (and the batch being written) hold.
    pub fn bytes(&self) -> usize {
        self.budget.used()
    }

    /// Rows waiting for the writer.
    pub fn depth(&self) -> usize {
        self.shared.lock().rows
    }
}

/// Starts the writer. It runs until `stop` is cancelled and the queue is
/// drained; await the handle to know every accepted row was handled.
pub fn spawn<S: EventSink>(
    sink: S,
    config: BatchConfig,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> (EventQueue, tokio::task::JoinHandle<()>) {
    let budget = ByteBudget::new(config.max_bytes);
    let max_rows = config.max_rows.max(1);
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        capacity: config.capacity.max(1),
        max_rows,
        work: Notify::new(),
        room: Notify::new(),
    });
    let queue = EventQueue {
        shared: shared.clone(),
        budget: budget.clone(),
    };
    let writer = Writer {
        sink,
        config,
        metrics,
        stop,
        budget,
    };
    (queue, tokio::spawn(writer.run(shared)))
}
