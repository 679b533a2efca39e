//! A private, throw-away `clickhouse-server` for tests and the local quickstart.
//!
//! This module owns one server process per [`LocalServer`]: it finds the
//! binary, writes a minimal `config.xml`/`users.xml` into the server's own
//! directory, picks loopback ports, spawns the process, waits until it
//! answers `GET /ping`, and stops it again (SIGTERM, then SIGKILL). It is
//! deliberately blocking and std-only so it can be used from plain `#[test]`
//! functions, from `#[tokio::test]` bodies and from a `main` alike.
//!
//! # Privacy
//! The generated config enables no `query_log` (or any other system log that
//! stores queries), the default profile sets `log_queries = 0`, and the
//! server's own log only records warnings and errors. Request contents are
//! therefore never persisted by the server beyond the inserted data itself.
//!
//! # Orphans and threads
//! The server is spawned with `PR_SET_PDEATHSIG = SIGKILL`, so it dies when
//! whoever spawned it dies; a test binary killed by a timeout leaves no
//! orphan behind. Linux delivers that signal when the spawning **thread**
//! exits, not the process. A server therefore lives at most as long as the
//! thread that called [`LocalServer::start`] (or [`LocalServer::restart`]).
//! That is what you want for a server owned by one test, but callers that
//! keep a server across threads must start it from a thread that lives as
//! long as the process: use [`shared`] for that. In particular, do not start
//! a server from tokio's `spawn_blocking`, whose threads exit when idle.
//!
//! Temporary directories are named `analytics-clickhouse-<pid>-<n>` under
//! [`std::env::temp_dir`]; ones left behind by dead processes (for example
//! the [`shared`] server's, which is never dropped) are removed by the next
//! [`LocalServer::start`].

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

mod files;
mod process;
mod shared;
#[cfg(test)]
mod tests;

pub use process::die_with_spawning_thread;
pub(crate) use process::pick_free_port_list;
pub use shared::{shared, SharedServer};

use files::{
    config_xml, new_temp_dir, persistent_dir, remote_servers_xml, remove_stale_temp_dirs,
    users_xml, write_file,
};
use process::{http_get, log_tail, pick_free_ports, terminate, Binary, Identity};

/// Prefix of the temporary data directories this module creates and cleans up.
pub(super) const TEMP_DIR_PREFIX: &str = "analytics-clickhouse-";
/// The macro whose value identifies our server instance (see [`Identity`]).
pub(super) const IDENTITY_MACRO: &str = "analytics_instance";
/// `SELECT substitution FROM system.macros WHERE macro = 'analytics_instance'`.
pub(super) const IDENTITY_QUERY_PATH: &str = "/?query=SELECT%20substitution%20FROM%20system.macros\
%20WHERE%20macro%20%3D%20%27analytics_instance%27";
/// Starts are retried this often when the auto-picked ports were stolen.
pub(super) const AUTO_PORT_ATTEMPTS: u32 = 3;
/// How long [`LocalServer::stop`] waits for a graceful shutdown.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(5);
/// How many log lines a [`LocalServerError::NotReady`] carries.
pub(super) const LOG_TAIL_LINES: usize = 30;

/// Numbers the temporary directories created by this process.
pub(super) static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// How to start a [`LocalServer`].
#[derive(Debug, Clone)]
pub struct LocalServerOptions {
    /// `None`: a fresh directory under [`std::env::temp_dir`] named
    /// `analytics-clickhouse-<pid>-<n>`, deleted when the server is dropped.
    /// `Some(dir)`: a persistent directory (the quickstart); it is created if
    /// needed and kept.
    pub data_dir: Option<PathBuf>,
    /// `None`: pick free loopback ports. `Some(p)`: serve HTTP on `p`.
    pub http_port: Option<u16>,
    /// `Some(p)`: serve the native protocol on `p` (with `http_port` set
    /// too; see [`crate::local_cluster`]).
    pub tcp_port: Option<u16>,
    /// A cluster to declare in `remote_servers`.
    pub cluster: Option<ClusterLayout>,
    /// Per-query memory cap written to the `default` profile (bytes).
    pub max_memory_usage: u64,
    /// How long to wait for `GET /ping` to answer `Ok.`.
    pub startup_timeout: Duration,
}

