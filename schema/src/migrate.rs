//! Versioned DDL under `schema/migrations/`, applied in order, once each,
//! and recorded in `schema_migrations`.
//!
//! Every statement can run again: tables use `IF NOT EXISTS`, and a column
//! addition is skipped when the column exists (18.16 has no `ADD COLUMN IF
//! NOT EXISTS`). Two services migrating at the same moment, or a migration
//! interrupted half way, converge on the same schema.
//!
//! In cluster mode (`[clickhouse] cluster`) each host is migrated in turn,
//! with the statements rewritten by [`crate::cluster_ddl`]: `ON CLUSTER`
//! DDL needs a keeper ("DDL background thread is not initialized" on 18.16
//! without one), while this works with or without. Each host keeps its own
//! `schema_migrations`, so an interrupted cluster migration resumes on the
//! hosts that missed a version.

use crate::client::{Db, DbError};
use crate::cluster;
use crate::cluster_ddl::{self, Layout};
use crate::event::{EventRow, SaltRow};
use crate::table_check;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// All migrations, oldest first. Append only: never edit a released one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events",
        sql: include_str!("../migrations/0001_events.sql"),
    },
    Migration {
        version: 2,
        name: "salts",
        sql: include_str!("../migrations/0002_salts.sql"),
    },
    Migration {
        version: 3,
        name: "enrichment",
        sql: include_str!("../migrations/0003_enrichment.sql"),
    },
    Migration {
        version: 4,
        name: "batch_id",
        sql: include_str!("../migrations/0004_batch_id.sql"),
    },
    Migration {
        version: 5,
        name: "prev_visitor_id",
        sql: include_str!("../migrations/0005_prev_visitor_id.sql"),
    },
    Migration {
        version: 6,
        name: "visit_rollup",
        sql: include_str!("../migrations/0006_visit_rollup.sql"),
    },
    Migration {
        version: 7,
        name: "visitor_sketch",
        sql: include_str!("../migrations/0007_visitor_sketch.sql"),
    },
    Migration {
        version: 8,
        name: "visits_by_source",
        sql: include_str!("../migrations/0008_visits_by_source.sql"),
    },
    Migration {
        version: 9,
        name: "engagement_visits",
        sql: include_str!("../migrations/0009_engagement_visits.sql"),
    },
    Migration {
        version: 10,
        name: "imports",
        sql: include_str!("../migrations/0010_imports.sql"),
    },
];

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
     (version UInt32, name String, applied_at DateTime DEFAULT now()) \
     ENGINE = MergeTree() ORDER BY version";

/// Creates the database if needed, applies what is missing (on every host
/// in cluster mode), then checks every row struct against its table.
/// Returns the versions it applied (on any host).
pub async fn migrate(db: &Db) -> Result<Vec<u32>, DbError> {
    let mut newly = BTreeSet::new();
    for host in cluster::hosts(db).await? {
        newly.extend(migrate_host(&host.db).await?);
    }
    verify(db).await?;
    Ok(newly.into_iter().collect())
}

async fn migrate_host(db: &Db) -> Result<Vec<u32>, DbError> {
    create_database(db).await?;
    db.execute(CREATE_MIGRATIONS_TABLE).await?;
    let done = applied(db).await?;
    let mut newly = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        apply(db, m).await?;
        newly.push(m.version);
    }
    Ok(newly)
}

/// Compares every row struct with its live table.
pub async fn verify(db: &Db) -> Result<(), DbError> {
    table_check::check::<EventRow>(db).await?;
    table_check::check::<SaltRow>(db).await
}

