//! Forgetting page views whose visit window has ended, so the engagement
//! check's memory holds the page views that can still be engaged with,
//! not the day's (its size bound then only matters at a real peak), and
//! publishing how many it holds.

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::pipeline::engagement::PageViews;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the job needs: the memory, the collector's clock and its metrics.
pub struct Expiry {
    pub page_views: Arc<PageViews>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

/// Expires page views every `every` until `stop`.
pub fn spawn(
    expiry: Expiry,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    super::periodic::every(every, stop, move || {
        expiry.page_views.expire(expiry.clock.now());
        let held = i64::try_from(expiry.page_views.len()).unwrap_or(i64::MAX);
        expiry.metrics.page_views_remembered.set(held);
        std::future::ready(())
    })
}
