//! Forgetting visitors whose rate-limit allowance has fully recovered, so
//! the limiter's memory is bounded by the visitors active within one limit
//! period rather than growing with every visitor ever seen.

use crate::pipeline::rate_limit::RateLimits;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Cleans `limits` up every `every` until `stop`.
pub fn spawn(
    limits: Arc<RateLimits>,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    super::periodic::every(every, stop, move || {
        limits.clean_up();
        std::future::ready(())
    })
}
