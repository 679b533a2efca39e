//! How a migration's statements are rewritten for cluster mode.
//!
//! Migrations are written for one server. In cluster mode every host runs,
//! for each statement:
//! - `CREATE TABLE t (...) ENGINE = E ...`: `t_local` with the same columns
//!   and engine (`ReplicatedE` when `[clickhouse] replicated`), then `t` as
//!   `Distributed(cluster, database, t_local, key)`;
//! - `ALTER TABLE t ADD|DROP|MODIFY COLUMN ...`: the same on `t_local`,
//!   then on `t` (a `Distributed` table has its own column list);
//! - `DROP TABLE IF EXISTS t`: `t`, then `t_local` (for a view, which has
//!   no local twin, the second finds nothing);
//! - `CREATE MATERIALIZED VIEW v TO t AS SELECT ... FROM s`: the view on the
//!   local tables (`TO t_local`, `FROM s_local`), so that it sees each
//!   host's inserted rows. A view over a `Distributed` table would never
//!   fire, since rows are inserted into the local tables.
//!
//! Anything else is refused, so that a new kind of statement is thought
//! through for clusters before it ships.
//!
//! # Sharding keys
//! `events` is sharded by `visitor_id`: one visitor's events of a UTC day
//! live on one shard. Visitor ids change at UTC midnight (the salt
//! rotates), so a visit crossing midnight may span two shards; that cannot
//! be avoided by any key, since the two ids are unrelated hashes and the
//! later events of the new day carry no link to the old id. The query
//! service therefore builds visits on the host that received the query,
//! from all shards' events, and links the two ids with `GLOBAL IN` (see
//! `query/src/sql/visits.rs`); placement changes where rows live, never an
//! answer. `salts` is sharded by day, so every candidate of a day is on one
//! shard and the smallest one is read back right after an offer. The
//! rollup tables (unused in cluster mode, see docs/cluster.md) are sharded by
//! visit key or at random.

/// What a rewrite needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub cluster: &'a str,
    pub database: &'a str,
    pub replicated: bool,
}

/// A statement of a migration this module cannot rewrite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot rewrite for a cluster: {0}")]
pub struct Unsupported(pub String);

/// The statements a host runs, in order, for one migration statement.
pub fn rewrite(statement: &str, layout: &Layout) -> Result<Vec<String>, Unsupported> {
    let words: Vec<String> = statement
        .split_whitespace()
        .take(4)
        .map(str::to_ascii_uppercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["CREATE", "TABLE", "IF", "NOT"] => create_table(statement, layout),
        ["ALTER", "TABLE", _, _] => alter_table(statement),
        ["DROP", "TABLE", "IF", "EXISTS"] => drop_table(statement),
        ["CREATE", "MATERIALIZED", "VIEW", _] => Ok(vec![view_on_local_tables(statement)]),
        _ => Err(unsupported(statement)),
    }
}

/// The `Distributed` sharding key of each table.
pub fn sharding_key(table: &str) -> &'static str {
    match table {
        "events" => "visitor_id",
        "salts" => "toUInt16(day)",
        "visit_events" => "vkey",
        _ => "rand()",
    }
}

fn unsupported(statement: &str) -> Unsupported {
    let head: String = statement.chars().take(60).collect();
    Unsupported(head)
}

fn local(table: &str) -> String {
    format!("{table}{}", crate::cluster::LOCAL_SUFFIX)
}

const CREATE_PREFIX: &str = "CREATE TABLE IF NOT EXISTS ";

fn create_table(statement: &str, layout: &Layout) -> Result<Vec<String>, Unsupported> {
    let rest = statement
        .get(CREATE_PREFIX.len()..)
        .filter(|_| statement[..CREATE_PREFIX.len()].eq_ignore_ascii_case(CREATE_PREFIX))
        .ok_or_else(|| unsupported(statement))?;
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (table, after_name) = rest.split_at(name_len);
    let engine_at = after_name
        .rfind("ENGINE = ")
        .ok_or_else(|| unsupported(statement))?;
    let (columns, engine_clause) = after_name.split_at(engine_at);
    let engine_clause = &engine_clause["ENGINE = ".len()..];
    let engine =
        local_engine(engine_clause, table, layout).ok_or_else(|| unsupported(statement))?;
    let local_table = local(table);
    Ok(vec![
        format!("{CREATE_PREFIX}{local_table}{columns}ENGINE = {engine}"),
        format!(
            "{CREATE_PREFIX}{table} AS {local_table} ENGINE = Distributed({}, {}, {local_table}, {})",
            layout.cluster,
            layout.database,
            sharding_key(table)
        ),
    ])
}

