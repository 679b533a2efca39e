//! The byte budget of the queue: a row can carry kilobytes of props, so a
//! row count alone bounds no memory. Bytes are taken on push and given back
//! once the writer is done with them (written or given up on).

use super::QueueFull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Bytes held by queued rows, taken on push and given back once the writer
/// is done with them (written or given up on).
#[derive(Debug, Clone)]
pub(super) struct ByteBudget {
    used: Arc<AtomicUsize>,
    max: usize,
    /// Woken when bytes are given back, for pushes that wait for room.
    freed: Arc<Notify>,
}

/// A waiting push looks again at least this often, in case a wake-up was
/// missed (another push's failed attempt briefly over-counting, say).
pub(super) const RECHECK_ROOM_EVERY: Duration = Duration::from_millis(100);

impl ByteBudget {
    pub(super) fn new(max: usize) -> Self {
        Self {
            used: Arc::new(AtomicUsize::new(0)),
            max,
            freed: Arc::new(Notify::new()),
        }
    }

    /// Bytes taken now.
    pub(super) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    pub(super) fn take(&self, bytes: usize) -> Result<(), QueueFull> {
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
    pub(super) async fn take_waiting(
        &self,
        bytes: usize,
        deadline: Instant,
    ) -> Result<(), QueueFull> {
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

    pub(super) fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
        self.freed.notify_waiters();
    }
}
