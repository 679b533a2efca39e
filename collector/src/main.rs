//! `collector --config FILE`: parses flags, sets up logging, binds, runs.

use clap::Parser;
use std::path::PathBuf;

// Small, short-lived allocations dominate the request path; mimalloc
// serves them markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "Privacy-preserving first-party analytics collector")]
struct Args {
    /// The shared TOML config file.
    #[arg(long, env = "ANALYTICS_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    schema::runtime::init_logging();
    let args = Args::parse();
    let config = schema::Config::load(&args.config)?;
    let listener = tokio::net::TcpListener::bind(config.collector.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "collector listening");
    collector::run(config, listener, schema::runtime::terminated()).await
}