/// The engine clause of `table_local`: unchanged, or its `Replicated`
/// variant with the keeper path and replica name from the servers' macros.
fn local_engine(clause: &str, table: &str, layout: &Layout) -> Option<String> {
    if !layout.replicated {
        return Some(clause.to_owned());
    }
    let open = clause.find('(')?;
    let close = clause.find(')')?;
    let (name, args) = (&clause[..open], clause[open + 1..close].trim());
    if !name.ends_with("MergeTree") || name.starts_with("Replicated") {
        return None;
    }
    // 18.16 has no `{database}` macro, so the database is spelled out.
    let mut replicated_args = format!(
        "'/clickhouse/tables/{{shard}}/{}/{}', '{{replica}}'",
        layout.database,
        local(table)
    );
    if !args.is_empty() {
        replicated_args.push_str(", ");
        replicated_args.push_str(args);
    }
    Some(format!(
        "Replicated{name}({replicated_args}){}",
        &clause[close + 1..]
    ))
}

fn alter_table(statement: &str) -> Result<Vec<String>, Unsupported> {
    let words: Vec<&str> = statement.split_whitespace().take(5).collect();
    let [_, _, table, action, object] = words.as_slice() else {
        return Err(unsupported(statement));
    };
    let action = action.to_ascii_uppercase();
    let column_change = ["ADD", "DROP", "MODIFY"].contains(&action.as_str())
        && object.eq_ignore_ascii_case("COLUMN");
    if !column_change || !crate::config::is_identifier(table) {
        return Err(unsupported(statement));
    }
    let at = statement
        .find(table)
        .ok_or_else(|| unsupported(statement))?;
    let on_local = format!(
        "{}{}{}",
        &statement[..at],
        local(table),
        &statement[at + table.len()..]
    );
    Ok(vec![on_local, statement.to_owned()])
}

fn drop_table(statement: &str) -> Result<Vec<String>, Unsupported> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    match words.as_slice() {
        [_, _, _, _, table] if crate::config::is_identifier(table) => Ok(vec![
            format!("DROP TABLE IF EXISTS {table}"),
            format!("DROP TABLE IF EXISTS {}", local(table)),
        ]),
        _ => Err(unsupported(statement)),
    }
}