impl Default for LocalServerOptions {
    fn default() -> Self {
        Self {
            data_dir: None,
            http_port: None,
            tcp_port: None,
            cluster: None,
            max_memory_usage: 2 << 30,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

/// A cluster for `remote_servers`: one shard per native port, each a single
/// replica on 127.0.0.1. No replication, so no keeper is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterLayout {
    pub name: String,
    pub shard_tcp_ports: Vec<u16>,
}

/// Why a [`LocalServer`] could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    /// No server binary was found.
    #[error(
        "clickhouse-server was not found on PATH or in /usr/sbin or /usr/bin; \
         install it with `apt-get update && apt-get install -y clickhouse-server`"
    )]
    BinaryMissing,
    /// A file-system, socket or spawn operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The server exited, or did not answer `GET /ping` in time.
    #[error(
        "clickhouse-server was not ready after {waited:?}: {reason}\n\
         --- last lines of its logs ---\n{log_tail}"
    )]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// What went wrong (exit status, timeout, another server on the port).
        reason: String,
        /// The last lines of its error log and stderr.
        log_tail: String,
    },
}

impl LocalServerError {
    fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    /// Whether new ports might help: the server exited (typically "Address
    /// already in use") or another server answered on our port. A plain
    /// timeout is not retried, since it would multiply the wait.
    pub(crate) fn port_may_be_taken(&self) -> bool {
        matches!(self, Self::NotReady { reason, .. } if !reason.starts_with(NO_PING))
    }
}

/// `reason` of a [`LocalServerError::NotReady`] caused by a timeout.
pub(super) const NO_PING: &str = "no `Ok.` from GET /ping";

/// A running (or stopped) private clickhouse-server. Dropping it stops the
/// server and deletes its directory if that is temporary.
#[derive(Debug)]
pub struct LocalServer {
    binary: Binary,
    dir: PathBuf,
    temp: bool,
    http_port: u16,
    tcp_port: u16,
    max_memory_usage: u64,
    startup_timeout: Duration,
    cluster: Option<ClusterLayout>,
    child: Option<Child>,
    pid: u32,
}

impl LocalServer {
    /// Starts a server and waits until it answers `GET /ping`.
    pub fn start(opts: LocalServerOptions) -> Result<Self, LocalServerError> {
        let binary = Binary::find()?;
        remove_stale_temp_dirs(&std::env::temp_dir());
        let (dir, temp) = match &opts.data_dir {
            Some(dir) => (persistent_dir(dir)?, false),
            None => (new_temp_dir()?, true),
        };
        let mut server = Self {
            binary,
            dir,
            temp,
            http_port: 0,
            tcp_port: 0,
            max_memory_usage: opts.max_memory_usage,
            startup_timeout: opts.startup_timeout,
            cluster: opts.cluster.clone(),
            child: None,
            pid: 0,
        };
        // On failure `server` is dropped, which removes a temporary directory.
        server.start_with_port_retries(opts.http_port, opts.tcp_port)?;
        Ok(server)
    }

