//! `query --config FILE`: parses flags, sets up logging, binds, runs.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "Analytics reporting service (Plausible-compatible Stats API)"
)]
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
    let listener = tokio::net::TcpListener::bind(config.query.listen).await?;
    query::run(config, listener, schema::runtime::terminated()).await
}