/// Points the view's `TO` target and `FROM` sources at the local tables.
fn view_on_local_tables(statement: &str) -> String {
    let mut out = String::with_capacity(statement.len() + 32);
    let mut previous = String::new();
    for piece in statement.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end();
        let follows_keyword = previous == "TO" || previous == "FROM";
        if follows_keyword && crate::config::is_identifier(word) {
            out.push_str(&local(word));
            out.push_str(&piece[word.len()..]);
        } else {
            out.push_str(piece);
        }
        if !word.is_empty() {
            previous = word.to_ascii_uppercase();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{statements, MIGRATIONS};

    const PLAIN: Layout = Layout {
        cluster: "two",
        database: "analytics",
        replicated: false,
    };
    const REPLICATED: Layout = Layout {
        replicated: true,
        ..PLAIN
    };

    #[test]
    fn a_table_becomes_local_plus_distributed() {
        let sql = "CREATE TABLE IF NOT EXISTS events (\n    visitor_id UInt64\n) ENGINE = MergeTree()\nORDER BY visitor_id";
        let got = rewrite(sql, &PLAIN).unwrap();
        assert_eq!(
            got,
            vec![
                "CREATE TABLE IF NOT EXISTS events_local (\n    visitor_id UInt64\n) ENGINE = MergeTree()\nORDER BY visitor_id",
                "CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = Distributed(two, analytics, events_local, visitor_id)",
            ]
        );
    }

    #[test]
    fn replicated_engines_name_the_keeper_path_and_replica() {
        let sql = "CREATE TABLE IF NOT EXISTS salts (day Date) ENGINE = MergeTree()\nPARTITION BY day ORDER BY day";
        let got = rewrite(sql, &REPLICATED).unwrap();
        assert_eq!(
            got[0],
            "CREATE TABLE IF NOT EXISTS salts_local (day Date) ENGINE = \
             ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/salts_local', '{replica}')\nPARTITION BY day ORDER BY day"
        );
        assert!(got[1].ends_with("Distributed(two, analytics, salts_local, toUInt16(day))"));
        let agg =
            "CREATE TABLE IF NOT EXISTS r (x UInt8) ENGINE = AggregatingMergeTree() ORDER BY x";
        assert!(rewrite(agg, &REPLICATED).unwrap()[0]
            .contains("ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/analytics/r_local', '{replica}') ORDER BY x"));
        let old_style = "CREATE TABLE IF NOT EXISTS o (d Date) ENGINE = MergeTree(d, d, 8192)";
        assert!(rewrite(old_style, &REPLICATED).unwrap()[0].ends_with(
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/o_local', '{replica}', d, d, 8192)"
        ));
        let memory = "CREATE TABLE IF NOT EXISTS m (x UInt8) ENGINE = Memory()";
        assert!(rewrite(memory, &REPLICATED).is_err());
        assert_eq!(rewrite(memory, &PLAIN).unwrap().len(), 2);
    }

    #[test]
    fn column_changes_run_on_local_then_distributed() {
        let got = rewrite("ALTER TABLE events ADD COLUMN os String DEFAULT ''", &PLAIN).unwrap();
        assert_eq!(
            got,
            vec![
                "ALTER TABLE events_local ADD COLUMN os String DEFAULT ''",
                "ALTER TABLE events ADD COLUMN os String DEFAULT ''",
            ]
        );
        assert!(rewrite("ALTER TABLE events DELETE WHERE 1", &PLAIN).is_err());
        assert!(rewrite("INSERT INTO events VALUES (1)", &PLAIN).is_err());
    }

    #[test]
    fn a_drop_removes_the_distributed_table_then_the_local_one() {
        let got = rewrite("DROP TABLE IF EXISTS visit_days", &PLAIN).unwrap();
        assert_eq!(
            got,
            vec![
                "DROP TABLE IF EXISTS visit_days",
                "DROP TABLE IF EXISTS visit_days_local",
            ]
        );
        assert!(rewrite("DROP TABLE events", &PLAIN).is_err());
        assert!(rewrite("DROP TABLE IF EXISTS a, b", &PLAIN).is_err());
    }

    #[test]
    fn views_read_and_write_local_tables_only() {
        let sql = "CREATE MATERIALIZED VIEW IF NOT EXISTS v_mv TO visit_totals AS\nSELECT site, sumState(x) AS events\nFROM visit_events\nARRAY JOIN ['a'] AS dim\nGROUP BY site";
        let got = rewrite(sql, &PLAIN).unwrap();
        assert_eq!(
            got,
            vec!["CREATE MATERIALIZED VIEW IF NOT EXISTS v_mv TO visit_totals_local AS\nSELECT site, sumState(x) AS events\nFROM visit_events_local\nARRAY JOIN ['a'] AS dim\nGROUP BY site"]
        );
    }

    #[test]
    fn every_released_migration_rewrites_both_ways() {
        for m in MIGRATIONS {
            for statement in statements(m.sql) {
                for layout in [PLAIN, REPLICATED] {
                    let got = rewrite(statement, &layout)
                        .unwrap_or_else(|e| panic!("migration {}: {e}", m.version));
                    assert!(!got.is_empty());
                    // No statement of a cluster names a public table as a
                    // view's source.
                    for s in &got {
                        assert!(!s.contains("FROM visit_events\n"), "{s}");
                    }
                }
            }
        }
    }
}
