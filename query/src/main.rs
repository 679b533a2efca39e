//! `query --config FILE`: the reporting service. For now it checks its
//! storage contract and serves health endpoints; the Stats API comes next.

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(version, about = "Analytics reporting service")]
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
    let db = schema::connect(&config.clickhouse).await?;
    // The query service reads what the collector writes: refuse to start
    // against a schema it does not understand.
    schema::migrate::verify(&db)
        .await
        .context("the ClickHouse schema is missing or different; run `schema migrate`")?;
    let listener = tokio::net::TcpListener::bind(config.query.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, "query service listening");
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(db);
    axum::serve(listener, app)
        .with_graceful_shutdown(schema::runtime::terminated())
        .await?;
    Ok(())
}

async fn readyz(State(db): State<schema::Db>) -> (StatusCode, &'static str) {
    match db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "clickhouse unreachable"),
    }
}
