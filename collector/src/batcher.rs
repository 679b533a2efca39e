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
//! Rows wait as RowBinary bytes ([`EncodedRows`]), already cut into batches,
//! not as [`EventRow`]s: a page view then takes about 200 bytes instead of
//! about a kilobyte, and the insert sends the bytes as they are.

use crate::dead_letter::DeadLetters;
use crate::metrics::Metrics;
use crate::sink::EventSink;
use schema::{EncodedRows, EventRow};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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

/// The queued rows, behind a lock held only to push or take them. Pushing
/// wakes the writer only when it has something to do (the first row of a
/// batch starts its age; a full batch goes at once), not for every row, so
/// a busy collector does not pay a task wake-up per event.
#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    capacity: usize,
    max_rows: usize,
    /// Wakes the writer: a batch started or filled, or the queue closed.
    work: Notify,
    /// Wakes waiting pushes: the writer took rows out.
    room: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    /// The batches to come, in order, each of at most `max_rows` rows; only
    /// the last one still fills.
    batches: VecDeque<EncodedRows>,
    /// Rows in all of them.
    rows: usize,
    /// The size of the last batch that filled: room reserved for the next,
    /// so a filling batch does not copy itself as it grows.
    batch_bytes: usize,
    /// When the oldest queued row arrived (or became the head of the
    /// line after a full batch was taken).
    oldest: Option<Instant>,
    closed: bool,
}

impl Queue {
    fn append(&mut self, rows: &Encoded, max_rows: usize) {
        for row in rows.iter() {
            let filling = self.batches.back().is_some_and(|b| b.rows < max_rows);
            if !filling {
                if let Some(full) = self.batches.back() {
                    self.batch_bytes = full.bytes.len();
                }
                let room = self.batch_bytes + self.batch_bytes / 8;
                self.batches.push_back(EncodedRows::with_capacity(room));
            }
            let batch = self.batches.back_mut().expect("just ensured");
            batch.bytes.extend_from_slice(row);
            batch.rows += 1;
        }
        self.rows += rows.len();
    }
}

/// One push's rows, encoded before the queue's lock is taken, with where
/// each row ends so they can be split between batches.
#[derive(Debug)]
struct Encoded {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Encoded {
    fn new(rows: &[EventRow]) -> Self {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(rows.len());
        for row in rows {
            schema::row_binary::encode(row, &mut bytes);
            ends.push(bytes.len());
        }
        Self { bytes, ends }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while holding it; a poisoned lock still holds
        // consistent rows.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// All rows or none, as room allows; `false` when refused.
    fn push(&self, rows: &Encoded) -> bool {
        let mut queue = self.lock();
        if queue.closed || queue.rows + rows.len() > self.capacity {
            return false;
        }
        let was_empty = queue.rows == 0;
        if was_empty {
            queue.oldest = Some(Instant::now());
        }
        queue.append(rows, self.max_rows);
        let full = queue.rows >= self.max_rows;
        drop(queue);
        if was_empty || full {
            self.work.notify_one();
        }
        true
    }
}

impl EventQueue {
    /// Queues all rows or none, without waiting.
    pub fn try_push_all(&self, rows: Vec<EventRow>) -> Result<(), QueueFull> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = Encoded::new(&rows);
        let bytes = rows.bytes.len();
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
        let bytes = rows.bytes.len();
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
            let _ = tokio::time::timeout_at(deadline.min(now + RECHECK_ROOM_EVERY), room).await;
        }
    }

