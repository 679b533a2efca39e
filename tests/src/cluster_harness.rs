//! Two private ClickHouse servers on loopback forming one cluster of two
//! shards (no replication, so no keeper), and configs in cluster mode that
//! point at either of them.

use schema::local_cluster::start_cluster;
use schema::local_server::{LocalServer, LocalServerOptions};
use schema::{Config, Db};

/// The cluster's name in both servers' `remote_servers`.
pub const CLUSTER: &str = "analytics_pair";

/// The servers, stopped and deleted when dropped. Start it on the test's own
/// thread: a server dies with the thread that started it.
pub struct TestCluster {
    servers: Vec<LocalServer>,
    database: String,
}

impl TestCluster {
    /// Starts two shards; blocking (well under a second per server).
    pub fn start() -> Self {
        let servers = start_cluster(CLUSTER, 2, &LocalServerOptions::default())
            .unwrap_or_else(|e| panic!("cannot start a private ClickHouse cluster: {e}"));
        Self {
            servers,
            database: format!("cluster_{}", hex::encode(rand::random::<[u8; 6]>())),
        }
    }

    /// The HTTP URL of each server, in shard order.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(LocalServer::http_url).collect()
    }

    /// [`crate::test_config`] in cluster mode, talking to server `host`,
    /// with the database every config of this cluster shares.
    pub fn config(&self, host: usize) -> Config {
        let mut config = crate::test_config();
        config.clickhouse.url = self.urls()[host].clone();
        config.clickhouse.database = self.database.clone();
        config.clickhouse.cluster = Some(CLUSTER.into());
        config.clickhouse.hosts = self.urls();
        config.collector.dead_letter_dir =
            std::env::temp_dir().join(format!("analytics-dead-letter-{}-{host}", self.database));
        config
    }

    /// A handle to the database on each server, in shard order.
    pub async fn host_dbs(&self) -> Vec<Db> {
        let mut dbs = Vec::new();
        for host in 0..self.servers.len() {
            dbs.push(
                schema::connect(&self.config(host).clickhouse)
                    .await
                    .unwrap(),
            );
        }
        dbs
    }
}
