//! The write-ahead spool behind `durability = "spool"`: a request gets `202`
//! only once its rows are written and fsynced here.
//!
//! - **Group commit.** One appender task takes every request's rows (already
//!   JSON lines: each request encodes its own, in parallel), writes all that
//!   are waiting to the open segment, calls `fsync` once, then acknowledges
//!   them all. There is no gather window: the next group is whatever queued
//!   while the previous `fsync` ran (off the runtime's worker threads), as
//!   databases do. An idle spool commits a lone beacon at once; a busy one
//!   commits in groups as large as the load, so throughput is not capped by
//!   connections / (window + fsync).
//! - **A failed write or fsync** is answered with an error, and the segment
//!   is cut back to what was acknowledged and sealed there: after a failed
//!   fsync the kernel may have dropped the unwritten pages, so a later
//!   successful fsync would not prove anything about them. The next group
//!   starts a new segment (never writing past a cut, which would leave a
//!   hole of zero bytes), and a segment with nothing acknowledged is deleted.
//! - **Segments.** A segment is sealed when it is large or old enough, and
//!   handed to the writer ([`crate::delivery::spool_writer`]), which inserts it as one
//!   batch and deletes it. Segments left by a crash are replayed at start-up,
//!   oldest first; a line cut short by the crash was never acknowledged and
//!   is skipped.
//! - **Bounded.** Past `spool_max_bytes` on disk, appends are refused and
//!   the collector answers `503`.
//!
//! Rows here are what `events` stores: no address, no user agent.

use crate::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use schema::EventRow;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Most requests one commit takes, bounding a commit's buffer.
const MAX_GROUP: usize = 4096;
/// A segment is sealed past this size ...
const SEGMENT_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// ... or once its first row is this old, so rows reach ClickHouse soon.
const SEGMENT_MAX_AGE: Duration = Duration::from_millis(500);
/// Requests waiting for the appender; past it, 503.
const PENDING_APPENDS: usize = 10_000;
/// How often a waiting append looks whether the writer has made room.
const ROOM_POLL: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool is full")]
    Full,
    #[error("the spool could not be written: {0}")]
    Io(String),
}

/// A sealed segment, ready to be written to ClickHouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub path: PathBuf,
    /// Acknowledged bytes: the rows to store are the first `bytes` of the file.
    pub bytes: u64,
    /// Left by an earlier run, which may have stored it and died before
    /// deleting it: the writer asks ClickHouse before inserting it.
    pub leftover: bool,
}

struct Append {
    /// The rows as JSON lines, encoded by the request's own task.
    lines: Vec<u8>,
    rows: usize,
    done: oneshot::Sender<Result<(), SpoolError>>,
}

impl Append {
    fn new(
        rows: &[EventRow],
    ) -> Result<(Self, oneshot::Receiver<Result<(), SpoolError>>), SpoolError> {
        let mut lines = Vec::with_capacity(rows.len() * 512);
        for row in rows {
            serde_json::to_writer(&mut lines, row).map_err(|e| SpoolError::Io(e.to_string()))?;
            lines.push(b'\n');
        }
        let (done, acknowledged) = oneshot::channel();
        let append = Self {
            lines,
            rows: rows.len(),
            done,
        };
        Ok((append, acknowledged))
    }
}

/// What the appender counts: commits, and the rows each one made durable.
#[derive(Debug, Clone)]
struct CommitMetrics {
    fsyncs: Counter,
    rows_per_fsync: Histogram,
}

/// The request side: cheap to clone.
#[derive(Debug, Clone)]
pub struct Spool {
    tx: mpsc::Sender<Append>,
    used: Arc<AtomicU64>,
    max_bytes: u64,
    dir: PathBuf,
    /// Fsyncs still to fail on purpose (the failure path's tests).
    #[cfg(test)]
    failing_syncs: Arc<AtomicU64>,
}

