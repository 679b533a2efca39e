//! Several private servers forming one ClickHouse cluster on loopback, for
//! tests of cluster mode: each server is a shard of a single replica, and
//! every server's `remote_servers` names all of them, so any of them can
//! answer a `Distributed` query. No replication, so no keeper is needed.
//!
//! The servers are [`LocalServer`]s, with what that implies: each dies with
//! the thread that started it, and is stopped when dropped.

use crate::local_server::{
    pick_free_port_list, ClusterLayout, LocalServer, LocalServerError, LocalServerOptions,
};

/// Starts attempts made when a picked port was taken before a server bound it.
const ATTEMPTS: u32 = 3;

/// Starts `shards` servers forming cluster `name`, each with `base`'s
/// settings (its ports, cluster and a temporary directory are chosen here). Returned in shard order.
pub fn start_cluster(
    name: &str,
    shards: usize,
    base: &LocalServerOptions,
) -> Result<Vec<LocalServer>, LocalServerError> {
    let mut attempt = 1;
    loop {
        match start_once(name, shards, base) {
            Err(e) if attempt < ATTEMPTS && e.port_may_be_taken() => attempt += 1,
            result => return result,
        }
    }
}

fn start_once(
    name: &str,
    shards: usize,
    base: &LocalServerOptions,
) -> Result<Vec<LocalServer>, LocalServerError> {
    // Every port is known before the first server starts, since each
    // server's config lists all the others.
    let ports = pick_free_port_list(2 * shards)?;
    let (http, tcp) = ports.split_at(shards);
    let layout = ClusterLayout {
        name: name.to_owned(),
        shard_tcp_ports: tcp.to_vec(),
    };
    let mut servers = Vec::with_capacity(shards);
    for (http_port, tcp_port) in http.iter().zip(tcp) {
        let opts = LocalServerOptions {
            http_port: Some(*http_port),
            tcp_port: Some(*tcp_port),
            cluster: Some(layout.clone()),
            // Each server needs a directory of its own.
            data_dir: None,
            ..base.clone()
        };
        // On failure the servers started so far are dropped, which stops them.
        servers.push(LocalServer::start(opts)?);
    }
    Ok(servers)
}
