//! The write-ahead spool behind `durability = "spool"`: a request gets `202`
//! only once its rows are written and fsynced here.
//!
//! - **Group commit.** One appender task takes every request's rows, writes
//!   what has arrived within a few milliseconds as JSON lines to the open
//!   segment, calls `fsync` once, then acknowledges them all.
//! - **Segments.** A segment is sealed when it is large or old enough, and
//!   handed to the writer ([`crate::delivery::spool_writer`]), which inserts it as one
//!   batch and deletes it. Segments left by a crash are replayed at start-up,
//!   oldest first; a line cut short by the crash was never acknowledged and
//!   is skipped.
//! - **Bounded.** Past `spool_max_bytes` on disk, appends are refused and
//!   the collector answers `503`.
//!
//! Rows here are what `events` stores: no address, no user agent.

use schema::EventRow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the appender gathers requests before one fsync.
const COMMIT_EVERY: Duration = Duration::from_millis(5);
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
    pub bytes: u64,
    /// Left by an earlier run, which may have stored it and died before
    /// deleting it: the writer asks ClickHouse before inserting it.
    pub leftover: bool,
}

struct Append {
    rows: Vec<EventRow>,
    done: oneshot::Sender<Result<(), SpoolError>>,
}

/// The request side: cheap to clone.
#[derive(Debug, Clone)]
pub struct Spool {
    tx: mpsc::Sender<Append>,
    used: Arc<AtomicU64>,
    max_bytes: u64,
    dir: PathBuf,
}

impl Spool {
    /// Opens `dir`, queues the segments a previous run left for `sealed`
    /// (oldest first), and starts the appender, which runs until `stop`.
    pub fn open(
        dir: &Path,
        max_bytes: u64,
        sealed: mpsc::UnboundedSender<Segment>,
        stop: CancellationToken,
    ) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        std::fs::create_dir_all(dir)?;
        let used = Arc::new(AtomicU64::new(0));
        for segment in leftover_segments(dir)? {
            used.fetch_add(segment.bytes, Ordering::AcqRel);
            let _ = sealed.send(segment);
        }
        let (tx, rx) = mpsc::channel(PENDING_APPENDS);
        let appender = Appender {
            dir: dir.to_owned(),
            used: used.clone(),
            sealed,
            open: None,
            sequence: 0,
        };
        let task = tokio::spawn(appender.run(rx, stop));
        let spool = Self {
            tx,
            used,
            max_bytes,
            dir: dir.to_owned(),
        };
        Ok((spool, task))
    }

    /// Returns once the rows are fsynced, or why they were not accepted.
    pub async fn append(&self, rows: Vec<EventRow>) -> Result<(), SpoolError> {
        if self.used() >= self.max_bytes {
            return Err(SpoolError::Full);
        }
        let (done, acknowledged) = oneshot::channel();
        self.tx
            .try_send(Append { rows, done })
            .map_err(|_| SpoolError::Full)?;
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
        let (done, acknowledged) = oneshot::channel();
        match tokio::time::timeout_at(deadline, self.tx.send(Append { rows, done })).await {
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

/// Reads a segment's rows. A last line cut short by a crash was never
/// acknowledged, so it is skipped; any other bad line is an error.
pub fn read_segment(path: &Path) -> std::io::Result<Vec<EventRow>> {
    let text = std::fs::read(path)?;
    let complete = match text.iter().rposition(|&b| b == b'\n') {
        Some(end) => &text[..=end],
        None => &text[..0],
    };
    complete
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).map_err(std::io::Error::other))
        .collect()
}

/// The open segment.
struct Open {
    path: PathBuf,
    file: std::fs::File,
    bytes: u64,
    since: Instant,
}

struct Appender {
    dir: PathBuf,
    used: Arc<AtomicU64>,
    sealed: mpsc::UnboundedSender<Segment>,
    open: Option<Open>,
    sequence: u64,
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
            let group = gather(first, &mut rx).await;
            self.commit(group);
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
    fn commit(&mut self, group: Vec<Append>) {
        let result = self.write(&group).map_err(|e| {
            tracing::error!(error = %e, "spool write failed");
            e.to_string()
        });
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

    fn write(&mut self, group: &[Append]) -> std::io::Result<()> {
        let mut buffer = Vec::new();
        for row in group.iter().flat_map(|a| &a.rows) {
            serde_json::to_writer(&mut buffer, row)?;
            buffer.push(b'\n');
        }
        let open = self.open_or_create()?;
        open.file.write_all(&buffer)?;
        open.file.sync_data()?;
        open.bytes += buffer.len() as u64;
        self.used.fetch_add(buffer.len() as u64, Ordering::AcqRel);
        Ok(())
    }

    fn open_or_create(&mut self) -> std::io::Result<&mut Open> {
        if self.open.is_none() {
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
            self.open = Some(Open {
                path,
                file,
                bytes: 0,
                since: Instant::now(),
            });
        }
        Ok(self.open.as_mut().expect("just opened"))
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

/// The first request plus whatever else arrives within [`COMMIT_EVERY`].
async fn gather(first: Append, rx: &mut mpsc::Receiver<Append>) -> Vec<Append> {
    let mut group = vec![first];
    let deadline = Instant::now() + COMMIT_EVERY;
    while let Ok(Some(next)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        group.push(next);
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
        let (spool, appender) = Spool::open(dir.path(), 1 << 30, sealed_tx, stop.clone()).unwrap();
        spool.append(vec![row(1), row(2)]).await.unwrap();
        spool.append(vec![row(3)]).await.unwrap();
        assert!(spool.used() > 0);
        let segment = tokio::time::timeout(Duration::from_secs(5), sealed.recv())
            .await
            .expect("sealed by age")
            .unwrap();
        let rows = read_segment(&segment.path).unwrap();
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
        let (spool, appender) = Spool::open(dir.path(), 1 << 30, sealed_tx, stop.clone()).unwrap();
        let first = sealed.recv().await.unwrap();
        let second = sealed.recv().await.unwrap();
        assert_eq!((first.path.clone(), second.path.clone()), (older, newer));
        assert_eq!(read_segment(&first.path).unwrap(), vec![row(1), row(2)]);
        assert_eq!(read_segment(&second.path).unwrap(), vec![row(3)]);
        assert_eq!(spool.used(), first.bytes + second.bytes);
        stop.cancel();
        appender.await.unwrap();
    }

    #[tokio::test]
    async fn a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let (sealed_tx, _sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (spool, appender) = Spool::open(dir.path(), 10, sealed_tx, stop.clone()).unwrap();
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
        let (spool, appender) = Spool::open(dir.path(), 10, sealed_tx, stop.clone()).unwrap();
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
}
