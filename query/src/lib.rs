//! The reporting service: a Plausible-compatible Stats API (v2) over the
//! events the collector stores, with visits built at query time (see
//! [`visits`]), and the editors' dashboard on top of it ([`dashboard`]).

pub mod auth;
pub mod dashboard;
pub mod dates;
pub mod error;
pub mod login;
pub mod report;
pub mod request;
pub mod response;
pub mod rollup;
pub mod rollup_sql;
pub mod routes;
pub mod session;
pub mod sql;
pub mod visits;

use anyhow::Context;
use chrono::{DateTime, Utc};
use routes::AppState;
use schema::Config;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Runs the service with the system clock until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    QueryService::new(config).run(listener, shutdown).await
}

/// A query service to run; tests pin its clock and run the materializer
/// themselves.
pub struct QueryService {
    config: Config,
    now: Box<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    rollup_job: bool,
}

impl QueryService {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            now: Box::new(Utc::now),
            rollup_job: true,
        }
    }

    /// Whether the background materializer runs (when `[query] rollups`).
    pub fn with_rollup_job(mut self, run: bool) -> Self {
        self.rollup_job = run;
        self
    }

    /// Makes "today" and "realtime" relative to `now()` instead of the clock.
    pub fn with_now(mut self, now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.now = Box::new(now);
        self
    }

    pub async fn run(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        if self.config.clickhouse.cluster.is_some() && self.config.query.rollups {
            // The materializer's bookkeeping (hours read at a moment, mutations
            // on its tables) assumes one server; reports built from events
            // give the same answers on a cluster.
            tracing::info!("cluster mode: rollups are off, reports are built from events");
            self.config.query.rollups = false;
        }
        let db = schema::connect(&self.config.clickhouse).await?;
        // The query service reads what the collector writes: refuse to start
        // against a schema it does not understand.
        schema::migrate::verify(&db)
            .await
            .context("the ClickHouse schema is missing or different; run `schema migrate`")?;
        let limits = report::Limits {
            seconds: self.config.query.max_query_seconds,
            memory_bytes: u64::from(self.config.query.max_query_memory_mib) << 20,
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let job = (self.config.query.rollups && self.rollup_job)
            .then(|| tokio::spawn(rollup_loop(self.config.clone(), db.clone(), stop.clone())));
        if self.config.query.session_secret.is_none() {
            tracing::info!(
                "no [query] session_secret: dashboard sessions end when this process does"
            );
        }
        let state = Arc::new(AppState {
            sessions: session::Sessions::new(&self.config.query),
            login_limit: login::login_limiter(),
            config: self.config,
            db,
            limits,
            now: self.now,
        });
        tracing::info!(listen = %listener.local_addr()?, "query service listening");
        let served = axum::serve(listener, routes::app(state))
            .with_graceful_shutdown(shutdown)
            .await;
        stop.cancel();
        if let Some(job) = job {
            let _ = job.await;
        }
        served?;
        Ok(())
    }
}

/// Runs the materializer every `[query] rollup_every_seconds` until `stop`.
async fn rollup_loop(config: Config, db: schema::Db, stop: tokio_util::sync::CancellationToken) {
    let sites: Vec<String> = config.site.iter().map(|s| s.domain.clone()).collect();
    let every = std::time::Duration::from_secs(config.query.rollup_every_seconds.into());
    let mut rollup = rollup::Rollup::default();
    loop {
        // A run is not interrupted half way: a generation is only read once
        // it is recorded whole, so stopping between statements is safe too.
        match rollup.run_once(&db, &sites).await {
            Ok(report) if report != rollup::RunReport::default() => {
                tracing::info!(
                    new = report.new_hours,
                    redone = report.redone_hours,
                    "visits materialized"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "materializing visits failed; reports build them instead")
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
