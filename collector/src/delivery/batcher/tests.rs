//! The batcher's behaviour through its public face: pushes, a sink that
//! fails on purpose, and paused time.

use super::*;
use crate::delivery::sink::SinkError;
use schema::EncodedRows;
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
    Encoded::new(std::slice::from_ref(row)).bytes().len()
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
