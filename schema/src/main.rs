//! `schema`: operator commands for the shared ClickHouse schema.

use anyhow::Context;
use clap::{Parser, Subcommand};
use schema::local_server::{LocalServer, LocalServerOptions};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "Schema and storage commands for the analytics services"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database and apply every pending migration.
    Migrate {
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
    /// Run a private clickhouse-server on loopback until interrupted.
    LocalServer {
        /// Data directory; kept across runs.
        #[arg(long, default_value = "var/clickhouse")]
        dir: PathBuf,
        /// HTTP port; a free one when omitted.
        #[arg(long)]
        http_port: Option<u16>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    schema::runtime::init_logging();
    match Cli::parse().command {
        Command::Migrate { config } => migrate(config).await,
        Command::LocalServer { dir, http_port } => local_server(dir, http_port).await,
    }
}

async fn migrate(path: PathBuf) -> anyhow::Result<()> {
    let config = schema::Config::load(&path)?;
    let db = schema::connect(&config.clickhouse).await?;
    let applied = schema::migrate::migrate(&db).await?;
    // Salts older than yesterday must not outlive a stopped collector.
    let erased = schema::salts::erase_before(&db, today().saturating_sub(1)).await?;
    println!(
        "database `{}` on ClickHouse {}.{}: applied {:?}, schema verified, {} expired salt day(s) erased",
        db.database(),
        db.version().0,
        db.version().1,
        applied,
        erased.len()
    );
    Ok(())
}

/// Days since the Unix epoch, UTC.
fn today() -> u16 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u16::try_from(seconds / 86_400).unwrap_or(u16::MAX)
}

async fn local_server(dir: PathBuf, http_port: Option<u16>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let opts = LocalServerOptions {
        data_dir: Some(dir),
        http_port,
        ..LocalServerOptions::default()
    };
    // Started on the main thread on purpose: the server is tied to the thread
    // that spawned it (PDEATHSIG), and this one lives as long as the process.
    let mut server = LocalServer::start(opts)?;
    // The quickstart script reads this line to find the server.
    println!("clickhouse listening on {}", server.http_url());
    schema::runtime::terminated().await;
    server.stop();
    Ok(())
}
