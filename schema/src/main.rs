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
    /// Erase what is older than each site's `retention_days`.
    Retention {
        #[command(subcommand)]
        action: RetentionCommand,
    },
    /// Delete or export one site's stored data.
    Site {
        #[command(subcommand)]
        action: SiteCommand,
    },
    /// Import history from Google Analytics 4 or Plausible as daily totals.
    Import {
        #[command(subcommand)]
        action: ImportCommand,
    },
    /// Say in plain words what the services will do with a config, what
    /// ClickHouse and the disks report, and what looks wrong.
    Doctor {
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
    /// Check config files without starting anything.
    Config {
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Print the privacy statement of a site, generated from the config
    /// (and the GeoIP database it names): paste it into the site's policy.
    PrivacyStatement {
        /// The site's domain, as in its `[[site]]`.
        domain: String,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
        #[arg(long, value_enum, default_value = "markdown")]
        format: schema::privacy_statement::Format,
    },
    /// Make editor tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
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

#[derive(Subcommand)]
enum ImportCommand {
    /// Import GA4's BigQuery export: newline-delimited JSON (optionally
    /// .gz) or Parquet, one or more `events_YYYYMMDD` files.
    Ga4 {
        domain: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Stop at the first bad row instead of counting and skipping it.
        #[arg(long)]
        strict: bool,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
    /// Import Plausible CE's CSV export (the zip of imported_*.csv files).
    Plausible {
        domain: String,
        zip: PathBuf,
        #[arg(long)]
        strict: bool,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
    /// List a site's imports.
    List {
        domain: String,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
    /// Delete one import and all its totals.
    Delete {
        domain: String,
        id: u64,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate FILE and name every bad key at once; exit 1 if any. With
    /// --connect, also check that ClickHouse answers and is migrated.
    Check {
        file: PathBuf,
        #[arg(long)]
        connect: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new random token, once, and the `[[editor]]` block (with only
    /// the token's sha256) to paste into the config file.
    New {
        /// The editor's name, as logs and the dashboard show it.
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Comma-separated site domains this editor may read, or `*`.
        #[arg(long, value_delimiter = ',', required = true)]
        sites: Vec<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Viewer,
    Admin,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Run retention once now and report what it removed.
    Run {
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Erase every stored row of a site, in every table, and report the rows removed.
    Delete {
        /// The site's domain, exactly as stored (no wildcards).
        domain: String,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
    /// Write every stored event of a site to FILE: CSV with a header row,
    /// or Parquet if FILE ends in `.parquet`.
    Export {
        domain: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, env = "ANALYTICS_CONFIG")]
        config: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    schema::runtime::init_logging();
    match Cli::parse().command {
        Command::Migrate { config } => migrate(config).await,
        Command::Retention {
            action: RetentionCommand::Run { config },
        } => retention(config).await,
        Command::Site {
            action: SiteCommand::Delete { domain, config },
        } => delete_site(config, &domain).await,
        Command::Site {
            action:
                SiteCommand::Export {
                    domain,
                    out,
                    config,
                },
        } => export_site(config, &domain, &out).await,
        Command::Import { action } => import(action).await,
        Command::Doctor { config } => doctor(config).await,
        Command::Config {
            action: ConfigCommand::Check { file, connect },
        } => check_config(&file, connect).await,
        Command::Token {
            action: TokenCommand::New { name, role, sites },
        } => new_token(&name, role, sites),
        Command::PrivacyStatement {
            domain,
            config,
            format,
        } => privacy_statement(&config, &domain, format),
        Command::LocalServer { dir, http_port } => local_server(dir, http_port).await,
    }
}

async fn retention(path: PathBuf) -> anyhow::Result<()> {
    let config = schema::Config::load(&path)?;
    let hosts = schema::erase::hosts(&config).await?;
    let cutoffs = schema::retention::Cutoffs::for_config(&config, u32::from(today()));
    let report =
        schema::retention::enforce(&hosts, &cutoffs, schema::erase::DEFAULT_MUTATION_DEADLINE)
            .await?;
    print!("{report}");
    println!("retention: {} row(s) removed in all", report.rows());
    Ok(())
}

async fn delete_site(path: PathBuf, domain: &str) -> anyhow::Result<()> {
    let config = schema::Config::load(&path)?;
    if config.site(domain).is_some() {
        eprintln!(
            "note: `{domain}` is still a [[site]] of {}: new events of it will be stored again",
            path.display()
        );
    }
    let hosts = schema::erase::hosts(&config).await?;
    let report =
        schema::site_delete::delete_site(&hosts, domain, schema::erase::DEFAULT_MUTATION_DEADLINE)
            .await?;
    print!("{report}");
    println!("site `{domain}`: {} row(s) removed in all", report.rows());
    Ok(())
}

async fn export_site(path: PathBuf, domain: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let config = schema::Config::load(&path)?;
    let db = schema::connect(&config.clickhouse).await?;
    let rows = schema::export::export_site(&db, domain, out).await?;
    println!(
        "site `{domain}`: {rows} event(s) written to {}",
        out.display()
    );
    Ok(())
}

async fn import(action: ImportCommand) -> anyhow::Result<()> {
    use schema::import::{store, Format, Options};
    let (format, domain, files, strict, config) = match action {
        ImportCommand::Ga4 {
            domain,
            files,
            strict,
            config,
        } => (Format::Ga4, domain, files, strict, config),
        ImportCommand::Plausible {
            domain,
            zip,
            strict,
            config,
        } => (Format::Plausible, domain, vec![zip], strict, config),
        ImportCommand::List { domain, config } => {
            let config = schema::Config::load(&config)?;
            let db = schema::connect(&config.clickhouse).await?;
            let imports = store::list(&db, &domain).await?;
            if imports.is_empty() {
                println!("{domain}: no imports");
            }
            for i in imports {
                println!(
                    "{}\t{}\t{} to {} ({} days)\t{} rows read, {} skipped\t{}",
                    i.id,
                    i.format,
                    i.first_day,
                    i.last_day,
                    i.days,
                    i.rows_read,
                    i.rows_skipped,
                    i.files.join(", ")
                );
            }
            return Ok(());
        }
        ImportCommand::Delete { domain, id, config } => {
            let config = schema::Config::load(&config)?;
            let hosts = schema::erase::hosts(&config).await?;
            let rows = store::delete(
                &hosts,
                &domain,
                id,
                schema::erase::DEFAULT_MUTATION_DEADLINE,
            )
            .await?;
            println!("{domain}: import {id} deleted ({rows} daily total(s) removed)");
            return Ok(());
        }
    };
    let config = schema::Config::load(&config)?;
    if config.site(&domain).is_none() {
        eprintln!("note: `{domain}` is not a [[site]] of the config; its imports are stored but not shown");
    }
    let db = schema::connect(&config.clickhouse).await?;
    let opts = Options {
        strict,
        progress: true,
    };
    let summary = schema::import::import(&db, &domain, format, &files, opts).await?;
    print!("{summary}");
    Ok(())
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

async fn check_config(path: &std::path::Path, connect: bool) -> anyhow::Result<()> {
    // A file that does not parse (syntax, unknown keys, wrong types) stops
    // at its first error; values that parse are all checked.
    let config = schema::Config::load_unchecked(path)?;
    let problems = config.problems();
    for problem in &problems {
        eprintln!("{problem}");
    }
    anyhow::ensure!(
        problems.is_empty(),
        "{}: {} invalid value(s)",
        path.display(),
        problems.len()
    );
    if connect {
        let db = schema::connect(&config.clickhouse).await?;
        schema::migrate::verify(&db)
            .await
            .context("the schema is missing or not the latest; run `schema migrate`")?;
        println!(
            "{}: valid; ClickHouse {}.{} at {} answers and is migrated",
            path.display(),
            db.version().0,
            db.version().1,
            config.clickhouse.url
        );
    } else {
        println!("{}: valid", path.display());
    }
    Ok(())
}

async fn doctor(path: PathBuf) -> anyhow::Result<()> {
    let config = schema::Config::load(&path)?;
    println!("Config: {} (valid)", path.display());
    let report = schema::doctor::examine(&config, std::time::SystemTime::now()).await;
    print!("{}", report.text);
    Ok(())
}

fn privacy_statement(
    path: &std::path::Path,
    domain: &str,
    format: schema::privacy_statement::Format,
) -> anyhow::Result<()> {
    use schema::privacy_statement::{render, Facts, LocationDetail};
    let config = schema::Config::load(path)?;
    let location = LocationDetail::of_geoip_file(config.collector.geoip.as_deref())?;
    let facts = Facts::gather(&config, domain, location)?;
    if config.collector.public_url.is_none() {
        eprintln!(
            "note: collector.public_url is not set, so the opt-out link is relative \
             (`optout`); set it to make the link work where the statement is pasted"
        );
    }
    print!("{}", render(&facts, format));
    Ok(())
}

fn new_token(name: &str, role: RoleArg, sites: Vec<String>) -> anyhow::Result<()> {
    anyhow::ensure!(!name.trim().is_empty(), "NAME must not be empty");
    let sites: Vec<String> = sites.iter().map(|s| s.trim().to_owned()).collect();
    for site in &sites {
        anyhow::ensure!(
            site == "*" || schema::config::is_domain(site),
            "--sites: `{site}` is not a site domain such as example.com (or `*`)"
        );
    }
    let role = match role {
        RoleArg::Viewer => schema::config::Role::Viewer,
        RoleArg::Admin => schema::config::Role::Admin,
    };
    let new = schema::auth::NewEditor::generate(name, role, sites);
    println!("Token for {name} (shown once; hand it over privately, it is not stored anywhere):");
    println!();
    println!("  {}", new.token);
    println!();
    println!("Paste this into the config file, then restart the query service:");
    println!();
    print!("{}", new.config_block());
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
