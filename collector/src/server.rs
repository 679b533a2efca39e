//! Start-up and shutdown: connect and migrate, load the day's salt, start
//! the writer, serve (on the public listener and, with `admin_listen`, the
//! admin one), then stop in order (stop accepting on both, finish requests,
//! drain the queue into ClickHouse).

use crate::clock::{Clock, SystemClock};
use crate::delivery::batcher::{self, BatchConfig};
use crate::delivery::dead_letter::DeadLetters;
use crate::delivery::sink::ClickHouseSink;
use crate::delivery::spool::Spool;
use crate::delivery::spool_writer::SpoolWriter;
use crate::enrich::Enricher;
use crate::http::connection::Connection;
use crate::http::import;
use crate::http::routes::{self, Surface};
use crate::http::tracker::TrackerScript;
use crate::jobs::retention::{self, RetentionSchedule};
use crate::jobs::{page_view_expiry, rate_limit_clean_up, salt_rotation};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::privacy::salt::SaltStore;
use crate::state::AppState;
use anyhow::Context;
use schema::config::Durability;
use schema::listener::{self, Limits};
use schema::Config;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the GeoIP file is checked for a replacement (SIGHUP also reloads).
const GEOIP_CHECK_EVERY: Duration = Duration::from_secs(10);

/// How often rate limiters forget visitors whose allowance has recovered.
const RATE_LIMIT_CLEAN_UP_EVERY: Duration = Duration::from_secs(60);
/// How often expired page views are forgotten (and the gauge updated).
const PAGE_VIEW_EXPIRY_EVERY: Duration = Duration::from_secs(60);

/// How long in-flight requests may take to finish after a stop signal.
const DRAIN_REQUESTS_FOR: Duration = Duration::from_secs(10);

/// Runs a collector with the system clock until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    Collector::new(config).run(listener, shutdown).await
}

/// A collector to run; tests swap the clock and the salt refresh period.
pub struct Collector {
    config: Config,
    /// Bound by the caller; else `run` binds `collector.admin_listen`, if set.
    admin_listener: Option<TcpListener>,
    clock: Arc<dyn Clock>,
    salt_refresh: Duration,
    geoip_check: Duration,
    import_wait: Duration,
    retention: RetentionSchedule,
}

impl Collector {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            admin_listener: None,
            clock: Arc::new(SystemClock),
            salt_refresh: Duration::from_secs(30),
            geoip_check: GEOIP_CHECK_EVERY,
            import_wait: import::DEFAULT_IMPORT_WAIT,
            retention: RetentionSchedule::default(),
        }
    }

    /// Serves `/metrics` and `/readyz` on this listener (bound by the
    /// caller, as the public one is), and not on the public one.
    pub fn with_admin_listener(mut self, listener: TcpListener) -> Self {
        self.admin_listener = Some(listener);
        self
    }

    /// When the retention job runs.
    pub fn with_retention(mut self, schedule: RetentionSchedule) -> Self {
        self.retention = schedule;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How often salts are re-read (day change, agreement with other collectors).
    pub fn with_salt_refresh(mut self, every: Duration) -> Self {
        self.salt_refresh = every;
        self
    }

    /// How often the GeoIP file is checked for a replacement.
    pub fn with_geoip_check(mut self, every: Duration) -> Self {
        self.geoip_check = every;
        self
    }

    /// How long an import waits for room in the queue or spool before it
    /// stops with 503.
    pub fn with_import_wait(mut self, wait: Duration) -> Self {
        self.import_wait = wait;
        self
    }

    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Everything that can fail comes before any task is spawned.
        let config = Arc::new(self.config);
        let pipeline = Pipeline::new(config.clone(), Enricher::from_config(&config.collector)?)?;
        let db = schema::connect(&config.clickhouse).await?;
        schema::migrate::migrate(&db)
            .await
            .context("migrating the ClickHouse schema")?;
        let salts = SaltStore::open(db.clone(), self.clock.clone())
            .await
            .context("loading the day's salt")?;
        let admin = match (self.admin_listener, config.collector.admin_listen) {
            (Some(listener), _) => Some(listener),
            (None, Some(addr)) => Some(bind_admin(addr).await?),
            (None, None) => None,
        };

        let stop = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let (queue, writer) = batcher::spawn(
            ClickHouseSink::new(db.clone(), &config.clickhouse.url),
            batch_config(&config),
            metrics.clone(),
            stop.clone(),
        );
        let rotation = salt_rotation::spawn(salts.clone(), self.salt_refresh, stop.clone());
        let limits_clean_up = rate_limit_clean_up::spawn(
            pipeline.rate_limits().clone(),
            RATE_LIMIT_CLEAN_UP_EVERY,
            stop.clone(),
        );
        let page_view_expiry = page_view_expiry::spawn(
            page_view_expiry::Expiry {
                page_views: pipeline.page_views().clone(),
                clock: self.clock.clone(),
                metrics: metrics.clone(),
            },
            PAGE_VIEW_EXPIRY_EVERY,
            stop.clone(),
        );
        let geo_watcher = pipeline
            .enricher()
            .geo()
            .clone()
            .spawn_watcher(self.geoip_check, stop.clone());
        let retention = retention::spawn(
            config.clone(),
            self.clock.clone(),
            self.retention,
            stop.clone(),
        );
        let spooling = match config.collector.durability {
            Durability::Spool => Some(start_spool(&config, &db, &metrics, &stop)?),
            Durability::Memory => None,
        };
        let (spool, spool_tasks) = spooling.unzip();
        let tracker = TrackerScript::new(&config.collector.optout_cookie);
        let state = Arc::new(AppState {
            spool,
            pipeline,
            config,
            db,
            salts,
            queue,
            metrics,
            clock: self.clock.clone(),
            stopping: CancellationToken::new(),
            import_wait: self.import_wait,
            tracker,
            started_at: self.clock.now(),
        });
        serve(listener, admin, state, shutdown).await?;
        stop.cancel();
        writer.await.context("batch writer")?;
        rotation.await.context("salt rotation")?;
        geo_watcher.await.context("geoip watcher")?;
        if let Some((appender, spool_writer)) = spool_tasks {
            appender.await.context("spool appender")?;
            spool_writer.await.context("spool writer")?;
        }
        limits_clean_up.await.context("rate-limit clean-up")?;
        page_view_expiry.await.context("page-view expiry")?;
        retention.await.context("retention job")?;
        tracing::info!("collector stopped");
        Ok(())
    }
}

