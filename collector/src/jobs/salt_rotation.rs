//! Salt rotation: re-reading the day's salt on a timer, so a day change
//! erases the salt of the day before yesterday even when no beacon arrives,
//! and collectors that raced at midnight converge on one salt.

use crate::privacy::salt::SaltStore;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Refreshes `store` every `every` until `stop`.
pub fn spawn(
    store: Arc<SaltStore>,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    super::periodic::every(every, stop, move || {
        let store = store.clone();
        async move {
            if let Err(e) = store.refresh().await {
                tracing::warn!(error = %e, "salt refresh failed");
            }
        }
    })
}