    /// Bytes the queued rows (and the batch being written) hold.
    pub fn bytes(&self) -> usize {
        self.budget.used.load(Ordering::Relaxed)
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
    let budget = ByteBudget {
        used: Arc::new(AtomicUsize::new(0)),
        max: config.max_bytes,
        freed: Arc::new(Notify::new()),
    };
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

/// Bytes held by queued rows, taken on push and given back once the writer
/// is done with them (written or given up on).
#[derive(Debug, Clone)]
struct ByteBudget {
    used: Arc<AtomicUsize>,
    max: usize,
    /// Woken when bytes are given back, for pushes that wait for room.
    freed: Arc<Notify>,
}

/// A waiting push looks again at least this often, in case a wake-up was
/// missed (another push's failed attempt briefly over-counting, say).
const RECHECK_ROOM_EVERY: Duration = Duration::from_millis(100);

impl ByteBudget {
    fn take(&self, bytes: usize) -> Result<(), QueueFull> {
        let before = self.used.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > self.max {
            // Undone without waking waiters: nothing was really freed, and
            // a waiter woken here would spin.
            self.used.fetch_sub(bytes, Ordering::AcqRel);
            return Err(QueueFull);
        }
        Ok(())
    }

    /// Takes `bytes` once there is room, or fails at `deadline`. Rows that
    /// could never fit fail at once.
    async fn take_waiting(&self, bytes: usize, deadline: Instant) -> Result<(), QueueFull> {
        if bytes > self.max {
            return Err(QueueFull);
        }
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before trying, so a release in between is not missed.
            freed.as_mut().enable();
            if self.take(bytes).is_ok() {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(QueueFull);
            }
            let _ = tokio::time::timeout_at(deadline.min(now + RECHECK_ROOM_EVERY), freed).await;
        }
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        self.freed.notify_waiters();
    }
}

struct Writer<S> {
    sink: S,
    config: BatchConfig,
    metrics: Arc<Metrics>,
    budget: ByteBudget,
    stop: CancellationToken,
}

impl<S: EventSink> Writer<S> {
    async fn run(self, shared: Arc<Shared>) {
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

/// The first batch in line; what stays behind starts a new batch's age now.
fn take(queue: &mut Queue) -> EncodedRows {
    let batch = queue.batches.pop_front().unwrap_or_default();
    queue.rows -= batch.rows;
    queue.oldest = (queue.rows > 0).then(Instant::now);
    batch
}

/// 100 ms doubling to at most 5 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6))).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::SinkError;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Records inserted batches; fails the listed call numbers (1-based).
    #[derive(Clone, Default)]
    struct TestSink {
        batches: Arc<Mutex<Vec<Vec<EventRow>>>>,
        calls: Arc<AtomicUsize>,
        fail_calls: Vec<usize>,
        retryable: bool,
    }

    impl EventSink for TestSink {
        async fn insert(&self, rows: &EncodedRows) -> Result<(), SinkError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail_calls.contains(&call) {
                return Err(SinkError {
                    retryable: self.retryable,
                    message: format!("injected failure on call {call}"),
                });
            }
            self.batches.lock().unwrap().push(rows.decode().unwrap());
            Ok(())
        }
    }

    fn row(n: u32) -> EventRow {
        EventRow {
            timestamp: n,
            ..EventRow::default()
        }
    }

    fn encoded_len(row: &EventRow) -> usize {
        Encoded::new(std::slice::from_ref(row)).bytes.len()
    }

    fn stored(sink: &TestSink) -> Vec<u32> {
        let batches = sink.batches.lock().unwrap();
        batches.iter().flatten().map(|r| r.timestamp).collect()
    }

