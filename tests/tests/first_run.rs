//! The README's first command, as a newcomer meets it: `scripts/up` brings
//! the stack up, and the commands it prints work exactly as printed (taken
//! from its real output and run by a shell); `scripts/up --demo` fills the
//! demo site, and a second run gives the same totals instead of doubling
//! them.
//!
//! Each test runs the script in its own process group with its own data
//! directory (`VAR_DIR`) and free loopback ports, and stops the group when
//! it ends, whatever happens.

use serde_json::Value;
use std::collections::HashSet;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The script may have to build binaries first.
const UP_DEADLINE: Duration = Duration::from_secs(900);

/// What the script prints once everything is ready.
const READY_LINE: &str = "Ctrl-C stops everything.";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `scripts/up`, stopped (its whole process group) on drop.
struct Stack {
    child: Child,
    var: PathBuf,
    query_port: u16,
    stdout: PathBuf,
    stderr: PathBuf,
}

#[derive(Clone, Copy)]
struct Ports {
    collector: u16,
    query: u16,
    clickhouse: u16,
}

impl Ports {
    fn free() -> Self {
        Self {
            collector: free_port(),
            query: free_port(),
            clickhouse: free_port(),
        }
    }
}

impl Stack {
    /// Starts the script and waits until it says the stack is up.
    fn up(var: &Path, ports: Ports, args: &[&str], run: &str) -> Self {
        let stdout = var.with_extension(format!("{run}.stdout"));
        let stderr = var.with_extension(format!("{run}.stderr"));
        let child = Command::new("bash")
            .arg("scripts/up")
            .args(args)
            .current_dir(repo_root())
            .env("VAR_DIR", var)
            .env("COLLECTOR_PORT", ports.collector.to_string())
            .env("QUERY_PORT", ports.query.to_string())
            .env("CLICKHOUSE_HTTP_PORT", ports.clickhouse.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .process_group(0)
            .spawn()
            .expect("running scripts/up");
        let mut stack = Self {
            child,
            var: var.to_owned(),
            query_port: ports.query,
            stdout,
            stderr,
        };
        stack.wait_until_up();
        stack
    }

    fn wait_until_up(&mut self) {
        let started = Instant::now();
        while !self.output().contains(READY_LINE) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "scripts/up ended ({status}) before the stack was up:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < UP_DEADLINE,
                "scripts/up was not up within {UP_DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn log(&self) -> String {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        format!("--- stdout\n{}\n--- stderr\n{stderr}", self.output())
    }

    /// The command printed under the line that starts with `heading`:
    /// its indented lines, with `\` continuations joined.
    fn printed_command(&self, heading: &str) -> String {
        let output = self.output();
        let mut lines = output.lines().skip_while(|l| !l.starts_with(heading));
        assert!(lines.next().is_some(), "no `{heading}` in\n{output}");
        let command: Vec<&str> = lines
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.trim().trim_end_matches('\\').trim_end())
            .collect();
        assert!(!command.is_empty(), "nothing under `{heading}`");
        command.join(" ")
    }