impl Spool {
    /// Opens `dir`, queues the segments a previous run left for `sealed`
    /// (oldest first), and starts the appender, which runs until `stop`.
    pub fn open(
        dir: &Path,
        max_bytes: u64,
        sealed: mpsc::UnboundedSender<Segment>,
        metrics: &Metrics,
        stop: CancellationToken,
    ) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        std::fs::create_dir_all(dir)?;
        let used = Arc::new(AtomicU64::new(0));
        for segment in leftover_segments(dir)? {
            used.fetch_add(segment.bytes, Ordering::AcqRel);
            let _ = sealed.send(segment);
        }
        #[cfg(test)]
        let failing_syncs = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel(PENDING_APPENDS);
        let appender = Appender {
            dir: dir.to_owned(),
            used: used.clone(),
            sealed,
            open: None,
            sequence: 0,
            metrics: CommitMetrics {
                fsyncs: metrics.spool_fsyncs.clone(),
                rows_per_fsync: metrics.spool_rows_per_fsync.clone(),
            },
            #[cfg(test)]
            failing_syncs: failing_syncs.clone(),
        };
        let task = tokio::spawn(appender.run(rx, stop));
        let spool = Self {
            tx,
            used,
            max_bytes,
            dir: dir.to_owned(),
            #[cfg(test)]
            failing_syncs,
        };
        Ok((spool, task))
    }

    /// Returns once the rows are fsynced, or why they were not accepted.
    pub async fn append(&self, rows: Vec<EventRow>) -> Result<(), SpoolError> {
        if self.used() >= self.max_bytes {
            return Err(SpoolError::Full);
        }
        let (append, acknowledged) = Append::new(&rows)?;
        self.tx.try_send(append).map_err(|_| SpoolError::Full)?;
        acknowledged
            .await
            .unwrap_or_else(|_| Err(SpoolError::Io("the appender stopped".into())))
    }

    /// Like [`append`](Self::append), but waits for room rather than failing
    /// at once: the back-pressure of a bulk import. Fails with `Full` when
    /// the spool stays full (or the appender stays busy) for `wait`.
    pub async fn append_waiting(
        &self,
        rows: Vec<EventRow>,
        wait: Duration,
    ) -> Result<(), SpoolError> {
        let deadline = Instant::now() + wait;
        while self.used() >= self.max_bytes {
            if Instant::now() >= deadline {
                return Err(SpoolError::Full);
            }
            tokio::time::sleep(ROOM_POLL).await;
        }
        let (append, acknowledged) = Append::new(&rows)?;
        match tokio::time::timeout_at(deadline, self.tx.send(append)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(SpoolError::Io("the appender stopped".into())),
            Err(_) => return Err(SpoolError::Full),
        }
        acknowledged
            .await
            .unwrap_or_else(|_| Err(SpoolError::Io("the appender stopped".into())))
    }

    /// Bytes of segments on disk, not yet written to ClickHouse.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// How long the oldest segment still on disk has waited: segment names
    /// start with their creation time in nanoseconds.
    pub fn oldest_age(&self) -> Option<Duration> {
        let oldest = leftover_segments(&self.dir).ok()?.into_iter().next()?;
        let name = oldest.path.file_name()?.to_str()?;
        let created: u128 = name.split('-').next()?.parse().ok()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        let nanos = u64::try_from(now.saturating_sub(created)).ok()?;
        Some(Duration::from_nanos(nanos))
    }

    /// Called once a segment is written to ClickHouse and deleted.
    pub fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Makes the next `n` fsyncs fail, after their write.
    #[cfg(test)]
    fn fail_next_syncs(&self, n: u64) {
        self.failing_syncs.store(n, Ordering::Release);
    }
}

/// Segment files in `dir`, oldest first (their names sort by creation).
fn leftover_segments(dir: &Path) -> std::io::Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            segments.push(Segment {
                bytes: entry.metadata()?.len(),
                path,
                leftover: true,
            });
        }
    }
    segments.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(segments)
}

/// Reads a segment's rows: its first `segment.bytes` bytes, which were
/// acknowledged. A last line cut short by a crash was never acknowledged,
/// so it is skipped; any other bad line is an error.
pub fn read_segment(segment: &Segment) -> std::io::Result<Vec<EventRow>> {
    let mut rows = Vec::new();
    for_each_row(segment, |row| rows.push(row))?;
    Ok(rows)
}

/// Hands a segment's rows to `each` one at a time, as [`read_segment`]
/// reads them, and returns how many there were. The writer encodes them as
/// they come, so a segment's text and rows are never in memory whole: at a
/// few megabytes each they made spool mode's peak memory twice memory
/// mode's.
pub fn for_each_row(segment: &Segment, mut each: impl FnMut(EventRow)) -> std::io::Result<usize> {
    let file = std::fs::File::open(&segment.path)?.take(segment.bytes);
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    let mut count = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
            // The end, or a last line the crash cut short.
            return Ok(count);
        }
        if line.len() > 1 {
            let row =
                serde_json::from_slice(&line[..line.len() - 1]).map_err(std::io::Error::other)?;
            each(row);
            count += 1;
        }
    }
}

