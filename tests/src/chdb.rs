//! Current ClickHouse for tests: `scripts/chdb-http.py`, the ClickHouse 26
//! engine of PyPI's `chdb-core` behind ClickHouse's HTTP interface, so the
//! services' own code runs against it unchanged. One Python process per
//! test binary; it logs every statement with its error, which tests drain
//! to name the statements that failed.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};

/// The Python that runs the adapter: `PYTHON` if set, else `python3`.
fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// One statement the engine ran, and the error it failed with.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Statement {
    pub sql: String,
    pub error: Option<String>,
}

/// The adapter process; stopped (by its PID) when dropped.
pub struct ChdbServer {
    child: Child,
    /// Held open: the adapter exits when its standard input closes, so it
    /// cannot outlive the test even if the test is killed.
    _stdin: ChildStdin,
    url: String,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl ChdbServer {
    /// Starts the adapter over a fresh data directory. Panics, naming the
    /// fix, when Python or `chdb-core` is missing: the check must not skip.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/chdb-http.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; run scripts/install-deps", python()));
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(port) = line.trim().strip_prefix("listening ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chdb-http.py did not start (is chdb-core installed? run scripts/install-deps)");
        };
        let url = format!("http://127.0.0.1:{port}");
        Self {
            child,
            _stdin: stdin,
            url,
            _dir: dir,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The statements run since the last call.
    pub async fn statements(&self) -> Vec<Statement> {
        let url = format!("{}/__statements", self.url);
        let response = self.http.get(url).send().await.unwrap();
        response.json().await.unwrap()
    }
}

impl Drop for ChdbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
