//! Connecting to ClickHouse: server version detection, the client settings
//! that version needs, and the one error type for storage failures.

use crate::config::ClickHouseConfig;
use clickhouse::Client;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long any one query may take before it counts as failed. The crate
/// sets no timeout of its own, so a stalled server would otherwise block
/// the writer, readiness checks and shutdown indefinitely.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("clickhouse at {url}: {source}")]
    Unreachable {
        url: String,
        source: clickhouse::error::Error,
    },
    #[error("clickhouse: {0}")]
    Query(#[from] clickhouse::error::Error),
    #[error("clickhouse did not answer within {0:?}")]
    Timeout(Duration),
    #[error("clickhouse returned something unexpected: {0}")]
    Unexpected(String),
    #[error("a deletion in `{table}` was not finished after {waited:?}; it goes on in the server (see system.mutations)")]
    MutationUnfinished { table: String, waited: Duration },
    #[error("table `{table}` does not match the code: {detail}")]
    SchemaMismatch { table: String, detail: String },
    #[error("migration {version} ({name}) failed in statement {statement}: {source}")]
    Migration {
        version: u32,
        name: String,
        statement: usize,
        source: clickhouse::error::Error,
    },
}

/// `(major, minor)` of the server, e.g. `(18, 16)` or `(24, 8)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion(pub u32, pub u32);

impl ServerVersion {
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self(major, minor))
    }

    /// The `clickhouse` crate validates rows with `RowBinaryWithNamesAndTypes`
    /// and the `describe_include_subcolumns` setting; old servers (18.16)
    /// reject both, so validation is switched off there and replaced by our
    /// own start-up table check.
    pub fn supports_crate_validation(self) -> bool {
        self >= Self(22, 0)
    }

    /// Whether the server knows `exact_rows_before_limit` (22.8 and later).
    /// Those releases stop counting `rows_before_limit_at_least` once a
    /// `LIMIT` is filled unless it is set; 18.16 always counts every row, and
    /// refuses the unknown setting.
    pub fn needs_exact_rows_before_limit(self) -> bool {
        self >= Self(22, 8)
    }

    /// Table TTLs that can be changed without rewriting the table
    /// (`materialize_ttl_after_modify = 0`, 21.1 and later). 18.16 has no TTL.
    pub fn supports_table_ttl(self) -> bool {
        self >= Self(21, 1)
    }
}

/// A connection to one database, with the server version it was set up for.
#[derive(Clone)]
pub struct Db {
    client: Client,
    database: String,
    version: ServerVersion,
    /// What it was connected with, so that cluster mode can reach the
    /// other hosts with the same credentials (see [`crate::cluster`]).
    config: Arc<ClickHouseConfig>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("database", &self.database)
            .field("version", &self.version)
            .field("cluster", &self.config.cluster)
            .finish()
    }
}

/// Connects, asks the server for its version and returns a client set up for
/// it. Does not create the database: see [`crate::migrate`].
pub async fn connect(config: &ClickHouseConfig) -> Result<Db, DbError> {
    let base = base_client(config);
    let probe = base.clone().with_validation(false);
    let version: String = within(QUERY_TIMEOUT, async {
        probe
            .query("SELECT version()")
            .fetch_one()
            .await
            .map_err(|source| DbError::Unreachable {
                url: config.url.clone(),
                source,
            })
    })
    .await?;
    let version = ServerVersion::parse(&version).unwrap_or(ServerVersion(0, 0));
    let mut client = base
        .with_validation(version.supports_crate_validation())
        .with_database(&config.database);
    if config.cluster.is_some() {
        // An insert into a `Distributed` table returns once every shard has
        // stored its rows, not when they are queued on this host's disk:
        // what was just written (a salt offer, a batch) reads back at once,
        // and a failed insert is one the writer knows to retry.
        client = client.with_setting("insert_distributed_sync", "1");
    }
    Ok(Db {
        client,
        database: config.database.clone(),
        version,
        config: Arc::new(config.clone()),
    })
}

