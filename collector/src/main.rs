//! `collector --config FILE`: parses flags, sets up logging, binds, runs.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "Privacy-preserving first-party analytics collector")]
struct Args {
    /// The shared TOML config file.
    #[arg(long, env = "ANALYTICS_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = schema::Config::load(&args.config)?;
    let listener = tokio::net::TcpListener::bind(config.collector.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "collector listening");
    collector::run(config, listener, terminated()).await
}

/// SIGINT or SIGTERM.
async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stop signal received");
}
