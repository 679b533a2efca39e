//! What every request handler shares, built once by [`crate::server`].
//! Handlers import this, never the route table, so the route table is the
//! only module that knows every handler.

use crate::clock::Clock;
use crate::delivery::batcher::EventQueue;
use crate::delivery::spool::Spool;
use crate::http::tracker::TrackerScript;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::privacy::salt::SaltStore;
use schema::{Config, Db};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every handler shares.
pub struct AppState {
    pub config: Arc<Config>,
    pub pipeline: Pipeline,
    pub db: Db,
    pub salts: Arc<SaltStore>,
    pub queue: EventQueue,
    /// Present with `durability = "spool"`: accepted rows go here instead.
    pub spool: Option<Spool>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the collector starts stopping, so long requests (an
    /// import) can end in time to answer.
    pub stopping: CancellationToken,
    /// How long an import waits for room in the queue or spool before 503.
    pub import_wait: Duration,
    /// `GET /js/script.js`, prepared at start-up.
    pub tracker: TrackerScript,
    /// When the collector started (seconds since the Unix epoch, UTC): the
    /// config in force was read then, so GPC's `lastUpdate` is that day.
    pub started_at: u64,
}
