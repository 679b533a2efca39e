//! One server for the whole test process, started on a thread that lives
//! as long as the process (see the parent module on why the thread matters).

use super::{LocalServer, LocalServerOptions};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, OnceLock};

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
