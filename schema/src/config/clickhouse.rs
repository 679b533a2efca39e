//! `[clickhouse]`: where the server is, which database, and cluster mode.

use super::{is_identifier, Problems};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Cluster mode: a cluster of the servers' `remote_servers`. Tables are
    /// then created on every host, as local tables behind `Distributed`
    /// ones of the public names (see [`crate::cluster`]).
    pub cluster: Option<String>,
    /// HTTP URLs of every host of the cluster. Empty: each `host_name` of
    /// `system.clusters` on the port of `url`.
    pub hosts: Vec<String>,
    /// Local tables use `Replicated*MergeTree` (a keeper and the `{shard}`
    /// and `{replica}` macros must be configured on the servers).
    pub replicated: bool,
}

/// The password is never printed.
impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("cluster", &self.cluster)
            .field("hosts", &self.hosts)
            .field("replicated", &self.replicated)
            .finish()
    }
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".into(),
            database: "analytics".into(),
            user: None,
            password: None,
            cluster: None,
            hosts: Vec::new(),
            replicated: false,
        }
    }
}

impl ClickHouseConfig {
    pub(super) fn validate(&self, p: &mut Problems) {
        let url = &self.url;
        if url.starts_with("https://") {
            // No TLS stack is built in; see docs/clickhouse.md.
            p.add(
                "clickhouse.url",
                "https is not supported; reach ClickHouse over a private network or a local TLS proxy",
            );
        } else if !url.starts_with("http://") {
            p.add("clickhouse.url", "must start with http://");
        }
        if !is_identifier(&self.database) {
            p.add(
                "clickhouse.database",
                "must be letters, digits and underscores, not starting with a digit",
            );
        }
        self.validate_cluster(p);
    }

    fn validate_cluster(&self, p: &mut Problems) {
        let c = self;
        match &c.cluster {
            Some(name) if !is_identifier(name) => p.add(
                "clickhouse.cluster",
                "must be letters, digits and underscores, not starting with a digit",
            ),
            None if !c.hosts.is_empty() || c.replicated => {
                let key = if c.replicated {
                    "clickhouse.replicated"
                } else {
                    "clickhouse.hosts"
                };
                p.add(key, "needs clickhouse.cluster");
            }
            _ => {}
        }
        for (i, host) in c.hosts.iter().enumerate() {
            if !host.starts_with("http://") || host.contains(char::is_whitespace) {
                p.add(&format!("clickhouse.hosts[{i}]"), "must be an http:// URL");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{tests::assert_invalid, Config};

    #[test]
    fn invalid_values_name_their_key() {
        assert_invalid(&[
            ("[clickhouse]\ndatabase = \"a-b\"\n", "clickhouse.database"),
            ("[clickhouse]\nurl = \"localhost:8123\"\n", "clickhouse.url"),
            (
                "[clickhouse]\nurl = \"https://ch:8443\"\n",
                "clickhouse.url",
            ),
            ("[clickhouse]\ncluster = \"a-b\"\n", "clickhouse.cluster"),
            ("[clickhouse]\nreplicated = true\n", "clickhouse.replicated"),
            (
                "[clickhouse]\nhosts = [\"http://a:8123\"]\n",
                "clickhouse.hosts",
            ),
            (
                "[clickhouse]\ncluster = \"c\"\nhosts = [\"a:8123\"]\n",
                "clickhouse.hosts[0]",
            ),
        ]);
    }

    #[test]
    fn password_is_not_printed() {
        let c = Config::parse("[clickhouse]\npassword = \"hunter2\"\n").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
