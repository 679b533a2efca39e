//! The one place that removes stored rows: whole monthly partitions, and
//! delete mutations that return only once the server has applied them.
//!
//! Both take the list of hosts that hold the table's rows: one [`Db`] for a
//! single server, every shard's host in cluster mode (where `ALTER` on a
//! local table changes only that host). Retention and site deletion go
//! through here and nowhere else.
//!
//! Mutations are asynchronous: `ALTER TABLE ... DELETE` returns at once and
//! the server rewrites the parts in the background. A report of what was
//! removed is only true once `system.mutations` says the mutation is done,
//! so [`delete_rows`] waits for that, up to a deadline.

use crate::client::{connect, Db, DbError};
use crate::config::Config;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a mutation may take before the command reports it as unfinished.
pub const DEFAULT_MUTATION_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How often `system.mutations` is read while waiting.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// The hosts that hold the tables' rows: the one configured server, or in
/// cluster mode one host per shard, so that both functions below reach each
/// shard's local tables once. (A replicated table's mutation and dropped
/// partition reach the shard's other replicas through the keeper, and
/// counting every replica would count rows twice.)
pub async fn hosts(config: &Config) -> Result<Vec<Db>, DbError> {
    let db = connect(&config.clickhouse).await?;
    let mut shards = BTreeSet::new();
    Ok(crate::cluster::hosts(&db)
        .await?
        .into_iter()
        .filter(|host| shards.insert(host.shard))
        .map(|host| host.db)
        .collect())
}

/// Drops partition `month` (`YYYYMM`) of `table` on every host. Dropping a
/// partition that is not there is not an error, so collectors running this
/// at the same moment do no harm.
pub async fn drop_month(hosts: &[Db], table: &str, month: u32) -> Result<(), DbError> {
    for db in hosts {
        db.execute(&drop_month_sql(table, month)).await?;
    }
    tracing::info!(table, month, "partition dropped");
    Ok(())
}

/// Deletes the rows of `table` matching `predicate` (SQL) on every host and
/// waits until each host has applied the deletion, or `deadline` passed.
pub async fn delete_rows(
    hosts: &[Db],
    table: &str,
    predicate: &str,
    deadline: Duration,
) -> Result<(), DbError> {
    let mut started = Vec::with_capacity(hosts.len());
    for db in hosts {
        let before = mutation_ids(db, table).await?;
        db.execute(&delete_sql(table, predicate)).await?;
        started.push((db, before));
    }
    let until = tokio::time::Instant::now() + deadline;
    for (db, before) in started {
        wait_for_mutations(db, table, &before, until, deadline).await?;
    }
    tracing::info!(table, "rows deleted");
    Ok(())
}

/// The statement that drops a month of a monthly-partitioned table. Public,
/// like [`delete_sql`], so the statements can be checked on other servers.
pub fn drop_month_sql(table: &str, month: u32) -> String {
    format!("ALTER TABLE {table} DROP PARTITION {month}")
}

/// The delete mutation of the rows matching `predicate`.
pub fn delete_sql(table: &str, predicate: &str) -> String {
    format!("ALTER TABLE {table} DELETE WHERE {predicate}")
}

/// The ids of the table's mutations so far, to tell ours from older ones.
async fn mutation_ids(db: &Db, table: &str) -> Result<BTreeSet<String>, DbError> {
    let sql = format!(
        "SELECT mutation_id FROM system.mutations WHERE database = '{}' AND table = '{table}'",
        db.database()
    );
    Ok(db
        .fetch_tsv(&sql)
        .await?
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Waits until every mutation of `table` that is not in `before` is done.
/// That includes a mutation someone else started meanwhile, which is
/// harmless: it only makes the wait longer.
async fn wait_for_mutations(
    db: &Db,
    table: &str,
    before: &BTreeSet<String>,
    until: tokio::time::Instant,
    deadline: Duration,
) -> Result<(), DbError> {
    let sql = format!(
        "SELECT mutation_id FROM system.mutations WHERE database = '{}' AND table = '{table}' \
         AND is_done = 0",
        db.database()
    );
    loop {
        let pending = db.fetch_tsv(&sql).await?;
        if !pending.lines().any(|id| !before.contains(id)) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= until {
            return Err(DbError::MutationUnfinished {
                table: table.to_owned(),
                waited: deadline,
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
