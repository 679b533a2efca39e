//! Batches ClickHouse would not take, kept on disk instead of being lost: a
//! permanent error (the data or schema is wrong), or ClickHouse still failing
//! when the collector stops.
//!
//! Each batch is one JSON-lines file whose keys are the `events` columns, so
//! an operator can replay it once the cause is fixed:
//! `clickhouse-client --query "INSERT INTO analytics.events FORMAT JSONEachRow" < FILE`.
//! Rows hold only what `events` holds: no address, no user agent.

use schema::EventRow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct DeadLetters {
    dir: PathBuf,
    sequence: AtomicU64,
}

impl DeadLetters {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            sequence: AtomicU64::new(0),
        }
    }

    /// Writes the batch to a new file, synced to disk, and returns its path.
    pub fn keep(&self, rows: &[EventRow]) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("events-{millis}-{n}.jsonl"));
        let mut out = std::io::BufWriter::new(std::fs::File::create_new(&path)?);
        for row in rows {
            serde_json::to_writer(&mut out, row)?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_becomes_one_json_line_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let letters = DeadLetters::new(&dir.path().join("dead"));
        let rows = vec![
            EventRow {
                timestamp: 1,
                site: "a.com".into(),
                ..EventRow::default()
            },
            EventRow {
                timestamp: 2,
                site: "b.com".into(),
                ..EventRow::default()
            },
        ];
        let path = letters.keep(&rows).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let back: Vec<EventRow> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, rows);
        assert_ne!(
            letters.keep(&rows).unwrap(),
            path,
            "each batch gets its own file"
        );
    }
}
