//! The reporting service: a Plausible-compatible Stats API (v2) over the
//! events the collector stores, with visits built at query time (see
//! [`visits`]).

pub mod dates;
pub mod error;
pub mod report;
pub mod request;
pub mod response;
pub mod routes;
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

/// A query service to run; tests pin its clock.
pub struct QueryService {
    config: Config,
    now: Box<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl QueryService {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            now: Box::new(Utc::now),
        }
    }

    /// Makes "today" and "realtime" relative to `now()` instead of the clock.
    pub fn with_now(mut self, now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.now = Box::new(now);
        self
    }

    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
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
        let state = Arc::new(AppState {
            config: self.config,
            db,
            limits,
            now: self.now,
        });
        tracing::info!(listen = %listener.local_addr()?, "query service listening");
        axum::serve(listener, routes::app(state))
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}