fn base_client(config: &ClickHouseConfig) -> Client {
    let mut client = Client::default().with_url(&config.url);
    if let Some(user) = &config.user {
        client = client.with_user(user);
    }
    if let Some(password) = &config.password {
        client = client.with_password(password);
    }
    client
}

/// Statements go to the server as written (`query_raw`): callers build SQL
/// with values already escaped, and the crate's `query` would take any `?`
/// in those values for a bind placeholder. Bind with `client().query()`.
impl Db {
    /// A client whose default database is the configured one.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn version(&self) -> ServerVersion {
        self.version
    }

    /// The settings this handle was connected with.
    pub fn config(&self) -> &ClickHouseConfig {
        &self.config
    }

    /// The same server with `system` as the default database, for reads of
    /// server metadata before the configured database exists.
    pub fn in_system(&self) -> Db {
        Db {
            client: self.client.clone().with_database("system"),
            database: "system".into(),
            ..self.clone()
        }
    }

    /// The cluster of cluster mode (`[clickhouse] cluster`), if any.
    pub fn cluster(&self) -> Option<&str> {
        self.config.cluster.as_deref()
    }

    /// Runs one statement that returns nothing.
    pub async fn execute(&self, sql: &str) -> Result<(), DbError> {
        within(QUERY_TIMEOUT, async {
            Ok(self.client.query_raw(sql).execute().await?)
        })
        .await
    }

    /// Runs one statement that returns nothing, with query-level settings.
    pub async fn execute_with(&self, sql: &str, settings: &[(&str, &str)]) -> Result<(), DbError> {
        within(QUERY_TIMEOUT, async {
            let mut query = self.client.query_raw(sql);
            for (name, value) in settings {
                query = query.with_setting(*name, *value);
            }
            Ok(query.execute().await?)
        })
        .await
    }

    /// Fetches a query's result as TabSeparated text, for small metadata reads.
    pub async fn fetch_tsv(&self, sql: &str) -> Result<String, DbError> {
        within(QUERY_TIMEOUT, async {
            let mut cursor = self.client.query_raw(sql).fetch_bytes("TabSeparated")?;
            let bytes = cursor.collect().await?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        })
        .await
    }

    /// Fetches a query's result as rows of unescaped TabSeparated fields.
    pub async fn fetch_rows(&self, sql: &str) -> Result<Vec<Vec<String>>, DbError> {
        let text = self.fetch_tsv(sql).await?;
        Ok(text
            .lines()
            .map(|line| line.split('\t').map(unescape_tsv).collect())
            .collect())
    }

    /// Cheap liveness probe for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.fetch_tsv("SELECT 1").await.map(drop)
    }
}

/// Runs `work`, failing with [`DbError::Timeout`] if it takes longer than `limit`.
pub async fn within<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or(Err(DbError::Timeout(limit)))
}

/// Undoes TabSeparated escaping (`\\`, `\t`, `\n`, `\'` and friends).
pub fn unescape_tsv(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_fields_are_unescaped() {
        assert_eq!(unescape_tsv("DateTime(\\'UTC\\')"), "DateTime('UTC')");
        assert_eq!(unescape_tsv("a\\tb\\\\c\\n"), "a\tb\\c\n");
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(ServerVersion::parse("18.16.1"), Some(ServerVersion(18, 16)));
        assert_eq!(
            ServerVersion::parse("24.8.4.13\n"),
            Some(ServerVersion(24, 8))
        );
        assert_eq!(ServerVersion::parse("garbage"), None);
        assert!(!ServerVersion(18, 16).supports_crate_validation());
        assert!(ServerVersion(24, 3).supports_crate_validation());
        assert!(!ServerVersion(18, 16).needs_exact_rows_before_limit());
        assert!(!ServerVersion(22, 3).needs_exact_rows_before_limit());
        assert!(ServerVersion(22, 8).needs_exact_rows_before_limit());
        assert!(ServerVersion(26, 9).needs_exact_rows_before_limit());
        assert!(!ServerVersion(18, 16).supports_table_ttl());
        assert!(!ServerVersion(20, 8).supports_table_ttl());
        assert!(ServerVersion(21, 1).supports_table_ttl());
        assert!(ServerVersion(24, 8).supports_table_ttl());
    }
}
