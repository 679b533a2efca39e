//! The queue itself: rows as RowBinary bytes already cut into batches,
//! behind a lock held only to push or take them, and the encoding of a
//! push's rows, done before the lock is taken.

use schema::{EncodedRows, EventRow};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The queued rows, behind a lock held only to push or take them. Pushing
/// wakes the writer only when it has something to do (the first row of a
/// batch starts its age; a full batch goes at once), not for every row, so
/// a busy collector does not pay a task wake-up per event.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) queue: Mutex<Queue>,
    pub(super) capacity: usize,
    pub(super) max_rows: usize,
    /// Wakes the writer: a batch started or filled, or the queue closed.
    pub(super) work: Notify,
    /// Wakes waiting pushes: the writer took rows out.
    pub(super) room: Notify,
}

#[derive(Debug, Default)]
pub(super) struct Queue {
    /// The batches to come, in order, each of at most `max_rows` rows; only
    /// the last one still fills.
    pub(super) batches: VecDeque<EncodedRows>,
    /// Rows in all of them.
    pub(super) rows: usize,
    /// The size of the last batch that filled: room reserved for the next,
    /// so a filling batch does not copy itself as it grows.
    pub(super) batch_bytes: usize,
    /// When the oldest queued row arrived (or became the head of the
    /// line after a full batch was taken).
    pub(super) oldest: Option<Instant>,
    pub(super) closed: bool,
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
/// each row ends so they can be split between batches. Public for the
/// pipeline benchmark, which measures this step as the ingest path runs it.
#[derive(Debug)]
pub struct Encoded {
    bytes: Vec<u8>,
    ends: SmallVec<[usize; 1]>,
}

/// Room for a typical row (a page view with UTM tags and a location is
/// about 250 bytes), so one allocation usually holds a push's bytes
/// instead of a string of reallocations.
const ROW_BYTES_HINT: usize = 384;

impl Encoded {
    pub fn new(rows: &[EventRow]) -> Self {
        let mut bytes = Vec::with_capacity(rows.len() * ROW_BYTES_HINT);
        let mut ends = SmallVec::with_capacity(rows.len());
        for row in rows {
            schema::row_binary::encode(row, &mut bytes);
            ends.push(bytes.len());
        }
        Self { bytes, ends }
    }

    /// The encoded bytes of all the rows.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn len(&self) -> usize {
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
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while holding it; a poisoned lock still holds
        // consistent rows.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// All rows or none, as room allows; `false` when refused.
    pub(super) fn push(&self, rows: &Encoded) -> bool {
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

/// The first batch in line; what stays behind starts a new batch's age now.
pub(super) fn take(queue: &mut Queue) -> EncodedRows {
    let batch = queue.batches.pop_front().unwrap_or_default();
    queue.rows -= batch.rows;
    queue.oldest = (queue.rows > 0).then(Instant::now);
    batch
}