    fn token(&self) -> String {
        std::fs::read_to_string(self.var.join("dev-token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// One Stats API query, as an editor's client sends it.
    fn stats(&self, body: Value) -> Value {
        let url = format!("http://127.0.0.1:{}/api/v2/query", self.query_port);
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "30", &url, "-H"])
            .arg(format!("Authorization: Bearer {}", self.token()))
            .args(["-d", &body.to_string()])
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // The script stops its services on TERM; the group covers the rest.
        let group = i32::try_from(self.child.id()).expect("a pid");
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Sends `signal` to the process group this test started (through
/// kill(1), so no unsafe code is needed).
fn signal_group(group: i32, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{group}"))
        .status();
}

/// Runs a printed command the way a reader pastes it into a shell.
fn run_in_shell(command: &str) -> String {
    let output = Command::new("bash")
        .args(["-c", command])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success(), "`{command}` failed: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Polls `f` every half second until it returns `Some`, for at most `within`.
fn poll<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_printed_commands_work_on_a_fresh_stack() {
    let dir = tempfile::tempdir().unwrap();
    let var = dir.path().join("var");
    let stack = Stack::up(&var, Ports::free(), &[], "fresh");

    let beacon = run_in_shell(&stack.printed_command("Send a beacon by hand"));
    let head = beacon.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 202"), "{beacon}");
    // (The CORS headers name the drop header; only the header itself counts.)
    let dropped = head.lines().any(|l| l.starts_with("x-analytics-dropped:"));
    assert!(!dropped, "the beacon was dropped: {beacon}");

    let stored = stack.printed_command("See what was stored");
    let row = poll(Duration::from_secs(20), || {
        let table = run_in_shell(&stored);
        table.contains("/hello").then_some(table)
    });
    let row = row.unwrap_or_else(|| panic!("the beacon was not stored:\n{}", stack.log()));
    assert!(row.contains("readme") && row.contains("Chrome"), "{row}");

    let answer = run_in_shell(&stack.printed_command("Ask the Stats API"));
    let answer: Value = serde_json::from_str(&answer).expect("JSON from the Stats API");
    assert_eq!(
        answer["results"],
        serde_json::json!([{"dimensions": ["readme"], "metrics": [1, 1, 100]}]),
        "{answer}"
    );
}

/// What the demo sent, worked out again from its generator for the days
/// its summary names: (events, distinct visitors).
fn demo_expected(output: &str) -> (u64, u64) {
    let summary = output
        .lines()
        .find_map(|l| l.strip_prefix("demo: "))
        .unwrap_or_else(|| panic!("no demo summary in\n{output}"));
    let last_day = summary
        .split(" to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| panic!("no last day in `{summary}`"));
    let today = last_day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() / 86_400 + 1;
    let lines = loadtest::demo::lines(&loadtest::demo::DemoConfig {
        seed: 1,
        site: "demo.example".into(),
        days: 30,
        visitors_per_day: 100,
        today,
    });
    // A visitor is an address and a browser on one day (ids change daily).
    let visitors: HashSet<(String, String, i64)> = lines
        .iter()
        .map(|l| {
            let at = chrono::DateTime::parse_from_rfc3339(l["timestamp"].as_str().unwrap());
            (
                l["ip"].to_string(),
                l["user_agent"].to_string(),
                at.unwrap().timestamp().div_euclid(86_400),
            )
        })
        .collect();
    (lines.len() as u64, visitors.len() as u64)
}

/// Totals of the demo site over all its days (events, visitors, visits,
/// pageviews, bounce rate, duration), once every imported event is
/// readable, and the number of days with visitors.
fn demo_totals(stack: &Stack) -> (Vec<u64>, usize) {
    let (events, _) = demo_expected(&stack.output());
    let query = serde_json::json!({
        "site_id": "demo.example",
        "metrics": ["events", "visitors", "visits", "pageviews", "bounce_rate", "visit_duration"],
        "date_range": "all",
    });
    // Imported rows land in batches; the events metric counts them all.
    let totals = poll(Duration::from_secs(120), || {
        let answer = stack.stats(query.clone());
        let metrics: Vec<u64> = answer["results"][0]["metrics"]
            .as_array()?
            .iter()
            .map(|m| m.as_u64().unwrap_or(u64::MAX))
            .collect();
        (metrics[0] == events).then_some(metrics)
    })
    .unwrap_or_else(|| {
        panic!(
            "the demo's {events} events did not all show:\n{}",
            stack.log()
        )
    });
    let days = stack.stats(serde_json::json!({
        "site_id": "demo.example",
        "metrics": ["visitors"],
        "date_range": "all",
        "dimensions": ["time:day"],
    }));
    let with_visitors = days["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["metrics"][0].as_u64().unwrap_or(0) > 0)
        .count();
    (totals, with_visitors)
}

/// `visitors` is an estimate (uniqCombined(14): about 0.8% standard error,
/// see docs/stats-api.md), over ids that differ from run to run, since the
/// import hashes older days under salts made for that request alone.
fn assert_close_to(estimate: u64, truth: u64) {
    let error = estimate.abs_diff(truth) as f64 / truth as f64;
    assert!(error < 0.04, "{estimate} visitors, {truth} in truth");
}

#[test]
fn the_demo_fills_a_month_and_a_second_run_does_not_double_it() {
    let dir = tempfile::tempdir().unwrap();
    let var = dir.path().join("var");
    let ports = Ports::free();
    let (first, days, truth) = {
        let stack = Stack::up(&var, ports, &["--demo"], "demo-1");
        let (totals, days) = demo_totals(&stack);
        (totals, days, demo_expected(&stack.output()).1)
    };
    assert!(truth >= 1_000, "{truth} visitors");
    assert_close_to(first[1], truth);
    assert!(days >= 20, "{days} days with traffic");

    let stack = Stack::up(&var, ports, &["--demo"], "demo-2");
    let (second, days_again) = demo_totals(&stack);
    assert_close_to(second[1], truth);
    // Everything counted exactly is exactly the same: nothing doubled.
    let exact = |t: &[u64]| [t[0], t[2], t[3], t[4], t[5]];
    assert_eq!(
        exact(&second),
        exact(&first),
        "a second run changed the totals"
    );
    assert_eq!(days_again, days);
    // The location reports fill in from the demo's own GeoIP database.
    let countries = stack.stats(serde_json::json!({
        "site_id": "demo.example",
        "metrics": ["visitors"],
        "date_range": "all",
        "dimensions": ["visit:country"],
    }));
    let named = countries["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["dimensions"][0].as_str().is_some_and(|c| c.len() == 2))
        .count();
    assert!(named >= 5, "{countries}");
}
