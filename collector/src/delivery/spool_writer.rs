//! The writer of `durability = "spool"`: each sealed segment becomes one
//! batch insert tagged with the segment's own batch id, and is deleted once
//! stored.
//!
//! Nothing is written twice: before retrying a failed insert, and before the
//! first insert of a segment an earlier run left (it may have died between
//! the insert and the delete), the writer asks ClickHouse how many rows of
//! that batch it already holds. All of them: the insert landed after all, so
//! the segment is done. None: insert again. Some (a batch split across
//! partitions by a failure half way): the segment is kept in the dead-letter
//! directory for the operator, with a log line.
//!
//! While stopping, a segment that still cannot be written stays on disk and
//! is replayed at the next start.

use crate::delivery::dead_letter::DeadLetters;
use crate::delivery::sink::{EventSink, SinkError};
use crate::delivery::spool::{for_each_row, read_segment, Segment, Spool};
use crate::metrics::Metrics;
use schema::EncodedRows;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Attempts per segment once stopping, so shutdown ends while ClickHouse is down.
const ATTEMPTS_WHEN_STOPPING: u32 = 3;

pub struct SpoolWriter<S> {
    pub sink: S,
    pub spool: Spool,
    pub metrics: Arc<Metrics>,
    pub dead_letters: Arc<DeadLetters>,
    pub stop: CancellationToken,
}

/// What became of one segment.
enum Outcome {
    Stored,
    /// Handed to the dead-letter directory.
    Kept,
    /// Still on disk: the writer is stopping and ClickHouse is failing.
    Left,
}

impl<S: EventSink> SpoolWriter<S> {
    /// Writes sealed segments in order until the appender is gone and every
    /// segment is handled (or left for the next start).
    pub fn spawn(
        self,
        mut sealed: mpsc::UnboundedReceiver<Segment>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while let Some(segment) = sealed.recv().await {
                if let Outcome::Left = self.write(&segment).await {
                    tracing::warn!("clickhouse still failing at shutdown; spooled rows stay on disk for the next start");
                    return;
                }
            }
        })
    }

    async fn write(&self, segment: &Segment) -> Outcome {
        let batch_id = batch_id_of(&segment.path);
        let mut encoded = EncodedRows::with_capacity(segment.bytes as usize / 2);
        let read = for_each_row(segment, |mut row| {
            row.batch_id = batch_id;
            encoded.push(&row);
        });
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                // Renamed so it is not replayed again; the operator can look.
                let aside = segment.path.with_extension("unreadable");
                let _ = std::fs::rename(&segment.path, &aside);
                tracing::error!(error = %e, file = %aside.display(), "unreadable spool segment set aside");
                self.spool.release(segment.bytes);
                return Outcome::Kept;
            }
        };
        if rows == 0 {
            // A crash between creating a segment and its first commit.
            return self.done(segment, 0);
        }
        let mut attempt = 0u32;
        let mut attempts_while_stopping = 0u32;
        loop {
            if attempt > 0 || segment.leftover {
                match self.sink.stored_in_batch(batch_id).await {
                    Ok(0) => {}
                    Ok(n) if n == rows as u64 => return self.done(segment, rows),
                    Ok(n) => return self.keep(segment, &format!("only {n} of {rows} rows stored")),
                    Err(e) => {
                        if self.give_up_now(&mut attempts_while_stopping) {
                            return Outcome::Left;
                        }
                        self.pause(&e, rows, &mut attempt).await;
                        continue;
                    }
                }
            }
            match self.sink.insert(&encoded).await {
                Ok(()) => return self.done(segment, rows),
                Err(e) if e.retryable => {
                    if self.give_up_now(&mut attempts_while_stopping) {
                        return Outcome::Left;
                    }
                    self.pause(&e, rows, &mut attempt).await;
                }
                Err(e) => return self.keep(segment, &e.message),
            }
        }
    }

    fn give_up_now(&self, attempts_while_stopping: &mut u32) -> bool {
        if !self.stop.is_cancelled() {
            return false;
        }
        *attempts_while_stopping += 1;
        *attempts_while_stopping >= ATTEMPTS_WHEN_STOPPING
    }

    async fn pause(&self, error: &SinkError, rows: usize, attempt: &mut u32) {
        self.metrics.flushed("retry");
        tracing::warn!(rows, attempt = *attempt, %error, "spooled batch not written yet; retrying");
        let wait = Duration::from_millis(100u64 << (*attempt).min(6)).min(Duration::from_secs(5));
        tokio::time::sleep(wait).await;
        *attempt += 1;
    }

    fn done(&self, segment: &Segment, rows: usize) -> Outcome {
        self.metrics.flushed("ok");
        self.metrics.rows_written.inc_by(rows as u64);
        self.remove(segment);
        Outcome::Stored
    }

    /// Hands the segment's rows to the dead-letter directory, read again
    /// from the segment (the writer keeps only their encoding).
    fn keep(&self, segment: &Segment, error: &str) -> Outcome {
        self.metrics.flushed("failed");
        let kept = read_segment(segment).and_then(|rows| {
            let path = self.dead_letters.keep(&rows)?;
            Ok((rows.len(), path))
        });
        match kept {
            Ok((rows, path)) => {
                self.metrics.rows_dead_lettered.inc_by(rows as u64);
                tracing::error!(rows, %error, file = %path.display(), "spooled batch not stored; rows kept in the dead-letter file");
                self.remove(segment);
            }
            Err(io) => {
                // Not deleted: the segment itself is still the copy on disk.
                tracing::error!(%error, dead_letter_error = %io, "spooled batch not stored; segment left in the spool");
            }
        }
        Outcome::Kept
    }

    fn remove(&self, segment: &Segment) {
        if let Err(e) = std::fs::remove_file(&segment.path) {
            tracing::error!(error = %e, file = %segment.path.display(), "written spool segment could not be deleted");
        }
        self.spool.release(segment.bytes);
    }
}