    /// The HTTP interface, e.g. `http://127.0.0.1:8123` (no trailing slash).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The native-protocol (TCP) port, for `clickhouse-client --port`.
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port
    }

    /// The PID of the most recently started server process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The server's directory (configs, data and logs).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Stops the server: SIGTERM, up to 5 s for a clean shutdown, then
    /// SIGKILL, and reaps it. Idempotent. The directory is kept (even a
    /// temporary one, until drop) so that [`restart`](Self::restart) finds
    /// its data again.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
    }

    /// Starts the server again on the same directory and ports, stopping it
    /// first if it is running. Tests use this to simulate outages.
    pub fn restart(&mut self) -> Result<(), LocalServerError> {
        self.stop();
        self.start_once()
    }

    /// Starts the server, re-picking ports when they were auto-picked and
    /// someone else took them between picking and the server binding them.
    fn start_with_port_retries(
        &mut self,
        http_port: Option<u16>,
        tcp_port: Option<u16>,
    ) -> Result<(), LocalServerError> {
        let attempts = if http_port.is_some() || tcp_port.is_some() {
            1
        } else {
            AUTO_PORT_ATTEMPTS
        };
        let mut attempt = 1;
        loop {
            let (auto_http, auto_tcp) = pick_free_ports()?;
            self.http_port = http_port.unwrap_or(auto_http);
            self.tcp_port = tcp_port.unwrap_or(auto_tcp);
            match self.start_once() {
                Err(e) if attempt < attempts && e.port_may_be_taken() => {
                    tracing::debug!(error = %e, "clickhouse-server did not come up; retrying with new ports");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Writes the configs, spawns the server and waits for it to be ready.
    fn start_once(&mut self) -> Result<(), LocalServerError> {
        let identity = Identity::new();
        self.write_configs(&identity)?;
        let child = self.spawn()?;
        self.pid = child.id();
        self.child = Some(child);
        let result = self.wait_ready(&identity);
        if result.is_err() {
            self.stop();
        }
        result
    }

    fn write_configs(&self, identity: &Identity) -> Result<(), LocalServerError> {
        let log_dir = self.dir.join("log");
        fs::create_dir_all(&log_dir)
            .map_err(|e| LocalServerError::io(format!("creating {}", log_dir.display()), e))?;
        let mut config = config_xml(&self.dir, self.http_port, self.tcp_port, identity);
        if let Some(cluster) = &self.cluster {
            let at = config.rfind("</yandex>").unwrap_or(config.len());
            config.insert_str(at, &remote_servers_xml(cluster));
        }
        write_file(&self.dir.join("config.xml"), &config)?;
        write_file(
            &self.dir.join("users.xml"),
            &users_xml(self.max_memory_usage),
        )
    }

    fn spawn(&self) -> Result<Child, LocalServerError> {
        // The logger writes to files, but a few messages (and errors found
        // before the logger exists, such as a bad config) go to stdout/stderr.
        let out_path = self.dir.join("log").join("stderr.log");
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out_path)
            .map_err(|e| LocalServerError::io(format!("opening {}", out_path.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| LocalServerError::io("duplicating the stderr log handle", e))?;
        let mut cmd = Command::new(&self.binary.program);
        cmd.args(&self.binary.leading_args)
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        die_with_spawning_thread(&mut cmd);
        cmd.spawn().map_err(|e| {
            let what = format!("spawning {}", self.binary.program.display());
            LocalServerError::io(what, e)
        })
    }

    /// Polls `GET /ping` every 50 ms until `Ok.`, the server exits, or the
    /// startup timeout passes; then checks it is really our server.
    fn wait_ready(&mut self, identity: &Identity) -> Result<(), LocalServerError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(self.not_ready(started, format!("it exited with {status}")));
            }
            if let Ok(body) = http_get(self.http_port, "/ping") {
                if body.contains("Ok.") {
                    return self.check_identity(identity, started);
                }
            }
            if started.elapsed() >= self.startup_timeout {
                return Err(self.not_ready(started, NO_PING.to_string()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Another process could have taken our port and be answering /ping in
    /// the moment before our server notices and exits; the per-start token in
    /// `system.macros` tells the two apart.
    fn check_identity(
        &mut self,
        identity: &Identity,
        started: Instant,
    ) -> Result<(), LocalServerError> {
        match http_get(self.http_port, IDENTITY_QUERY_PATH) {
            Ok(body) if body.trim_end() == identity.0 => Ok(()),
            other => {
                let reason = format!(
                    "another server answered on port {} ({:?})",
                    self.http_port,
                    other.map_err(|e| e.to_string())
                );
                Err(self.not_ready(started, reason))
            }
        }
    }

    fn not_ready(&self, started: Instant, reason: String) -> LocalServerError {
        LocalServerError::NotReady {
            waited: started.elapsed(),
            reason,
            log_tail: log_tail(&self.dir.join("log")),
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
        if self.temp {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove the clickhouse temp dir");
            }
        }
    }
}
