//! Cluster mode: the hosts of `[clickhouse] cluster`, and running a
//! statement on every one of them.
//!
//! In cluster mode each table the services use exists twice on every host:
//! `<name>_local` holds the host's own rows, and `<name>` is a `Distributed`
//! table over all the shards' local tables (see [`crate::cluster_ddl`]).
//! Reads and inserts go through the public names. What a `Distributed`
//! table cannot do (DDL without a keeper, `DROP PARTITION`, mutations) is
//! done on every host's local table, through [`on_every_host`] or the
//! handles of [`hosts`].
//!
//! # Finding the hosts
//! The members are the rows of `system.clusters` for the cluster, which
//! gives native (TCP) ports, not HTTP ones. Their HTTP URLs are
//! `[clickhouse] hosts` when set, else each `host_name` on the HTTP port of
//! `[clickhouse] url` (the usual layout: every server on 8123). Each URL is
//! then asked which member it is (`is_local` in its own `system.clusters`),
//! so a wrong URL or a member without one is an error, never a host
//! silently skipped or migrated twice.
//!
//! In single-node mode the one host is the configured server, so code
//! written against this module works in both modes.

use crate::client::{connect, Db, DbError};
use std::collections::BTreeSet;

/// Suffix of a table's per-host name in cluster mode.
pub const LOCAL_SUFFIX: &str = "_local";

/// The name of the table that holds a host's own rows: `events_local` in
/// cluster mode, `events` in single-node mode. For `ALTER TABLE ... DROP
/// PARTITION`, `ALTER TABLE ... DELETE` and DDL run on every host.
pub fn local_table(db: &Db, table: &str) -> String {
    if db.cluster().is_some() {
        format!("{table}{LOCAL_SUFFIX}")
    } else {
        table.to_owned()
    }
}

/// One member of the cluster: its place in `system.clusters` and a handle
/// to its database (the same database name and credentials).
#[derive(Debug, Clone)]
pub struct Host {
    pub shard: u32,
    pub replica: u32,
    pub db: Db,
}

/// A handle per host, ordered by shard and replica. Single-node mode: the
/// configured server alone.
pub async fn hosts(db: &Db) -> Result<Vec<Host>, DbError> {
    let Some(cluster) = db.cluster() else {
        return Ok(vec![Host {
            shard: 1,
            replica: 1,
            db: db.clone(),
        }]);
    };
    let members = members(db, cluster).await?;
    let urls = if db.config().hosts.is_empty() {
        derived_urls(db, &members)?
    } else {
        db.config().hosts.clone()
    };
    let mut found = Vec::with_capacity(urls.len());
    for url in urls {
        found.push(identify(db, cluster, &url).await?);
    }
    let places: Vec<(u32, u32)> = found.iter().map(|h| (h.shard, h.replica)).collect();
    check_coverage(cluster, &members, &places)?;
    found.sort_by_key(|h| (h.shard, h.replica));
    Ok(found)
}

/// Runs `sql` on every host, one after the other, stopping at the first
/// failure. The statement should name local tables ([`local_table`]).
pub async fn on_every_host(db: &Db, sql: &str) -> Result<(), DbError> {
    for host in hosts(db).await? {
        host.db.execute(sql).await?;
    }
    Ok(())
}

/// A row of `system.clusters`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    shard: u32,
    replica: u32,
    host_name: String,
    tcp_port: u16,
}

async fn members(db: &Db, cluster: &str) -> Result<Vec<Member>, DbError> {
    let sql = format!(
        "SELECT shard_num, replica_num, host_name, port FROM system.clusters \
         WHERE cluster = '{cluster}' ORDER BY shard_num, replica_num"
    );
    let rows = db.in_system().fetch_rows(&sql).await?;
    let members: Vec<Member> = rows
        .iter()
        .filter_map(|row| match row.as_slice() {
            [shard, replica, host, port] => Some(Member {
                shard: shard.parse().ok()?,
                replica: replica.parse().ok()?,
                host_name: host.clone(),
                tcp_port: port.parse().ok()?,
            }),
            _ => None,
        })
        .collect();
    if members.is_empty() {
        return Err(DbError::Unexpected(format!(
            "cluster `{cluster}` is not in system.clusters of {}: define it in the servers' remote_servers",
            db.config().url
        )));
    }
    Ok(members)
}