    fn config(max_rows: usize, capacity: usize) -> BatchConfig {
        BatchConfig {
            max_rows,
            max_age: Duration::from_secs(1),
            capacity,
            max_bytes: usize::MAX / 2,
            attempts_when_stopping: 3,
            dead_letters: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn flushes_on_size_and_on_age() {
        let sink = TestSink::default();
        let stop = CancellationToken::new();
        let (queue, writer) = spawn(sink.clone(), config(3, 10), Arc::default(), stop.clone());
        queue.try_push_all((1..=4).map(row).collect()).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(stored(&sink), vec![1, 2, 3], "a full batch goes at once");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            stored(&sink).len(),
            3,
            "the partial batch waits for its age"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(stored(&sink), vec![1, 2, 3, 4]);
        stop.cancel();
        writer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn full_queue_refuses_all_or_nothing() {
        let sink = TestSink::default();
        let stop = CancellationToken::new();
        let (queue, writer) = spawn(sink.clone(), config(100, 4), Arc::default(), stop.clone());
        queue.try_push_all((1..=3).map(row).collect()).unwrap();
        assert_eq!(queue.try_push_all(vec![row(4), row(5)]), Err(QueueFull));
        queue.try_push_all(vec![row(4)]).unwrap();
        stop.cancel();
        writer.await.unwrap();
        assert_eq!(stored(&sink), vec![1, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_push_larger_than_the_queue_lands_completely_in_order() {
        let sink = TestSink::default();
        let stop = CancellationToken::new();
        let (queue, writer) = spawn(sink.clone(), config(3, 4), Arc::default(), stop.clone());
        let rows: Vec<EventRow> = (1..=50).map(row).collect();
        queue
            .push_all_waiting(rows, Duration::from_secs(5))
            .await
            .unwrap();
        stop.cancel();
        writer.await.unwrap();
        assert_eq!(stored(&sink), (1..=50).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_push_gives_up_when_the_writer_makes_no_room() {
        let sink = TestSink {
            fail_calls: (1..=10_000).collect(),
            retryable: true,
            ..TestSink::default()
        };
        let stop = CancellationToken::new();
        let (queue, writer) = spawn(sink.clone(), config(2, 2), Arc::default(), stop.clone());
        // Two rows in the failing batch, two more fill the queue.
        queue.try_push_all(vec![row(1), row(2)]).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        queue.try_push_all(vec![row(3), row(4)]).unwrap();
        let started = Instant::now();
        let waited = queue
            .push_all_waiting(vec![row(5)], Duration::from_secs(3))
            .await;
        assert_eq!(waited, Err(QueueFull));
        assert!(started.elapsed() >= Duration::from_secs(3));
        stop.cancel();
        writer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_push_of_rows_bigger_than_the_budget_fails_at_once() {
        let sink = TestSink::default();
        let stop = CancellationToken::new();
        let config = BatchConfig {
            max_bytes: encoded_len(&row(0)),
            ..config(10, 10)
        };
        let (queue, writer) = spawn(sink.clone(), config, Arc::default(), stop.clone());
        let two = vec![row(1), row(2)];
        let waited = queue.push_all_waiting(two, Duration::from_secs(60)).await;
        assert_eq!(waited, Err(QueueFull));
        stop.cancel();
        writer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn byte_budget_refuses_big_rows_and_frees_after_writing() {
        let sink = TestSink::default();
        let stop = CancellationToken::new();
        let big = |n: u32| EventRow {
            timestamp: n,
            props_keys: vec!["k".into()],
            props_values: vec!["v".repeat(2_000)],
            ..EventRow::default()
        };
        let room_for_two = 2 * encoded_len(&big(0)) + encoded_len(&row(0));
        let config = BatchConfig {
            max_bytes: room_for_two,
            ..config(100, 1_000)
        };
        let (queue, writer) = spawn(sink.clone(), config, Arc::default(), stop.clone());
        queue.try_push_all(vec![big(1), big(2)]).unwrap();
        assert_eq!(
            queue.try_push_all(vec![big(3)]),
            Err(QueueFull),
            "over the byte budget"
        );
        assert_eq!(
            queue.try_push_all(vec![row(4)]),
            Ok(()),
            "a small row still fits"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(stored(&sink), vec![1, 2, 4]);
        assert_eq!(queue.bytes(), 0, "written rows give their bytes back");
        queue.try_push_all(vec![big(5), big(6)]).unwrap();
        stop.cancel();
        writer.await.unwrap();
        assert_eq!(stored(&sink), vec![1, 2, 4, 5, 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failure_is_retried_without_loss_or_duplicates() {
        let sink = TestSink {
            fail_calls: vec![1, 2],
            retryable: true,
            ..TestSink::default()
        };
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let (queue, writer) = spawn(sink.clone(), config(2, 10), metrics.clone(), stop.clone());
        queue.try_push_all((1..=5).map(row).collect()).unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        stop.cancel();
        writer.await.unwrap();
        assert_eq!(stored(&sink), vec![1, 2, 3, 4, 5]);
        assert_eq!(metrics.rows_lost.get(), 0);
        assert_eq!(metrics.rows_written.get(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failure_loses_only_that_batch_and_counts_it() {
        let sink = TestSink {
            fail_calls: vec![2],
            retryable: false,
            ..TestSink::default()
        };
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let (queue, writer) = spawn(sink.clone(), config(2, 10), metrics.clone(), stop.clone());
        queue.try_push_all((1..=6).map(row).collect()).unwrap();
        stop.cancel();
        writer.await.unwrap();
        assert_eq!(stored(&sink), vec![1, 2, 5, 6]);
        assert_eq!(metrics.rows_lost.get(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn rows_given_up_on_go_to_the_dead_letter_directory() {
        let sink = TestSink {
            fail_calls: vec![1],
            retryable: false,
            ..TestSink::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let config = BatchConfig {
            dead_letters: Some(Arc::new(DeadLetters::new(dir.path()))),
            ..config(2, 10)
        };
        let (queue, writer) = spawn(sink.clone(), config, metrics.clone(), stop.clone());
        queue.try_push_all((1..=4).map(row).collect()).unwrap();
        stop.cancel();
        writer.await.unwrap();
        assert_eq!(stored(&sink), vec![3, 4]);
        assert_eq!(metrics.rows_dead_lettered.get(), 2);
        assert_eq!(metrics.rows_lost.get(), 0);
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        let kept: Vec<EventRow> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            kept.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_drains_the_queue_and_ends_even_if_the_sink_is_down() {
        let sink = TestSink {
            fail_calls: (1..=100).collect(),
            retryable: true,
            ..TestSink::default()
        };
        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let (queue, writer) = spawn(sink.clone(), config(10, 10), metrics.clone(), stop.clone());
        queue.try_push_all((1..=3).map(row).collect()).unwrap();
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(60), writer)
            .await
            .expect("writer ends")
            .unwrap();
        assert_eq!(metrics.rows_lost.get(), 3);
        assert_eq!(
            queue.try_push_all(vec![row(9)]),
            Err(QueueFull),
            "closed after stop"
        );
    }
}
