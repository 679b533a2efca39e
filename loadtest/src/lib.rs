//! `loadtest`: a bounded, seeded load generator for the collector's
//! `POST /api/event`, and the instruments around it.
//!
//! - [`workload`] draws realistic beacons from a seed;
//! - [`driver`] sends them over persistent HTTP/1.1 connections, closed-loop
//!   (`--connections`) or open-loop (`--rate`), always bounded by a count or
//!   a duration;
//! - [`stats`] counts answers and latencies into a [`Report`];
//! - [`verify`] checks that ClickHouse stored exactly the accepted beacons;
//! - [`ceiling`] is the bare hyper server that measures the machine's limit;
//! - [`bench_report`] writes the benchmark's markdown fragment and chart.
//!
//! Targets must be on loopback unless `allow_remote` is set. The collector
//! must trust the load generator's address as a proxy
//! (`[collector] trusted_proxies`, which includes loopback by default), or
//! every beacon counts as one visitor at 127.0.0.1 and the visitor rate
//! limit drops most of them.

pub mod bench_report;
pub mod ceiling;
pub mod demo;
pub mod driver;
pub mod geoip;
pub mod scaling;
pub mod stats;
pub mod verify;
pub mod workload;

use anyhow::{bail, ensure, Context};
use driver::Plan;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stats::{RunInfo, Tally};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub use stats::Report;
pub use verify::VerifyOptions;
pub use workload::WorkloadConfig;

/// One run. `Default` sends 1,000 beacons on 64 connections to a local
/// collector.
#[derive(Debug, Clone)]
pub struct Options {
    /// The collector's base URL, e.g. `http://127.0.0.1:8080`.
    pub target: String,
    /// Persistent connections (closed-loop: requests in flight).
    pub connections: usize,
    /// Open-loop: requests per second, spread over the connections.
    pub rate: Option<f64>,
    /// Stop after this long ...
    pub duration: Option<Duration>,
    /// ... or after this many requests, whichever comes first.
    pub count: Option<u64>,
    pub allow_remote: bool,
    pub workload: WorkloadConfig,
    /// Distinct beacons drawn before the run and cycled through.
    pub pool: usize,
    /// A request without an answer after this long counts as an error.
    pub request_timeout: Duration,
    /// Show a progress bar on the terminal.
    pub progress: bool,
    /// Check ClickHouse for the accepted rows afterwards.
    pub verify: Option<VerifyOptions>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            target: "http://127.0.0.1:8080".into(),
            connections: 64,
            rate: None,
            duration: None,
            count: Some(1_000),
            allow_remote: false,
            workload: WorkloadConfig::default(),
            pool: 65_536,
            request_timeout: Duration::from_secs(10),
            progress: false,
            verify: None,
        }
    }
}

/// Runs the load as `options` say and returns its report (verified, if
/// asked). Fails only if the run cannot start; failed requests are counted.
pub async fn run(options: Options) -> anyhow::Result<Report> {
    ensure!(
        options.duration.is_some() || options.count.is_some(),
        "a run needs --duration or --count (or both)"
    );
    ensure!(options.connections > 0, "--connections must be at least 1");
    if let Some(rate) = options.rate {
        ensure!(rate > 0.0 && rate.is_finite(), "--rate must be positive");
    }
    let target = url::Url::parse(&options.target)
        .with_context(|| format!("--target {:?}", options.target))?;
    ensure!(target.scheme() == "http", "--target must be an http:// URL");
    let addr = resolve(&target, options.allow_remote).await?;
    let counter = match &options.verify {
        Some(v) => {
            let clickhouse = url::Url::parse(&v.clickhouse_url)
                .with_context(|| format!("--clickhouse-url {:?}", v.clickhouse_url))?;
            resolve(&clickhouse, options.allow_remote).await?;
            Some(verify::Counter::new(v.clone())?)
        }
        None => None,
    };
    let baseline = match &counter {
        Some(counter) => Some(
            counter
                .stored()
                .await
                .context("counting rows before the run")?,
        ),
        None => None,
    };

    let pool = workload::generate(&options.workload, options.pool.max(1));
    let host = target[url::Position::BeforeHost..url::Position::AfterPort].to_owned();
    let start = Instant::now();
    let far = start + Duration::from_secs(365 * 24 * 3600);
    let plan = Arc::new(Plan {
        addr,
        host: host.parse().context("the target's host")?,
        path: "/api/event".parse().expect("a path"),
        pool,
        next: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        count: options.count.unwrap_or(u64::MAX),
        start,
        deadline: options.duration.map_or(far, |d| start + d),
        rate: options.rate,
        request_timeout: options.request_timeout,
    });
    let progress = progress_bar(&options);
    let ticker = tokio::spawn(tick(plan.clone(), progress.clone()));
    let senders: Vec<_> = (0..options.connections)
        .map(|_| tokio::spawn(driver::sender(plan.clone(), progress.clone())))
        .collect();
    let mut tally = Tally::default();
    for sender in senders {
        tally.merge(sender.await.context("a sender task")?);
    }
    let elapsed = start.elapsed();
    ticker.abort();
    progress.finish_and_clear();

    let info = RunInfo {
        target: options.target.clone(),
        mode: if options.rate.is_some() {
            "open-loop"
        } else {
            "closed-loop"
        },
        connections: options.connections,
        rate: options.rate,
        seed: options.workload.seed,
        elapsed,
    };
    let mut report = Report::new(info, tally);
    if let (Some(counter), Some(baseline)) = (counter, baseline) {
        report.verification = Some(counter.wait_for(baseline, report.accepted).await?);
    }
    Ok(report)
}

/// The target's socket address; loopback only unless `allow_remote`.
pub async fn resolve(url: &url::Url, allow_remote: bool) -> anyhow::Result<SocketAddr> {
    let host = url.host_str().context("the URL has no host")?;
    let port = url.port_or_known_default().context("the URL has no port")?;
    let host = host.trim_matches(['[', ']']);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        bail!("{host} resolves to no address");
    };
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    ensure!(
        loopback || allow_remote,
        "{host} is not a loopback address; pass --allow-remote to load it"
    );
    Ok(first)
}

fn progress_bar(options: &Options) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(options.count, ProgressDrawTarget::stderr_with_hz(4));
    let template = match options.count {
        Some(_) => "{elapsed_precise} [{bar:30}] {pos}/{len} sent  {msg}",
        None => "{elapsed_precise} {pos} sent  {msg}",
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Updates the live rate a few times a second.
async fn tick(plan: Arc<Plan>, bar: ProgressBar) {
    let mut last = (Instant::now(), 0);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let finished = plan.finished.load(Ordering::Relaxed);
        let now = Instant::now();
        let rate = (finished - last.1) as f64 / (now - last.0).as_secs_f64();
        bar.set_position(finished);
        bar.set_message(format!("{rate:.0} req/s"));
        last = (now, finished);
    }
}
