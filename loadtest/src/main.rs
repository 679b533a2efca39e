//! `loadtest`: parses flags and calls the library. See `loadtest --help`.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use loadtest::bench_report::{self, BenchInputs, CpuSeconds};
use loadtest::demo::{self, DemoConfig};
use loadtest::{Options, Report, VerifyOptions, WorkloadConfig};
use std::path::PathBuf;
use std::time::Duration;

// The same allocator as the collector, so the ceiling server is comparable.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Seeded, bounded load for the collector's /api/event, and a bare hyper ceiling server",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve `202 ok` to every request (after reading its body) until
    /// stopped: the machine's ceiling for the same load.
    Ceiling {
        /// Where to listen; the chosen address is printed.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Stop by itself after this many seconds.
        #[arg(long, default_value_t = 3600)]
        exit_after: u64,
    },
    /// Send a month of a demo site's traffic through the collector's
    /// `POST /api/import` (for `scripts/up --demo`).
    Demo {
        /// The collector's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        target: String,
        /// A file holding an admin editor's token.
        #[arg(long)]
        token_file: PathBuf,
        /// The demo site's domain, as configured in `[[site]]`.
        #[arg(long, default_value = "demo.example")]
        site: String,
        /// Whole days of traffic, ending yesterday (UTC).
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Visitors on an ordinary weekday.
        #[arg(long, default_value_t = 100)]
        visitors_per_day: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Allow a target that is not on loopback.
        #[arg(long)]
        allow_remote: bool,
    },
    /// Write the tiny GeoIP database the demo's visitor addresses are in.
    DemoGeoip {
        /// Where to write the `.mmdb` file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write target/bench/ingest-scaling.md and ingest-scaling.svg from the
    /// pinned core-count matrix's manifest (see `scripts/bench-ingest`).
    BenchScaling {
        /// The tab-separated manifest of runs.
        #[arg(long)]
        runs: PathBuf,
        /// The command line to quote in the fragment.
        #[arg(long)]
        command: String,
        #[arg(long, default_value = "target/bench")]
        out_dir: PathBuf,
    },
    /// Write target/bench/ingest.md and ingest.svg from two `--json` reports.
    BenchReport {
        #[arg(long)]
        collector: PathBuf,
        #[arg(long)]
        ceiling: PathBuf,
        /// The collector's peak RSS (VmHWM) in KiB.
        #[arg(long)]
        rss_kib: Option<u64>,
        /// CPU seconds the collector process spent in its measured run.
        #[arg(long, requires = "ceiling_cpu_s")]
        collector_cpu_s: Option<f64>,
        /// CPU seconds the ceiling process spent in its measured run.
        #[arg(long, requires = "collector_cpu_s")]
        ceiling_cpu_s: Option<f64>,
        /// The command line to quote in the fragment.
        #[arg(long)]
        command: String,
        #[arg(long, default_value = "target/bench")]
        out_dir: PathBuf,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The collector's base URL.
    #[arg(long, env = "LOADTEST_TARGET", default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Persistent connections; closed-loop, the requests in flight.
    #[arg(long, env = "LOADTEST_CONNECTIONS", default_value_t = 64)]
    connections: usize,
    /// Open-loop: this many requests per second, whatever the answers.
    #[arg(long, env = "LOADTEST_RATE")]
    rate: Option<f64>,
    /// Stop after this many seconds.
    #[arg(long, env = "LOADTEST_DURATION")]
    duration: Option<f64>,
    /// Stop after this many requests. Without --duration: 1000.
    #[arg(long, env = "LOADTEST_COUNT")]
    count: Option<u64>,
    /// Comma-separated site domains, as configured in the collector.
    #[arg(
        long,
        env = "LOADTEST_SITES",
        value_delimiter = ',',
        default_value = "example.com"
    )]
    sites: Vec<String>,
    /// The same seed draws the same traffic.
    #[arg(long, env = "LOADTEST_SEED", default_value_t = 1)]
    seed: u64,
    /// Distinct visitors (client address and browser).
    #[arg(long, default_value_t = 20_000)]
    visitors: usize,
    /// Distinct pages per site (Zipf-distributed).
    #[arg(long, default_value_t = 2_000)]
    paths: u64,
    /// Allow a target (or ClickHouse) that is not on loopback.
    #[arg(long)]
    allow_remote: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Afterwards, wait until ClickHouse stored exactly the accepted beacons.
    #[arg(long, requires = "clickhouse_url")]
    verify: bool,
    /// ClickHouse's HTTP interface, for --verify.
    #[arg(long, env = "CLICKHOUSE_URL")]
    clickhouse_url: Option<String>,
    /// The collector's database, for --verify.
    #[arg(long, env = "CLICKHOUSE_DATABASE", default_value = "analytics")]
    database: String,
    /// Seconds to wait for the rows when verifying.
    #[arg(long, default_value_t = 60.0)]
    verify_timeout: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Ceiling { listen, exit_after }) => {
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("ceiling listening on {}", listener.local_addr()?);
            let stop = async move {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate() => {}
                    _ = tokio::time::sleep(Duration::from_secs(exit_after)) => {}
                }
            };
            loadtest::ceiling::serve(listener, stop).await;
            Ok(())
        }
        Some(Command::Demo {
            target,
            token_file,
            site,
            days,
            visitors_per_day,
            seed,
            allow_remote,
        }) => {
            let url = url::Url::parse(&target).with_context(|| format!("--target {target}"))?;
            loadtest::resolve(&url, allow_remote).await?;
            let token = std::fs::read_to_string(&token_file)
                .with_context(|| format!("reading {}", token_file.display()))?;
            let config = DemoConfig {
                seed,
                site,
                days,
                visitors_per_day,
                today: chrono::Utc::now().timestamp().div_euclid(86_400),
            };
            let lines = demo::lines(&config);
            let imported = demo::import(&target, token.trim(), &lines).await?;
            println!(
                "demo: {} events of {} sent to {}: {} accepted, {} dropped, {} invalid",
                lines.len(),
                demo::span(&config),
                config.site,
                imported.accepted,
                imported.dropped,
                imported.invalid
            );
            Ok(())
        }
        Some(Command::DemoGeoip { out }) => demo::write_geoip(&out),
        Some(Command::BenchReport {
            collector,
            ceiling,
            rss_kib,
            collector_cpu_s,
            ceiling_cpu_s,
            command,
            out_dir,
        }) => {
            let inputs = BenchInputs {
                collector: read_report(&collector)?,
                ceiling: read_report(&ceiling)?,
                collector_peak_rss_kib: rss_kib,
                cpu_seconds: collector_cpu_s
                    .zip(ceiling_cpu_s)
                    .map(|(collector, ceiling)| CpuSeconds { collector, ceiling }),
                command,
                out_dir,
            };
            print!("{}", bench_report::write(&inputs)?);
            Ok(())
        }
        Some(Command::BenchScaling {
            runs,
            command,
            out_dir,
        }) => {
            let runs = loadtest::scaling::read_runs(&runs)?;
            print!("{}", loadtest::scaling::write(&runs, &command, &out_dir)?);
            Ok(())
        }
        None => {
            let json = cli.run.json;
            let report = loadtest::run(options(cli.run)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            if !report.ok() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

fn options(args: RunArgs) -> Options {
    let count = match (args.count, args.duration) {
        (None, None) => Some(1_000),
        (count, _) => count,
    };
    Options {
        target: args.target,
        connections: args.connections,
        rate: args.rate,
        duration: args.duration.map(Duration::from_secs_f64),
        count,
        allow_remote: args.allow_remote,
        workload: WorkloadConfig {
            seed: args.seed,
            sites: args.sites,
            visitors: args.visitors,
            paths: args.paths,
            ..WorkloadConfig::default()
        },
        progress: !args.quiet && !args.json,
        verify: args.verify.then(|| VerifyOptions {
            clickhouse_url: args.clickhouse_url.unwrap_or_default(),
            database: args.database,
            timeout: Duration::from_secs_f64(args.verify_timeout),
        }),
        ..Options::default()
    }
}

fn read_report(path: &std::path::Path) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
