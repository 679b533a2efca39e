//! The task that keeps the database current.
//!
//! Replace the file atomically: write the new one next to it and `mv` it
//! over the old one (this is what `geoipupdate` does). The watcher
//! ([`Geo::spawn_watcher`]) checks the file's modification time, size and
//! inode periodically and on SIGHUP, and swaps the new database in through
//! an [`ArcSwapOption`](arc_swap::ArcSwapOption), so lookups never wait and
//! no request is dropped. A replacement that does not parse is logged and
//! skipped until the file changes again (or SIGHUP forces a re-read).

use super::Geo;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tracing::warn;

impl Geo {
    /// Checks the file every `every` and re-reads it on SIGHUP, until `stop`.
    /// Reload failures are logged and the previous database stays in use.
    /// With no database configured SIGHUP is still caught (and does
    /// nothing), so it never terminates the collector.
    pub fn spawn_watcher(
        self: Arc<Self>,
        every: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        // Installed before returning, so a SIGHUP sent right afterwards is
        // never met by the default action, which terminates the process.
        let hangup = signal(SignalKind::hangup())
            .inspect_err(
                |error| warn!(%error, "cannot watch SIGHUP; geoip reloads on a timer only"),
            )
            .ok();
        tokio::spawn(self.watch(every, hangup, stop))
    }

    async fn watch(
        self: Arc<Self>,
        every: Duration,
        mut hangup: Option<Signal>,
        stop: CancellationToken,
    ) {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let forced = tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => false,
                () = next_signal(&mut hangup) => true,
            };
            Arc::clone(&self).check(forced).await;
        }
    }

    /// One reload attempt, on a blocking thread: it reads and parses the
    /// whole file, which must not stall the async workers serving requests.
    async fn check(self: Arc<Self>, forced: bool) {
        let attempt = tokio::task::spawn_blocking(move || {
            if forced {
                self.reload().map(|()| true)
            } else {
                self.reload_if_changed()
            }
        });
        match attempt.await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                warn!(%error, "geoip database not reloaded; still serving the previous one")
            }
            Err(error) => warn!(%error, "geoip reload task failed"),
        }
    }
}

/// Resolves on the next signal; never, if it cannot be watched.
async fn next_signal(signal: &mut Option<Signal>) {
    if let Some(signal) = signal {
        if signal.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::geo::fixture::{self, ip, loc, london_db};
    use crate::enrich::geo::Location;
    use std::time::Instant;

    async fn wait_for(geo: &Geo, address: &str, want: &Location) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if geo.lookup(ip(address)) == *want {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn watcher_reloads_on_a_timer_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        let stop = CancellationToken::new();
        let task = Arc::clone(&geo).spawn_watcher(Duration::from_millis(20), stop.clone());

        fixture::geoip2(
            &path,
            "GeoLite2-City",
            &[("81.2.69.0/24", "IE", None, Some("Cork"))],
        );
        assert!(wait_for(&geo, "81.2.69.0", &loc("IE", "", "Cork")).await);
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn watcher_reloads_on_sighup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("city.mmdb");
        london_db(&path);
        let geo = Geo::open(&path).unwrap();
        let stop = CancellationToken::new();
        // A timer that never fires within the test: only SIGHUP can reload.
        let task = Arc::clone(&geo).spawn_watcher(Duration::from_secs(3600), stop.clone());

        fixture::geoip2(
            &path,
            "GeoLite2-City",
            &[("81.2.69.0/24", "IE", None, Some("Galway"))],
        );
        let status = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(wait_for(&geo, "81.2.69.0", &loc("IE", "", "Galway")).await);
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn disabled_watcher_waits_for_stop() {
        let stop = CancellationToken::new();
        let task = Geo::disabled().spawn_watcher(Duration::from_millis(1), stop.clone());
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
