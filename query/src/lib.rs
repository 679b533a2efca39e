//! The reporting service: a Plausible-compatible Stats API (v2) over the
//! events the collector stores, and the editors' dashboard on top of it
//! ([`http::dashboard`]).
//!
//! # How a report request becomes SQL
//! The folders follow a request down and back up:
//! 1. [`http`]: the shared listener ([`schema::listener`]) bounds
//!    connections and headers, [`http::body`] reads the body within its
//!    bounds, and the route table ([`http::routes`]) hands
//!    `POST /api/v2/query` to its handler ([`http::stats`]), which drives
//!    the steps below.
//! 2. [`auth`]: who is asking (bearer token or session cookie, with the
//!    cross-site checks and the per-network limit on refused tokens), and
//!    whether that editor may read the site; then [`http::admission`]
//!    gives the report one of the editor's and the service's places.
//! 3. [`api`]: the body parsed into a checked [`api::request::Query`]
//!    ([`api::parse`]), and its `date_range` resolved in the site's time
//!    zone ([`api::dates`]).
//! 4. [`sql::plan`]: the query, resolved range, clock and the materialized
//!    visits it may read, which is all the SQL is written from.
//! 5. [`sql::visits`] / [`sql::rollups`]: [`sql::report`] answers from
//!    rolled-up totals when they hold the answer exactly, else from events
//!    ([`sql::events`]), grouped into visits at query time when needed.
//! 6. ClickHouse: [`sql::clickhouse`] runs the SQL read-only under the
//!    time, memory and row-read limits of `[query]`.
//! 7. [`api::response`]: the raw numbers become metrics, written as
//!    Plausible's JSON or as CSV.
//!
//! In the background, [`jobs`] materializes visits and their totals hour
//! by hour (the statements are in [`sql::materialize`]), which step 5
//! reads. [`state`] is what handlers share, and [`error`] the one error
//! type and its HTTP status (internal detail goes to the log under a
//! request id, never to the caller).

pub mod api;
pub mod auth;
pub mod error;
pub mod http;
pub mod jobs;
pub mod sql;
pub mod state;

use anyhow::Context;
use chrono::{DateTime, Utc};
use schema::Config;
use state::AppState;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
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
        let limits = sql::clickhouse::Limits {
            seconds: self.config.query.max_query_seconds,
            memory_bytes: u64::from(self.config.query.max_query_memory_mib) << 20,
            rows_to_read: self.config.query.max_query_rows_to_read,
        };
        let q = &self.config.query;
        let listen_limits = schema::listener::Limits {
            max_connections: q.max_connections,
            header_read_timeout: Duration::from_millis(q.header_read_timeout_ms),
            // A report in flight ends within ClickHouse's time limit (and
            // the few seconds more `fetch_json` waits).
            drain_for: Duration::from_secs(u64::from(q.max_query_seconds) + 10),
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let job = (self.config.query.rollups && self.rollup_job).then(|| {
            let materializer =
                jobs::rollup::run_until(self.config.clone(), db.clone(), stop.clone());
            tokio::spawn(materializer)
        });
        if self.config.query.session_secret.is_none() {
            tracing::info!(
                "no [query] session_secret: dashboard sessions end when this process does"
            );
        }
        let state = Arc::new(AppState {
            sessions: auth::session::Sessions::new(&self.config.query),
            login_throttle: http::login::login_throttle(),
            token_failures: http::login::token_failure_throttle(),
            admission: http::admission::Admission::new(&self.config),
            config: self.config,
            db,
            limits,
            now: self.now,
        });
        tracing::info!(listen = %listener.local_addr()?, "query service listening");
        let stopping = tokio_util::sync::CancellationToken::new();
        let signal = stopping.clone();
        tokio::spawn(async move {
            shutdown.await;
            signal.cancel();
        });
        schema::listener::serve(listener, http::routes::app(state), listen_limits, stopping).await;
        stop.cancel();
        if let Some(job) = job {
            let _ = job.await;
        }
        Ok(())
    }
}
