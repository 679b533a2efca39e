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
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Prefix of the temporary data directories this module creates and cleans up.
const TEMP_DIR_PREFIX: &str = "analytics-clickhouse-";
/// The macro whose value identifies our server instance (see [`Identity`]).
const IDENTITY_MACRO: &str = "analytics_instance";
/// `SELECT substitution FROM system.macros WHERE macro = 'analytics_instance'`.
const IDENTITY_QUERY_PATH: &str = "/?query=SELECT%20substitution%20FROM%20system.macros\
%20WHERE%20macro%20%3D%20%27analytics_instance%27";
/// Starts are retried this often when the auto-picked ports were stolen.
const AUTO_PORT_ATTEMPTS: u32 = 3;
/// How long [`LocalServer::stop`] waits for a graceful shutdown.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How many log lines a [`LocalServerError::NotReady`] carries.
const LOG_TAIL_LINES: usize = 30;

/// Numbers the temporary directories created by this process.
static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

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
            max_memory_usage: 2 << 30,
            startup_timeout: Duration::from_secs(30),
        }
    }
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
    fn port_may_be_taken(&self) -> bool {
        matches!(self, Self::NotReady { reason, .. } if !reason.starts_with(NO_PING))
    }
}

/// `reason` of a [`LocalServerError::NotReady`] caused by a timeout.
const NO_PING: &str = "no `Ok.` from GET /ping";

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
            child: None,
            pid: 0,
        };
        // On failure `server` is dropped, which removes a temporary directory.
        server.start_with_port_retries(opts.http_port)?;
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
    fn start_with_port_retries(&mut self, http_port: Option<u16>) -> Result<(), LocalServerError> {
        let attempts = if http_port.is_some() {
            1
        } else {
            AUTO_PORT_ATTEMPTS
        };
        let mut attempt = 1;
        loop {
            let (auto_http, tcp) = pick_free_ports()?;
            self.http_port = http_port.unwrap_or(auto_http);
            self.tcp_port = tcp;
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
        let config = config_xml(&self.dir, self.http_port, self.tcp_port, identity);
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

/// The one server of [`shared`].
#[derive(Debug)]
pub struct SharedServer {
    http_url: String,
    pid: u32,
    data_dir: PathBuf,
}

impl SharedServer {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub fn http_url(&self) -> &str {
        &self.http_url
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where the server keeps its files (tests scan them for secrets).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Starts one server for the whole process on a dedicated, never-ending
/// thread, and returns it. The first call starts it; later calls return the
/// same server, or the same error text (so every test that needs it fails
/// with the clear message, e.g. the install command).
///
/// The thread parks forever because the server receives SIGKILL when the
/// thread that spawned it exits (see the module docs). The server is never
/// dropped; it dies with the process, and the next run removes its directory.
pub fn shared() -> Result<&'static SharedServer, String> {
    static SHARED: OnceLock<Result<SharedServer, String>> = OnceLock::new();
    SHARED
        .get_or_init(start_shared)
        .as_ref()
        .map_err(Clone::clone)
}

fn start_shared() -> Result<SharedServer, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("shared-clickhouse".into())
        .spawn(
            move || match LocalServer::start(LocalServerOptions::default()) {
                Ok(server) => {
                    let _ = tx.send(Ok(SharedServer {
                        http_url: server.http_url(),
                        pid: server.pid(),
                        data_dir: server.data_dir().to_owned(),
                    }));
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            },
        )
        .map_err(|e| format!("spawning the shared clickhouse thread: {e}"))?;
    rx.recv()
        .unwrap_or_else(|_| Err("the shared clickhouse thread panicked".to_string()))
}

/// The server executable plus the arguments that select the server mode.
#[derive(Debug, Clone)]
struct Binary {
    program: PathBuf,
    leading_args: Vec<&'static str>,
}

impl Binary {
    /// `clickhouse-server` on PATH, in /usr/sbin or /usr/bin, else the
    /// multi-call `clickhouse` on PATH run as `clickhouse server`.
    fn find() -> Result<Self, LocalServerError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let on_path = |name: &str| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| is_executable(p))
        };
        let server = on_path("clickhouse-server").or_else(|| {
            ["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"]
                .map(PathBuf::from)
                .into_iter()
                .find(|p| is_executable(p))
        });
        if let Some(program) = server {
            return Ok(Self {
                program,
                leading_args: vec![],
            });
        }
        on_path("clickhouse")
            .map(|program| Self {
                program,
                leading_args: vec!["server"],
            })
            .ok_or(LocalServerError::BinaryMissing)
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A per-start token put into the server's macros, to recognise it.
struct Identity(String);

impl Identity {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self(format!("{}-{nanos}", std::process::id()))
    }
}

/// Makes the server die with the thread that spawns it (see module docs).
/// Public for the other processes tests spawn (chromedriver).
pub fn die_with_spawning_thread(cmd: &mut Command) {
    let parent = std::process::id();
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: prctl(2) and getppid(2) are plain
    // syscalls, and the errors are built without allocating.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // If we died before prctl took effect, the child was reparented
            // and would never get the signal: refuse to exec.
            if u32::try_from(libc::getppid()) != Ok(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL; always reaps.
fn terminate(mut child: Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) has no memory-safety preconditions. The pid is our
        // own child and not yet reaped, so it cannot belong to another process.
        let _ = unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            _ => return,
        }
    }
    tracing::warn!(
        pid = child.id(),
        "clickhouse-server ignored SIGTERM; killing it"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Binds two loopback ports at once (so they differ), reads them, and
/// releases them for the server. Another process may grab one in between;
/// [`LocalServer::start`] retries for that.
fn pick_free_ports() -> Result<(u16, u16), LocalServerError> {
    let bind = || {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| Ok((l.local_addr()?.port(), l)))
            .map_err(|e| LocalServerError::io("picking a free loopback port", e))
    };
    let (http, _http_listener) = bind()?;
    let (tcp, _tcp_listener) = bind()?;
    Ok((http, tcp))
}

/// Creates `analytics-clickhouse-<pid>-<n>`; `create_dir` (not `_all`)
/// guarantees the directory is new and ours.
fn new_temp_dir() -> Result<PathBuf, LocalServerError> {
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
fn persistent_dir(dir: &Path) -> Result<PathBuf, LocalServerError> {
    let io_err = |e| LocalServerError::io(format!("creating {}", dir.display()), e);
    fs::create_dir_all(dir).map_err(io_err)?;
    std::path::absolute(dir).map_err(io_err)
}

/// Removes `analytics-clickhouse-<pid>-<n>` directories in `base` whose
/// process no longer exists. Nothing else is touched.
fn remove_stale_temp_dirs(base: &Path) {
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
fn stale_dir_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix(TEMP_DIR_PREFIX)?.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

fn write_file(path: &Path, contents: &str) -> Result<(), LocalServerError> {
    fs::write(path, contents)
        .map_err(|e| LocalServerError::io(format!("writing {}", path.display()), e))
}

/// The server config. Only loopback, file logs at `warning`, no system
/// logs (no `query_log` section): nothing records request contents.
fn config_xml(dir: &Path, http_port: u16, tcp_port: u16, identity: &Identity) -> String {
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
fn users_xml(max_memory_usage: u64) -> String {
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

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The last lines of the error log and of stdout/stderr, for error messages.
fn log_tail(log_dir: &Path) -> String {
    ["clickhouse-server.err.log", "stderr.log"]
        .iter()
        .map(|name| {
            let text = fs::read_to_string(log_dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
            format!("[{name}]\n{tail}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A minimal HTTP/1.0 GET to the loopback server, with short timeouts so a
/// wedged port cannot stall the readiness loop. Returns the body of a 200.
fn http_get(port: u16, path: &str) -> io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(250))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other("malformed HTTP response"))?;
    if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") {
        Ok(body.to_string())
    } else {
        Err(io::Error::other(format!("HTTP error: {head}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends one HTTP/1.0 request and returns the body; panics on non-200.
    fn http_request(url: &str, method: &str, path: &str, body: &str) -> String {
        let host = url.strip_prefix("http://").expect("http url");
        let mut stream = TcpStream::connect(host).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
        assert!(head.contains(" 200 "), "{head}\n{body}");
        body.to_string()
    }

    /// Runs `sql` (sent as the POST body) and returns the result text.
    fn http_query(url: &str, sql: &str) -> String {
        http_request(url, "POST", "/", sql)
    }

    fn wait_until_gone(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn temp_server_answers_and_is_cleaned_up_on_drop() {
        let server = LocalServer::start(LocalServerOptions::default()).unwrap();
        let url = server.http_url();
        assert_eq!(http_request(&url, "GET", "/?query=SELECT%201", ""), "1\n");
        let (dir, pid) = (server.data_dir().to_path_buf(), server.pid());
        assert!(dir.join("config.xml").exists());
        drop(server);
        assert!(!dir.exists(), "{} still exists", dir.display());
        assert!(
            wait_until_gone(pid),
            "clickhouse-server {pid} is still running"
        );
    }

    #[test]
    fn stop_and_restart_keep_data() {
        let mut server = LocalServer::start(LocalServerOptions::default()).unwrap();
        let url = server.http_url();
        http_query(
            &url,
            "CREATE TABLE kept (x UInt32) ENGINE = MergeTree() ORDER BY x",
        );
        http_query(&url, "INSERT INTO kept VALUES (42)");
        let old_pid = server.pid();
        server.stop();
        server.stop(); // idempotent
        assert!(wait_until_gone(old_pid));
        assert!(
            http_get(server.http_port, "/ping").is_err(),
            "server still answers"
        );
        server.restart().unwrap();
        assert_eq!(server.http_url(), url);
        assert_ne!(server.pid(), old_pid);
        assert_eq!(http_query(&url, "SELECT x FROM kept"), "42\n");
    }

    #[test]
    fn persistent_dir_is_kept() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("ch");
        let opts = LocalServerOptions {
            data_dir: Some(dir.clone()),
            ..LocalServerOptions::default()
        };
        let server = LocalServer::start(opts).unwrap();
        assert_eq!(http_query(&server.http_url(), "SELECT 2"), "2\n");
        drop(server);
        assert!(dir.join("config.xml").exists());
    }

    #[test]
    fn query_log_is_off() {
        let server = shared().unwrap();
        let sql =
            "SELECT count() FROM system.tables WHERE database = 'system' AND name LIKE '%log%'";
        assert_eq!(http_query(server.http_url(), sql), "0\n");
        let sql = "SELECT value FROM system.settings WHERE name = 'log_queries'";
        assert_eq!(http_query(server.http_url(), sql), "0\n");
    }

    #[test]
    fn shared_returns_the_same_server() {
        let a = shared().unwrap();
        let b = shared().unwrap();
        assert_eq!(a.http_url(), b.http_url());
        assert_eq!(a.pid(), b.pid());
        assert_eq!(http_query(a.http_url(), "SELECT 1"), "1\n");
    }

    #[test]
    fn taken_port_fails_fast_with_the_log_tail() {
        let blocker = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let opts = LocalServerOptions {
            http_port: Some(blocker.local_addr().unwrap().port()),
            ..LocalServerOptions::default()
        };
        let err = LocalServer::start(opts).expect_err("start must fail");
        let LocalServerError::NotReady {
            waited, log_tail, ..
        } = &err
        else {
            panic!("unexpected error: {err}");
        };
        assert!(*waited < Duration::from_secs(15), "{err}");
        assert!(log_tail.contains("Address already in use"), "{err}");
    }

    #[test]
    fn server_dies_with_the_spawning_thread() {
        let (pid, dir) = std::thread::spawn(|| {
            let server = LocalServer::start(LocalServerOptions::default()).unwrap();
            let found = (server.pid(), server.data_dir().to_path_buf());
            std::mem::forget(server); // no stop(): only PDEATHSIG can end it
            found
        })
        .join()
        .unwrap();
        // The killed server stays a zombie of this process (nobody reaps
        // it), so look at its state rather than at /proc/<pid> existing.
        let deadline = Instant::now() + Duration::from_secs(5);
        let dead = loop {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
            if matches!(state, None | Some("Z" | "X")) || Instant::now() > deadline {
                break matches!(state, None | Some("Z" | "X"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        fs::remove_dir_all(&dir).unwrap();
        assert!(dead, "clickhouse-server {pid} outlived its spawning thread");
    }

    #[test]
    fn stale_dirs_of_dead_processes_are_removed() {
        let base = tempfile::tempdir().unwrap();
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = base.path().join(format!("{TEMP_DIR_PREFIX}{dead}-0"));
        let alive = base
            .path()
            .join(format!("{TEMP_DIR_PREFIX}{}-0", std::process::id()));
        let other = base.path().join(format!("{TEMP_DIR_PREFIX}{dead}-x"));
        for dir in [&stale, &alive, &other] {
            fs::create_dir(dir).unwrap();
        }
        remove_stale_temp_dirs(base.path());
        assert!(!stale.exists());
        assert!(alive.exists());
        assert!(other.exists());
    }

    #[test]
    fn parses_only_our_dir_names() {
        assert_eq!(stale_dir_pid("analytics-clickhouse-123-4"), Some(123));
        assert_eq!(stale_dir_pid("analytics-clickhouse-123"), None);
        assert_eq!(stale_dir_pid("analytics-clickhouse-abc-4"), None);
        assert_eq!(stale_dir_pid("other-123-4"), None);
    }
}