/// A segment's batch id: a hash of its unique file name, never 0 (the id of
/// rows written from memory).
pub fn batch_id_of(path: &Path) -> u64 {
    let name = path
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    let digest = blake3::hash(name);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_le_bytes(first) | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::EventRow;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A sink that stores rows by batch id, as ClickHouse would.
    #[derive(Default, Clone)]
    struct Table(Arc<Mutex<HashMap<u64, u64>>>);

    impl EventSink for Table {
        async fn insert(&self, rows: &EncodedRows) -> Result<(), SinkError> {
            let mut batches = self.0.lock().unwrap();
            for row in rows.decode().unwrap() {
                *batches.entry(row.batch_id).or_default() += 1;
            }
            Ok(())
        }

        async fn stored_in_batch(&self, batch_id: u64) -> Result<u64, SinkError> {
            Ok(self.0.lock().unwrap().get(&batch_id).copied().unwrap_or(0))
        }
    }

    fn segment_file(dir: &Path, rows: u32) -> std::path::PathBuf {
        let path = dir.join("000000000000000000000001-00000001.jsonl");
        let mut text = String::new();
        for n in 0..rows {
            let row = EventRow {
                timestamp: n,
                ..EventRow::default()
            };
            text += &serde_json::to_string(&row).unwrap();
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes `path` as the spool would hand it over, and returns the rows
    /// the table then holds for its batch.
    async fn write_once(table: &Table, path: &Path, leftover: bool) -> u64 {
        assert!(matches!(
            write_segment(table, path, leftover).await,
            Outcome::Stored
        ));
        table.stored_in_batch(batch_id_of(path)).await.unwrap()
    }

    /// What the writer makes of `path`; dead letters go to `dead` beside it.
    async fn write_segment(table: &Table, path: &Path, leftover: bool) -> Outcome {
        let dir = path.parent().unwrap();
        let (sealed_tx, _sealed) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let spool_dir = dir.join("spool");
        let (spool, appender) = Spool::open(
            &spool_dir,
            1 << 30,
            sealed_tx,
            &Metrics::default(),
            stop.clone(),
        )
        .unwrap();
        let writer = SpoolWriter {
            sink: table.clone(),
            spool,
            metrics: Arc::new(Metrics::default()),
            dead_letters: Arc::new(DeadLetters::new(&dir.join("dead"))),
            stop: stop.clone(),
        };
        let segment = Segment {
            path: path.to_owned(),
            bytes: std::fs::metadata(path).unwrap().len(),
            leftover,
        };
        let outcome = writer.write(&segment).await;
        stop.cancel();
        appender.await.unwrap();
        outcome
    }

    #[tokio::test]
    async fn a_leftover_segment_already_stored_is_not_stored_again() {
        // The earlier run inserted the segment and died before deleting it.
        let dir = tempfile::tempdir().unwrap();
        let table = Table::default();
        let path = segment_file(dir.path(), 3);
        let copy = std::fs::read(&path).unwrap();
        assert_eq!(write_once(&table, &path, false).await, 3);
        assert!(!path.exists(), "a stored segment is deleted");
        std::fs::write(&path, copy).unwrap();
        assert_eq!(write_once(&table, &path, true).await, 3);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn a_leftover_segment_never_stored_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let table = Table::default();
        let path = segment_file(dir.path(), 4);
        assert_eq!(write_once(&table, &path, true).await, 4);
    }

    #[tokio::test]
    async fn a_leftover_segment_partly_stored_goes_whole_to_the_dead_letters() {
        // A batch split by a failure half way: 2 of its 4 rows are stored.
        let dir = tempfile::tempdir().unwrap();
        let table = Table::default();
        let path = segment_file(dir.path(), 4);
        table.0.lock().unwrap().insert(batch_id_of(&path), 2);
        assert!(matches!(
            write_segment(&table, &path, true).await,
            Outcome::Kept
        ));
        assert!(!path.exists(), "a segment kept as dead letters is deleted");
        let kept: Vec<_> = std::fs::read_dir(dir.path().join("dead"))
            .unwrap()
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect();
        assert_eq!(kept.len(), 1);
        let timestamps: Vec<u32> = kept[0]
            .lines()
            .map(|line| serde_json::from_str::<EventRow>(line).unwrap().timestamp)
            .collect();
        assert_eq!(timestamps, vec![0, 1, 2, 3]);
    }
}