/// Each member's `host_name` on the HTTP port of `[clickhouse] url`.
fn derived_urls(db: &Db, members: &[Member]) -> Result<Vec<String>, DbError> {
    let url = reqwest::Url::parse(&db.config().url)
        .map_err(|e| DbError::Unexpected(format!("clickhouse.url: {e}")))?;
    let port = url.port_or_known_default().unwrap_or(8123);
    let names: BTreeSet<&str> = members.iter().map(|m| m.host_name.as_str()).collect();
    Ok(names.into_iter().map(|name| http_url(name, port)).collect())
}

fn http_url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

/// Connects to `url` and asks which member of `cluster` it is.
async fn identify(db: &Db, cluster: &str, url: &str) -> Result<Host, DbError> {
    let mut config = db.config().clone();
    config.url = url.to_owned();
    let host = connect(&config).await?;
    let sql = format!(
        "SELECT shard_num, replica_num FROM system.clusters \
         WHERE cluster = '{cluster}' AND is_local = 1"
    );
    let rows = host.in_system().fetch_rows(&sql).await?;
    match rows.as_slice() {
        [row] => match row.as_slice() {
            [shard, replica] => Ok(Host {
                shard: shard.parse().unwrap_or(0),
                replica: replica.parse().unwrap_or(0),
                db: host,
            }),
            _ => Err(DbError::Unexpected(format!(
                "{url}: odd system.clusters row {row:?}"
            ))),
        },
        _ => Err(DbError::Unexpected(format!(
            "{url} is not exactly one member of cluster `{cluster}` \
             ({} rows of system.clusters there are its own)",
            rows.len()
        ))),
    }
}

/// Every member has exactly one host.
fn check_coverage(cluster: &str, members: &[Member], found: &[(u32, u32)]) -> Result<(), DbError> {
    let mut seen = BTreeSet::new();
    for &(shard, replica) in found {
        if !seen.insert((shard, replica)) {
            return Err(DbError::Unexpected(format!(
                "two hosts are shard {shard} replica {replica} of cluster `{cluster}`"
            )));
        }
    }
    match members
        .iter()
        .find(|m| !seen.contains(&(m.shard, m.replica)))
    {
        Some(m) => Err(DbError::Unexpected(format!(
            "{}:{} (shard {}, replica {} of cluster `{cluster}`) has no HTTP URL: \
             list every host in clickhouse.hosts",
            m.host_name, m.tcp_port, m.shard, m.replica
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_hosts_get_brackets() {
        assert_eq!(http_url("ch1", 8123), "http://ch1:8123");
        assert_eq!(http_url("::1", 8123), "http://[::1]:8123");
    }

    fn member(shard: u32, port: u16) -> Member {
        Member {
            shard,
            replica: 1,
            host_name: "127.0.0.1".into(),
            tcp_port: port,
        }
    }

    #[test]
    fn every_member_needs_exactly_one_host() {
        let members = [member(1, 9001), member(2, 9002)];
        check_coverage("c", &members, &[(2, 1), (1, 1)]).unwrap();
        let missing = check_coverage("c", &members, &[(1, 1)])
            .unwrap_err()
            .to_string();
        assert!(missing.contains("127.0.0.1:9002 (shard 2"), "{missing}");
        let twice = check_coverage("c", &members, &[(1, 1), (1, 1), (2, 1)])
            .unwrap_err()
            .to_string();
        assert!(twice.contains("two hosts are shard 1"), "{twice}");
    }
}