/// The versions recorded as applied.
pub async fn applied(db: &Db) -> Result<Vec<u32>, DbError> {
    let tsv = db
        .fetch_tsv("SELECT DISTINCT version FROM schema_migrations ORDER BY version")
        .await?;
    Ok(tsv.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

async fn create_database(db: &Db) -> Result<(), DbError> {
    // The client's default database may not exist yet, so name `system`.
    let sql = format!("CREATE DATABASE IF NOT EXISTS {}", db.database());
    db.client()
        .clone()
        .with_database("system")
        .query(&sql)
        .execute()
        .await?;
    Ok(())
}

async fn apply(db: &Db, m: &Migration) -> Result<(), DbError> {
    for (i, statement) in statements(m.sql).enumerate() {
        for statement in for_host(db, statement, m)? {
            apply_statement(db, &statement).await.map_err(|e| match e {
                DbError::Query(source) => DbError::Migration {
                    version: m.version,
                    name: m.name.into(),
                    statement: i + 1,
                    source,
                },
                other => other,
            })?;
        }
    }
    let record = format!(
        "INSERT INTO schema_migrations (version, name) VALUES ({}, '{}')",
        m.version, m.name
    );
    db.execute(&record).await?;
    tracing::info!(version = m.version, name = m.name, url = %db.config().url, "migration applied");
    Ok(())
}

/// The statement as written, or its cluster-mode rewrite.
fn for_host(db: &Db, statement: &str, m: &Migration) -> Result<Vec<String>, DbError> {
    let Some(cluster) = db.cluster() else {
        return Ok(vec![statement.to_owned()]);
    };
    let layout = Layout {
        cluster,
        database: db.database(),
        replicated: db.config().replicated,
    };
    cluster_ddl::rewrite(statement, &layout)
        .map_err(|e| DbError::Unexpected(format!("migration {} ({}): {e}", m.version, m.name)))
}

async fn apply_statement(db: &Db, statement: &str) -> Result<(), DbError> {
    if already_added(db, statement).await? {
        return Ok(());
    }
    let result = db.execute(statement).await;
    // Another service may have added the column between the check and
    // the statement (or, on a replicated table, a replica did): that is
    // success too.
    if result.is_err() && already_added(db, statement).await? {
        return Ok(());
    }
    result
}

/// True for `ALTER TABLE t ADD COLUMN c ...` when `t.c` exists: 18.16 has no
/// `ADD COLUMN IF NOT EXISTS`, and a migration interrupted half way must be
/// able to run again.
async fn already_added(db: &Db, statement: &str) -> Result<bool, DbError> {
    let Some((table, column)) = added_column(statement) else {
        return Ok(false);
    };
    let sql = format!(
        "SELECT count() FROM system.columns WHERE database = '{}' AND table = '{table}' AND name = '{column}'",
        db.database()
    );
    Ok(db.fetch_tsv(&sql).await?.trim() != "0")
}

/// `(table, column)` of a single-column `ALTER TABLE ... ADD COLUMN`.
fn added_column(statement: &str) -> Option<(&str, &str)> {
    let words: Vec<&str> = statement.split_whitespace().take(6).collect();
    let [alter, table_kw, table, add, column_kw, column] = words.as_slice() else {
        return None;
    };
    let shape = [*alter, *table_kw, *add, *column_kw].map(str::to_ascii_uppercase);
    let plain = |s: &str| crate::config::is_identifier(s);
    (shape == ["ALTER", "TABLE", "ADD", "COLUMN"] && plain(table) && plain(column))
        .then_some((*table, *column))
}

/// Splits a migration file into statements: `;` at a line end ends one, and
/// `--` comment lines are dropped.
pub fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n")
        .chain(std::iter::once(""))
        .map(strip_comments)
        .filter(|s| !s.is_empty())
}

fn strip_comments(chunk: &str) -> &str {
    let mut rest = chunk.trim();
    while rest.starts_with("--") {
        rest = rest.split_once('\n').map_or("", |(_, r)| r).trim();
    }
    rest.trim_end_matches(';').trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_ascending() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        let mut sorted = versions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(versions, sorted);
    }

    #[test]
    fn splits_statements_and_drops_comments() {
        let sql = "-- a comment\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\n-- b\nCREATE TABLE b (y UInt8) ENGINE = Memory;\n";
        let got: Vec<&str> = statements(sql).collect();
        assert_eq!(
            got,
            vec![
                "CREATE TABLE a (x UInt8) ENGINE = Memory",
                "CREATE TABLE b (y UInt8) ENGINE = Memory"
            ]
        );
    }

    #[test]
    fn recognises_single_column_additions() {
        assert_eq!(
            added_column("ALTER TABLE events ADD COLUMN browser String"),
            Some(("events", "browser"))
        );
        assert_eq!(
            added_column("alter table events add column os String DEFAULT ''"),
            Some(("events", "os"))
        );
        assert_eq!(added_column("ALTER TABLE events DROP COLUMN os"), None);
        assert_eq!(
            added_column("CREATE TABLE x (a UInt8) ENGINE = Memory"),
            None
        );
    }

    #[test]
    fn every_migration_has_statements() {
        for m in MIGRATIONS {
            assert!(statements(m.sql).count() > 0, "{}", m.name);
        }
    }
}
