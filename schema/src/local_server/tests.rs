//! The launcher against a real `clickhouse-server`.

use super::files::stale_dir_pid;
use super::*;
use std::fs::{self};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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
    let sql = "SELECT count() FROM system.tables WHERE database = 'system' AND name LIKE '%log%'";
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