/// The open segment.
struct Open {
    path: PathBuf,
    file: std::fs::File,
    /// Written and fsynced: acknowledged.
    bytes: u64,
    since: Instant,
    #[cfg(test)]
    failing_syncs: Arc<AtomicU64>,
}

impl Open {
    /// Writes and fsyncs `buffer`. On failure the file is cut back to what
    /// was acknowledged (best effort: the segment's length says it anyway).
    fn append(&mut self, buffer: &[u8]) -> std::io::Result<()> {
        let result = self.file.write_all(buffer).and_then(|()| self.sync());
        match result {
            Ok(()) => self.bytes += buffer.len() as u64,
            Err(_) => {
                let _ = self
                    .file
                    .set_len(self.bytes)
                    .and_then(|()| self.file.sync_all());
            }
        }
        result
    }

    fn sync(&self) -> std::io::Result<()> {
        #[cfg(test)]
        if self
            .failing_syncs
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(std::io::Error::other("fsync failed (on purpose)"));
        }
        self.file.sync_data()
    }
}

struct Appender {
    dir: PathBuf,
    used: Arc<AtomicU64>,
    sealed: mpsc::UnboundedSender<Segment>,
    open: Option<Open>,
    sequence: u64,
    metrics: CommitMetrics,
    #[cfg(test)]
    failing_syncs: Arc<AtomicU64>,
}

impl Appender {
    async fn run(mut self, mut rx: mpsc::Receiver<Append>, stop: CancellationToken) {
        let mut stopping = false;
        loop {
            let first = tokio::select! {
                biased;
                _ = stop.cancelled(), if !stopping => {
                    // Refuse new appends; those already queued still land.
                    rx.close();
                    stopping = true;
                    continue;
                }
                _ = self.open_segment_expiry() => {
                    self.seal();
                    continue;
                }
                first = rx.recv() => first,
            };
            let Some(first) = first else { break };
            let group = waiting(first, &mut rx);
            self.commit(group).await;
        }
        self.seal();
    }

    /// Resolves when the open segment is old enough to seal; never without one.
    async fn open_segment_expiry(&self) {
        match &self.open {
            Some(open) => tokio::time::sleep_until(open.since + SEGMENT_MAX_AGE).await,
            None => std::future::pending().await,
        }
    }

    /// Writes the group, fsyncs once, and answers every request in it.
    async fn commit(&mut self, group: Vec<Append>) {
        let rows: usize = group.iter().map(|a| a.rows).sum();
        let mut buffer = Vec::with_capacity(group.iter().map(|a| a.lines.len()).sum());
        for append in &group {
            buffer.extend_from_slice(&append.lines);
        }
        let result = self.write(buffer).await.map_err(|e| {
            tracing::error!(error = %e, "spool write failed");
            e.to_string()
        });
        if result.is_ok() {
            self.metrics.fsyncs.inc();
            self.metrics.rows_per_fsync.observe(rows as f64);
        }
        for append in group {
            let answer = result.clone().map_err(SpoolError::Io);
            let _ = append.done.send(answer);
        }
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.bytes >= SEGMENT_MAX_BYTES)
        {
            self.seal();
        }
    }

    /// Appends to the open segment (or a new one) on a blocking thread: an
    /// fsync takes milliseconds, during which the runtime's workers go on
    /// serving requests, whose rows queue for the next group.
    async fn write(&mut self, buffer: Vec<u8>) -> std::io::Result<()> {
        let mut open = match self.open.take() {
            Some(open) => open,
            None => self.create()?,
        };
        let written = tokio::task::spawn_blocking(move || {
            let result = open.append(&buffer);
            (open, result.map(|()| buffer.len() as u64))
        })
        .await;
        // A lost blocking task (the runtime shutting down) leaves the file
        // on disk, replayed at the next start.
        let (open, result) = written.map_err(std::io::Error::other)?;
        match result {
            Ok(bytes) => {
                self.used.fetch_add(bytes, Ordering::AcqRel);
                self.open = Some(open);
                Ok(())
            }
            Err(e) => {
                self.seal_at_failure(open);
                Err(e)
            }
        }
    }

    fn create(&mut self) -> std::io::Result<Open> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        self.sequence += 1;
        let path = self
            .dir
            .join(format!("{nanos:024}-{:08}.jsonl", self.sequence));
        let file = std::fs::File::create_new(&path)?;
        // The new name must survive a crash too.
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(Open {
            path,
            file,
            bytes: 0,
            since: Instant::now(),
            #[cfg(test)]
            failing_syncs: self.failing_syncs.clone(),
        })
    }

    /// After a failed write or fsync: the acknowledged part goes to the
    /// writer; a segment with nothing acknowledged is deleted.
    fn seal_at_failure(&mut self, open: Open) {
        if open.bytes > 0 {
            self.open = Some(open);
            self.seal();
        } else if let Err(e) = std::fs::remove_file(&open.path) {
            // Left on disk it is replayed as a leftover; at worst it holds
            // rows that were answered with an error.
            tracing::error!(error = %e, file = %open.path.display(), "failed spool segment could not be deleted");
        }
    }

    /// Hands the open segment to the writer.
    fn seal(&mut self) {
        if let Some(open) = self.open.take() {
            let segment = Segment {
                path: open.path,
                bytes: open.bytes,
                leftover: false,
            };
            // The writer is gone only when stopping; the file stays on disk
            // and is replayed at the next start.
            let _ = self.sealed.send(segment);
        }
    }
}