/// Binds `collector.admin_listen` for a caller that did not.
async fn bind_admin(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding collector.admin_listen {addr}"))?;
    tracing::info!(admin_listen = %listener.local_addr()?, "collector admin endpoints listening");
    Ok(listener)
}

type SpoolTasks = (JoinHandle<()>, JoinHandle<()>);

/// Opens the spool (queueing what a previous run left) and starts its
/// appender and writer.
fn start_spool(
    config: &Config,
    db: &schema::Db,
    metrics: &Arc<Metrics>,
    stop: &CancellationToken,
) -> anyhow::Result<(Spool, SpoolTasks)> {
    let c = &config.collector;
    let (sealed_tx, sealed_rx) = tokio::sync::mpsc::unbounded_channel();
    let (spool, appender) = Spool::open(
        &c.spool_dir,
        c.spool_max_bytes,
        sealed_tx,
        metrics,
        stop.clone(),
    )
    .with_context(|| format!("collector.spool_dir: {}", c.spool_dir.display()))?;
    let writer = SpoolWriter {
        sink: ClickHouseSink::new(db.clone(), &config.clickhouse.url),
        spool: spool.clone(),
        metrics: metrics.clone(),
        dead_letters: Arc::new(DeadLetters::new(&c.dead_letter_dir)),
        stop: stop.clone(),
    }
    .spawn(sealed_rx);
    Ok((spool, (appender, writer)))
}

fn batch_config(config: &Config) -> BatchConfig {
    let c = &config.collector;
    BatchConfig {
        max_rows: c.batch_max_rows,
        max_age: Duration::from_millis(c.batch_max_age_ms),
        capacity: c.queue_capacity,
        max_bytes: c.queue_max_bytes,
        dead_letters: Some(Arc::new(DeadLetters::new(&c.dead_letter_dir))),
        ..BatchConfig::default()
    }
}

/// Serves until `shutdown`, then lets in-flight requests finish for a
/// bounded time. With an admin listener, both serve (each with its own
/// connection limit of the same size) and both drain before this returns.
async fn serve(
    listener: TcpListener,
    admin: Option<TcpListener>,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let stop = state.stopping.clone();
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal.cancel();
    });
    let c = &state.config.collector;
    let limits = Limits {
        max_connections: c.max_connections,
        header_read_timeout: Duration::from_millis(c.header_read_timeout_ms),
        drain_for: DRAIN_REQUESTS_FOR,
    };
    let Some(admin) = admin else {
        serve_public(listener, &state, Surface::All, limits, stop).await;
        return Ok(());
    };
    let operator = routes::router(state.clone(), Surface::Admin);
    tokio::join!(
        serve_public(
            listener,
            &state,
            Surface::Public,
            limits.clone(),
            stop.clone()
        ),
        listener::serve(admin, operator, limits, stop),
    );
    Ok(())
}

/// The public listener: beacons straight to their handler, the rest of
/// `surface` through the router (see [`crate::http::connection`]).
async fn serve_public(
    listener: TcpListener,
    state: &Arc<AppState>,
    surface: Surface,
    limits: Limits,
    stop: CancellationToken,
) {
    let router = routes::router(state.clone(), surface);
    let state = state.clone();
    let per_connection = move |peer| Connection::new(state.clone(), router.clone(), peer);
    listener::serve_with(listener, per_connection, limits, stop).await;
}
