//! The server process: finding the binary, spawning it so that it dies with
//! its spawning thread, stopping it, loopback ports, the readiness probe and
//! the log tail that errors carry.

use super::{LocalServerError, LOG_TAIL_LINES, STOP_GRACE};
use std::fs::{self};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The server executable plus the arguments that select the server mode.
#[derive(Debug, Clone)]
pub(super) struct Binary {
    pub(super) program: PathBuf,
    pub(super) leading_args: Vec<&'static str>,
}

impl Binary {
    /// `clickhouse-server` on PATH, in /usr/sbin or /usr/bin, else the
    /// multi-call `clickhouse` on PATH run as `clickhouse server`.
    pub(super) fn find() -> Result<Self, LocalServerError> {
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

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A per-start token put into the server's macros, to recognise it.
pub(super) struct Identity(pub(super) String);

impl Identity {
    pub(super) fn new() -> Self {
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
pub(super) fn terminate(mut child: Child) {
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
pub(super) fn pick_free_ports() -> Result<(u16, u16), LocalServerError> {
    let ports = pick_free_port_list(2)?;
    Ok((ports[0], ports[1]))
}

/// `n` distinct free loopback ports (all bound at once, then released).
pub(crate) fn pick_free_port_list(n: usize) -> Result<Vec<u16>, LocalServerError> {
    let mut held = Vec::with_capacity(n);
    let mut ports = Vec::with_capacity(n);
    for _ in 0..n {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| LocalServerError::io("picking a free loopback port", e))?;
        ports.push(
            listener
                .local_addr()
                .map_err(|e| LocalServerError::io("picking a free loopback port", e))?
                .port(),
        );
        held.push(listener);
    }
    Ok(ports)
}

/// The last lines of the error log and of stdout/stderr, for error messages.
pub(super) fn log_tail(log_dir: &Path) -> String {
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
pub(super) fn http_get(port: u16, path: &str) -> io::Result<String> {
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
