//! Background chores that run every so often until the collector stops.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs `chore` every `every` (the first time at once) until `stop`. A slow
/// run delays the next one rather than causing a burst of catch-up runs.
pub fn every<F, Fut>(
    every: Duration,
    stop: CancellationToken,
    chore: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    every_after(Duration::ZERO, every, stop, chore)
}

/// Like [`every`], with the first run `first` after the start.
pub fn every_after<F, Fut>(
    first: Duration,
    every: Duration,
    stop: CancellationToken,
    mut chore: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => chore().await,
            }
        }
    })
}