/// The first request plus every one that queued while the previous group
/// was being fsynced.
fn waiting(first: Append, rx: &mut mpsc::Receiver<Append>) -> Vec<Append> {
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(next) => group.push(next),
            Err(_) => break,
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32) -> EventRow {
        EventRow {
            timestamp: n,
            site: "example.com".into(),
            ..EventRow::default()
        }
    }

    #[tokio::test]
    async fn appended_rows_come_back_from_the_sealed_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, mut sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (spool, appender) = Spool::open(
            dir.path(),
            1 << 30,
            sealed_tx,
            &Metrics::default(),
            stop.clone(),
        )
        .unwrap();
        spool.append(vec![row(1), row(2)]).await.unwrap();
        spool.append(vec![row(3)]).await.unwrap();
        assert!(spool.used() > 0);
        let segment = tokio::time::timeout(Duration::from_secs(5), sealed.recv())
            .await
            .expect("sealed by age")
            .unwrap();
        let rows = read_segment(&segment).unwrap();
        assert_eq!(rows, vec![row(1), row(2), row(3)]);
        assert_eq!(
            segment.bytes,
            std::fs::metadata(&segment.path).unwrap().len()
        );
        stop.cancel();
        appender.await.unwrap();
    }

    #[tokio::test]
    async fn leftovers_are_replayed_first_and_a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let line = |n| serde_json::to_string(&row(n)).unwrap();
        let older = dir.path().join("000000000000000000000001-00000001.jsonl");
        let newer = dir.path().join("000000000000000000000002-00000001.jsonl");
        std::fs::write(&older, format!("{}\n{}\n", line(1), line(2))).unwrap();
        let torn = line(4);
        std::fs::write(&newer, format!("{}\n{}", line(3), &torn[..torn.len() / 2])).unwrap();
        let (sealed_tx, mut sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (spool, appender) = Spool::open(
            dir.path(),
            1 << 30,
            sealed_tx,
            &Metrics::default(),
            stop.clone(),
        )
        .unwrap();
        let first = sealed.recv().await.unwrap();
        let second = sealed.recv().await.unwrap();
        assert_eq!((first.path.clone(), second.path.clone()), (older, newer));
        assert_eq!(read_segment(&first).unwrap(), vec![row(1), row(2)]);
        assert_eq!(read_segment(&second).unwrap(), vec![row(3)]);
        assert_eq!(spool.used(), first.bytes + second.bytes);
        stop.cancel();
        appender.await.unwrap();
    }

    #[tokio::test]
    async fn a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, _sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (spool, appender) =
            Spool::open(dir.path(), 10, sealed_tx, &Metrics::default(), stop.clone()).unwrap();
        spool.append(vec![row(1)]).await.unwrap();
        assert!(matches!(
            spool.append(vec![row(2)]).await,
            Err(SpoolError::Full)
        ));
        spool.release(spool.used());
        spool.append(vec![row(3)]).await.unwrap();
        stop.cancel();
        appender.await.unwrap();
    }

    #[tokio::test]
    async fn a_waiting_append_waits_for_room_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, _sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (spool, appender) =
            Spool::open(dir.path(), 10, sealed_tx, &Metrics::default(), stop.clone()).unwrap();
        spool.append(vec![row(1)]).await.unwrap();
        let short = Duration::from_millis(100);
        assert!(matches!(
            spool.append_waiting(vec![row(2)], short).await,
            Err(SpoolError::Full)
        ));
        // Room freed while waiting (the writer stored a segment): it goes in.
        let freeing = spool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            freeing.release(freeing.used());
        });
        let waited = spool.append_waiting(vec![row(3)], Duration::from_secs(10));
        waited.await.unwrap();
        stop.cancel();
        appender.await.unwrap();
    }

    /// Every segment `sealed` received until the appender stopped.
    async fn all_sealed(sealed: &mut mpsc::UnboundedReceiver<Segment>) -> Vec<Segment> {
        let mut segments = Vec::new();
        while let Some(segment) = sealed.recv().await {
            segments.push(segment);
        }
        segments
    }

    #[tokio::test]
    async fn a_failed_fsync_is_refused_and_leaves_only_acknowledged_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, mut sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let metrics = Metrics::default();
        let (spool, appender) =
            Spool::open(dir.path(), 1 << 30, sealed_tx, &metrics, stop.clone()).unwrap();
        spool.append(vec![row(1)]).await.unwrap();
        spool.fail_next_syncs(1);
        assert!(matches!(
            spool.append(vec![row(2), row(3)]).await,
            Err(SpoolError::Io(_))
        ));
        // The next group goes to a new segment: nothing is written past the
        // cut (which would leave a hole of zero bytes) or after the rows
        // the failed fsync may have lost.
        spool.append(vec![row(4)]).await.unwrap();
        stop.cancel();
        appender.await.unwrap();
        drop(spool);
        let segments = all_sealed(&mut sealed).await;
        assert_eq!(segments.len(), 2, "{segments:?}");
        let mut rows = Vec::new();
        for segment in &segments {
            let text = std::fs::read(&segment.path).unwrap();
            assert_eq!(
                text.len() as u64,
                segment.bytes,
                "cut back to the acknowledged rows"
            );
            assert!(
                !text.contains(&0),
                "no zero bytes in {}",
                segment.path.display()
            );
            rows.extend(read_segment(segment).unwrap());
        }
        assert_eq!(rows, vec![row(1), row(4)]);
        let text = metrics.render();
        assert!(text.contains("analytics_spool_fsyncs_total 2\n"), "{text}");
        assert!(
            text.contains("analytics_spool_rows_per_fsync_sum 2.0\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_segment_whose_first_fsync_failed_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, mut sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (spool, appender) = Spool::open(
            dir.path(),
            1 << 30,
            sealed_tx,
            &Metrics::default(),
            stop.clone(),
        )
        .unwrap();
        spool.fail_next_syncs(1);
        assert!(spool.append(vec![row(1)]).await.is_err());
        assert_eq!(spool.used(), 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        stop.cancel();
        appender.await.unwrap();
        drop(spool);
        assert!(all_sealed(&mut sealed).await.is_empty());
    }

    #[tokio::test]
    async fn requests_that_queue_during_an_fsync_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, _sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let metrics = Metrics::default();
        let (spool, appender) =
            Spool::open(dir.path(), 1 << 30, sealed_tx, &metrics, stop.clone()).unwrap();
        let appends: Vec<_> = (0..200)
            .map(|n| {
                let spool = spool.clone();
                tokio::spawn(async move { spool.append(vec![row(n)]).await })
            })
            .collect();
        for append in appends {
            append.await.unwrap().unwrap();
        }
        let text = metrics.render();
        let fsyncs: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("analytics_spool_fsyncs_total "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..200).contains(&fsyncs),
            "{fsyncs} fsyncs for 200 appends"
        );
        assert!(
            text.contains("analytics_spool_rows_per_fsync_sum 200.0\n"),
            "{text}"
        );
        stop.cancel();
        appender.await.unwrap();
    }
}
