//! The server's directory and the files written into it: a fresh temporary
//! directory (and the removal of those dead processes left behind), and the
//! `config.xml`, `users.xml` and `remote_servers` that keep the server
//! private and query logs off.

use super::process::Identity;
use super::{ClusterLayout, LocalServerError, IDENTITY_MACRO, NEXT_DIR, TEMP_DIR_PREFIX};
use std::fs::{self};
use std::io::{self};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Creates `analytics-clickhouse-<pid>-<n>`; `create_dir` (not `_all`)
/// guarantees the directory is new and ours.
pub(super) fn new_temp_dir() -> Result<PathBuf, LocalServerError> {
    let base = std::env::temp_dir();
    loop {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{TEMP_DIR_PREFIX}{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(LocalServerError::io(
                    format!("creating {}", dir.display()),
                    e,
                ))
            }
        }
    }
}

/// Creates the directory if needed. It is made absolute because the server
/// resolves relative paths against its own working directory.
pub(super) fn persistent_dir(dir: &Path) -> Result<PathBuf, LocalServerError> {
    let io_err = |e| LocalServerError::io(format!("creating {}", dir.display()), e);
    fs::create_dir_all(dir).map_err(io_err)?;
    std::path::absolute(dir).map_err(io_err)
}

/// Removes `analytics-clickhouse-<pid>-<n>` directories in `base` whose
/// process no longer exists. Nothing else is touched.
pub(super) fn remove_stale_temp_dirs(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(stale_dir_pid) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !Path::new(&format!("/proc/{pid}")).exists() {
            if let Err(e) = fs::remove_dir_all(entry.path()) {
                tracing::debug!(dir = %entry.path().display(), error = %e, "could not remove a stale clickhouse dir");
            }
        }
    }
}

/// The pid in a name of the form `analytics-clickhouse-<pid>-<n>`.
pub(super) fn stale_dir_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix(TEMP_DIR_PREFIX)?.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

pub(super) fn write_file(path: &Path, contents: &str) -> Result<(), LocalServerError> {
    fs::write(path, contents)
        .map_err(|e| LocalServerError::io(format!("writing {}", path.display()), e))
}

/// The server config. Only loopback, file logs at `warning`, no system
/// logs (no `query_log` section): nothing records request contents.
pub(super) fn config_xml(dir: &Path, http_port: u16, tcp_port: u16, identity: &Identity) -> String {
    let d = xml_escape(&dir.display().to_string());
    let id = xml_escape(&identity.0);
    format!(
        r#"<?xml version="1.0"?>
<!-- Written by schema::local_server; regenerated on every start. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>{d}/log/clickhouse-server.log</log>
    <errorlog>{d}/log/clickhouse-server.err.log</errorlog>
    <size>10M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <path>{d}/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <macros><{IDENTITY_MACRO}>{id}</{IDENTITY_MACRO}></macros>
</yandex>
"#
    )
}

/// Users: `default` with no password from loopback only; the `default`
/// profile caps memory and switches query logging off explicitly; the
/// `default` quota has no limits.
pub(super) fn users_xml(max_memory_usage: u64) -> String {
    format!(
        r#"<?xml version="1.0"?>
<!-- Written by schema::local_server; regenerated on every start. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>{max_memory_usage}</max_memory_usage>
      <log_queries>0</log_queries>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
"#
    )
}

/// `<remote_servers>` with the one cluster of `layout`.
pub(super) fn remote_servers_xml(layout: &ClusterLayout) -> String {
    let shards: String = layout
        .shard_tcp_ports
        .iter()
        .map(|port| {
            format!(
                "      <shard><replica><host>127.0.0.1</host><port>{port}</port></replica></shard>\n"
            )
        })
        .collect();
    let name = xml_escape(&layout.name);
    format!("  <remote_servers>\n    <{name}>\n{shards}    </{name}>\n  </remote_servers>\n")
}

pub(super) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
