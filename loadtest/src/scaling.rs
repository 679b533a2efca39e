//! `loadtest bench-scaling`: the ingest benchmark's core-count matrix
//! (issue #25) as a markdown fragment and an SVG chart. `scripts/bench-ingest`
//! runs the servers pinned to 1, 2, 4 and 8 cores (on a machine with at
//! least 12), writes one `--json` report per run and a line per run in a
//! tab-separated manifest; this reads them back.
//!
//! The manifest's columns: `server` (`collector` or `ceiling`), `durability`
//! (`memory`, `spool`, or `-` for the ceiling), `cores`, `connections`, the
//! CPU lists of the server, ClickHouse and the load generator, the server
//! process's CPU seconds in the measured run, its peak RSS in KiB, the
//! spool's fsyncs and the rows they made durable (`-` when not known), and
//! the report's path (relative to the manifest).

use crate::bench_report::Machine;
use crate::stats::Report;
use anyhow::{bail, Context};
use std::fmt::Write as _;
use std::path::Path;

/// Issue #25's targets for the pinned runs.
const TARGET_ONE_CORE_RATIO: f64 = 0.75;
const TARGET_ONE_CORE_P99_MS: f64 = 2.0;
const TARGET_SPOOL_RATIO: f64 = 0.5;
const TARGET_SPOOL_P99_MS: f64 = 10.0;
const TARGET_MEMORY_RSS_MIB: f64 = 64.0;
const TARGET_SPOOL_RSS_MIB: f64 = 100.0;
/// Doubling the ceiling's cores should nearly double its throughput; less
/// than this gain means something else (the load generator, the loopback)
/// is the bottleneck, and ratios at that size say little.
const SCALING_GAIN: f64 = 1.25;

/// One measured run of the matrix.
#[derive(Debug, Clone)]
pub struct Run {
    pub server: String,
    pub durability: String,
    pub cores: usize,
    pub connections: usize,
    pub server_cpus: String,
    pub clickhouse_cpus: String,
    pub load_cpus: String,
    pub cpu_seconds: Option<f64>,
    pub rss_kib: Option<u64>,
    pub fsyncs: Option<u64>,
    pub fsync_rows: Option<u64>,
    pub report: Report,
}

impl Run {
    fn is(&self, server: &str, durability: &str) -> bool {
        self.server == server && self.durability == durability
    }

    fn rss_mib(&self) -> Option<f64> {
        self.rss_kib.map(|kib| kib as f64 / 1024.0)
    }

    /// Microseconds of server CPU per accepted beacon (collector) or per
    /// request (ceiling).
    fn cpu_us(&self) -> Option<f64> {
        let n = if self.server == "ceiling" {
            self.report.sent
        } else {
            self.report.accepted
        };
        self.cpu_seconds.map(|s| s * 1e6 / n.max(1) as f64)
    }

    fn stored_all(&self) -> bool {
        self.report.verification.as_ref().is_some_and(|v| v.ok)
    }
}

/// Reads the manifest and every report it names.
pub fn read_runs(manifest: &Path) -> anyhow::Result<Vec<Run>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut runs = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [server, durability, cores, connections, server_cpus, clickhouse_cpus, load_cpus, cpu, rss, fsyncs, fsync_rows, report] =
            fields[..]
        else {
            bail!(
                "{} line {}: expected 12 tab-separated fields",
                manifest.display(),
                n + 1
            );
        };
        let path = dir.join(report);
        let report: Report = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?;
        runs.push(Run {
            server: server.into(),
            durability: durability.into(),
            cores: cores.parse().context("cores")?,
            connections: connections.parse().context("connections")?,
            server_cpus: server_cpus.into(),
            clickhouse_cpus: clickhouse_cpus.into(),
            load_cpus: load_cpus.into(),
            cpu_seconds: optional(cpu)?,
            rss_kib: optional(rss)?,
            fsyncs: optional(fsyncs)?,
            fsync_rows: optional(fsync_rows)?,
            report,
        });
    }
    Ok(runs)
}

fn optional<T: std::str::FromStr>(field: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match field {
        "-" | "" => Ok(None),
        value => Ok(Some(value.parse()?)),
    }
}

/// Writes `ingest-scaling.md` and `ingest-scaling.svg`; returns the markdown.
pub fn write(runs: &[Run], command: &str, out_dir: &Path) -> anyhow::Result<String> {
    let markdown = markdown(runs, &crate::bench_report::machine(), command);
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(out_dir.join("ingest-scaling.md"), &markdown)?;
    std::fs::write(out_dir.join("ingest-scaling.svg"), svg(runs))?;
    Ok(markdown)
}

/// The core counts of the memory-mode matrix, ascending.
fn core_counts(runs: &[Run]) -> Vec<usize> {
    let mut cores: Vec<usize> = runs
        .iter()
        .filter(|r| r.is("ceiling", "-"))
        .map(|r| r.cores)
        .collect();
    cores.sort_unstable();
    cores.dedup();
    cores
}

/// The memory-mode run of `server` at `cores`, at the matrix's connection
/// count (the smallest one used: the spool pair may use more).
fn matrix_run<'a>(
    runs: &'a [Run],
    server: &str,
    durability: &str,
    cores: usize,
) -> Option<&'a Run> {
    runs.iter()
        .filter(|r| r.is(server, durability) && r.cores == cores)
        .min_by_key(|r| r.connections)
}

/// The first core count at which doubling the ceiling's cores stopped
/// paying: the load is then bound elsewhere.
pub fn ceiling_stops_scaling(runs: &[Run]) -> Option<usize> {
    let cores = core_counts(runs);
    cores.windows(2).find_map(|pair| {
        let before = matrix_run(runs, "ceiling", "-", pair[0])?
            .report
            .throughput_per_s;
        let after = matrix_run(runs, "ceiling", "-", pair[1])?
            .report
            .throughput_per_s;
        let expected = SCALING_GAIN.powf((pair[1] as f64 / pair[0] as f64).log2());
        (after < before * expected).then_some(pair[1])
    })
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

pub fn markdown(runs: &[Run], machine: &Machine, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Ingest per core (pinned)\n");
    let Some(first) = runs.first() else {
        let _ = writeln!(out, "No runs.");
        return out;
    };
    let _ = writeln!(
        out,
        "Each server pinned to its own cores, ClickHouse and the load generator to others; \
         closed loop, {:.0} s per run, seed {}, every accepted beacon verified in ClickHouse.\n",
        first.report.elapsed_s, first.report.seed
    );
    let _ = writeln!(
        out,
        "| server cores | bare hyper | collector (memory) | ratio | collector p99 | CPU per beacon / per request | collector peak RSS | stored == accepted |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
    let stops = ceiling_stops_scaling(runs);
    for cores in core_counts(runs) {
        let (Some(ceiling), Some(collector)) = (
            matrix_run(runs, "ceiling", "-", cores),
            matrix_run(runs, "collector", "memory", cores),
        ) else {
            continue;
        };
        let bound = if stops.is_some_and(|s| cores >= s) {
            " (not scaling)"
        } else {
            ""
        };
        let cpu = match (collector.cpu_us(), ceiling.cpu_us()) {
            (Some(c), Some(k)) => format!("{c:.2} / {k:.2} µs"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| {cores} | {:.0}/s{bound} | {:.0}/s | {:.2}× | {:.2} ms | {cpu} | {} | {} |",
            ceiling.report.throughput_per_s,
            collector.report.throughput_per_s,
            collector.report.throughput_per_s / ceiling.report.throughput_per_s.max(1e-9),
            collector.report.latency.p99_ms,
            collector
                .rss_mib()
                .map_or("-".into(), |m| format!("{m:.1} MiB")),
            if collector.stored_all() {
                "yes"
            } else {
                "**no**"
            },
        );
    }
    let _ = writeln!(out);
    match stops {
        Some(cores) => {
            let _ = writeln!(
                out,
                "The ceiling stops scaling at {cores} server cores (less than {SCALING_GAIN}× per doubling): \
                 past that the load generator or the loopback is the bottleneck, and the ratios there understate \
                 neither server's capacity.\n"
            );
        }
        None => {
            let _ = writeln!(out, "The ceiling scaled with every doubling of cores (at least {SCALING_GAIN}× each).\n");
        }
    }
    targets(&mut out, runs);
    let _ = writeln!(out, "![ingest per core](ingest-scaling.svg)\n");
    let _ = writeln!(out, "Placement (CPU lists given to `taskset`):\n");
    let _ = writeln!(
        out,
        "| run | connections | server | ClickHouse | load generator |"
    );
    let _ = writeln!(out, "|---|---:|---|---|---|");
    for run in runs {
        let _ = writeln!(
            out,
            "| {} {} at {} cores | {} | {} | {} | {} |",
            run.server,
            run.durability,
            run.cores,
            run.connections,
            run.server_cpus,
            run.clickhouse_cpus,
            run.load_cpus
        );
    }
    let _ = writeln!(
        out,
        "\nMachine: {} cores (`nproc`), {}, Linux {}.\n",
        machine.cores, machine.cpu, machine.kernel
    );
    let _ = writeln!(out, "Command: `{command}`");
    out
}

/// The target table: one core, spool mode, memory.
fn targets(out: &mut String, runs: &[Run]) {
    let _ = writeln!(out, "| target | measured | |");
    let _ = writeln!(out, "|---|---:|---|");
    if let (Some(ceiling), Some(collector)) = (
        matrix_run(runs, "ceiling", "-", 1),
        matrix_run(runs, "collector", "memory", 1),
    ) {
        let ratio = collector.report.throughput_per_s / ceiling.report.throughput_per_s.max(1e-9);
        let p99 = collector.report.latency.p99_ms;
        let _ = writeln!(
            out,
            "| one core: collector ≥ {TARGET_ONE_CORE_RATIO}× the ceiling | {ratio:.2}× | {} |",
            verdict(ratio >= TARGET_ONE_CORE_RATIO)
        );
        let _ = writeln!(
            out,
            "| one core: p99 < {TARGET_ONE_CORE_P99_MS} ms | {p99:.2} ms | {} |",
            verdict(p99 < TARGET_ONE_CORE_P99_MS)
        );
    }
    let spool = runs.iter().find(|r| r.is("collector", "spool"));
    if let Some(spool) = spool {
        // The memory run at the spool run's cores and connections.
        let memory = runs.iter().find(|r| {
            r.is("collector", "memory")
                && r.cores == spool.cores
                && r.connections == spool.connections
        });
        if let Some(memory) = memory {
            let ratio = spool.report.throughput_per_s / memory.report.throughput_per_s.max(1e-9);
            let _ = writeln!(
                out,
                "| spool at {} cores, {} connections: ≥ {TARGET_SPOOL_RATIO}× memory mode ({:.0}/s) | {:.0}/s, {ratio:.2}× | {} |",
                spool.cores,
                spool.connections,
                memory.report.throughput_per_s,
                spool.report.throughput_per_s,
                verdict(ratio >= TARGET_SPOOL_RATIO)
            );
        }
        let p99 = spool.report.latency.p99_ms;
        let _ = writeln!(
            out,
            "| spool p99 < {TARGET_SPOOL_P99_MS} ms | {p99:.2} ms | {} |",
            verdict(p99 < TARGET_SPOOL_P99_MS)
        );
        if let (Some(fsyncs), Some(rows)) = (spool.fsyncs, spool.fsync_rows) {
            let _ = writeln!(
                out,
                "| spool fsyncs per second, rows per fsync | {:.0}/s, {:.1} | |",
                fsyncs as f64 / spool.report.elapsed_s.max(1e-9),
                rows as f64 / fsyncs.max(1) as f64
            );
        }
        if let Some(mib) = spool.rss_mib() {
            let _ = writeln!(
                out,
                "| spool peak RSS < {TARGET_SPOOL_RSS_MIB} MB | {mib:.1} MiB | {} |",
                verdict(mib < TARGET_SPOOL_RSS_MIB)
            );
        }
        let _ = writeln!(
            out,
            "| spool: every accepted beacon stored | {} | {} |",
            if spool.stored_all() { "yes" } else { "no" },
            verdict(spool.stored_all())
        );
    }
    let peak = runs
        .iter()
        .filter(|r| r.is("collector", "memory"))
        .filter_map(Run::rss_mib)
        .fold(None, |max: Option<f64>, m| {
            Some(max.map_or(m, |x| x.max(m)))
        });
    if let Some(mib) = peak {
        let _ = writeln!(
            out,
            "| memory mode peak RSS < {TARGET_MEMORY_RSS_MIB} MB (highest run) | {mib:.1} MiB | {} |",
            verdict(mib < TARGET_MEMORY_RSS_MIB)
        );
    }
    let _ = writeln!(out);
}

/// Beacons per second against server cores, one line per server, the
/// cores on a doubling scale.
pub fn svg(runs: &[Run]) -> String {
    let cores = core_counts(runs);
    let series = [
        ("bare hyper ceiling", "ceiling", "-", "#9aa5b1"),
        ("collector (memory)", "collector", "memory", "#2f6fb0"),
    ];
    let points = |server: &str, durability: &str| -> Vec<(usize, f64)> {
        cores
            .iter()
            .filter_map(|&c| {
                matrix_run(runs, server, durability, c).map(|r| (c, r.report.throughput_per_s))
            })
            .collect()
    };
    let max = series
        .iter()
        .flat_map(|(_, s, d, _)| points(s, d))
        .map(|(_, y)| y)
        .fold(1.0_f64, f64::max);
    let (width, height) = (640.0, 360.0);
    let (left, right, top, bottom) = (80.0, width - 30.0, 50.0, height - 60.0);
    let steps = cores.len().saturating_sub(1).max(1) as f64;
    let x_of = |c: usize| {
        let i = cores.iter().position(|&k| k == c).unwrap_or(0) as f64;
        left + (right - left) * i / steps
    };
    let y_of = |v: f64| bottom - (bottom - top) * v / (max * 1.1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">Beacons per second against pinned server cores</text>"##,
        width / 2.0
    );
    let _ = writeln!(
        out,
        r##"<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#333"/>"##
    );
    for &c in &cores {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{c}</text>"#,
            x_of(c),
            bottom + 18.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">server cores</text>"#,
        (left + right) / 2.0,
        bottom + 40.0
    );
    for tick in 0..=4 {
        let v = max * 1.1 * tick as f64 / 4.0;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{:.0}k</text>"#,
            left - 8.0,
            y_of(v) + 4.0,
            v / 1000.0
        );
    }
    for (i, (name, server, durability, colour)) in series.iter().enumerate() {
        let line: Vec<String> = points(server, durability)
            .iter()
            .map(|&(c, y)| format!("{:.1},{:.1}", x_of(c), y_of(y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#,
            line.join(" ")
        );
        for (c, y) in points(server, durability) {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#,
                x_of(c),
                y_of(y)
            );
        }
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="14" height="14" fill="{colour}"/><text x="{}" y="{}">{name}</text>"#,
            left + 10.0,
            top + i as f64 * 20.0,
            left + 30.0,
            top + 12.0 + i as f64 * 20.0
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Latency, Verification};
    use std::collections::BTreeMap;

    fn run(server: &str, durability: &str, cores: usize, connections: usize, rps: f64) -> Run {
        Run {
            server: server.into(),
            durability: durability.into(),
            cores,
            connections,
            server_cpus: "0".into(),
            clickhouse_cpus: "8-11".into(),
            load_cpus: "12-15".into(),
            cpu_seconds: Some(rps * 10.0 * 8e-6),
            rss_kib: (server == "collector").then_some(50 * 1024),
            fsyncs: (durability == "spool").then_some(1000),
            fsync_rows: (durability == "spool").then_some(50_000),
            report: Report {
                target: "http://127.0.0.1:1".into(),
                mode: "closed-loop".into(),
                connections,
                rate: None,
                seed: 1,
                sent: (rps * 10.0) as u64,
                accepted: (rps * 10.0) as u64,
                dropped: BTreeMap::new(),
                errors: BTreeMap::new(),
                transport_errors: BTreeMap::new(),
                elapsed_s: 10.0,
                throughput_per_s: rps,
                accepted_per_s: rps,
                latency: Latency {
                    p99_ms: 1.5,
                    ..Latency::default()
                },
                verification: Some(Verification {
                    expected: 1,
                    stored: 1,
                    ok: true,
                    waited_s: 0.1,
                }),
            },
        }
    }

    fn matrix() -> Vec<Run> {
        vec![
            run("ceiling", "-", 1, 64, 100_000.0),
            run("collector", "memory", 1, 64, 80_000.0),
            run("ceiling", "-", 2, 64, 190_000.0),
            run("collector", "memory", 2, 64, 150_000.0),
            run("ceiling", "-", 4, 64, 250_000.0),
            run("collector", "memory", 4, 64, 200_000.0),
            run("collector", "memory", 4, 256, 210_000.0),
            run("collector", "spool", 4, 256, 105_000.0),
        ]
    }

    #[test]
    fn the_ceiling_stops_scaling_where_doubling_gains_little() {
        // 1 -> 2 cores: 1.9x; 2 -> 4: 1.32x, above 1.25x; so it scales.
        assert_eq!(ceiling_stops_scaling(&matrix()), None);
        let mut runs = matrix();
        runs[4] = run("ceiling", "-", 4, 64, 200_000.0);
        assert_eq!(ceiling_stops_scaling(&runs), Some(4));
    }

    #[test]
    fn fragment_has_the_matrix_targets_and_placement() {
        let machine = Machine {
            cores: 16,
            cpu: "Some CPU".into(),
            kernel: "6.1".into(),
        };
        let text = markdown(&matrix(), &machine, "scripts/bench-ingest");
        // 80,000 of 100,000 at one core; the 64-connection memory run, not the 256 one.
        assert!(
            text.contains(
                "| 1 | 100000/s | 80000/s | 0.80× | 1.50 ms | 8.00 / 8.00 µs | 50.0 MiB | yes |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| 4 | 250000/s | 200000/s | 0.80× |"),
            "{text}"
        );
        assert!(
            text.contains("| one core: collector ≥ 0.75× the ceiling | 0.80× | met |"),
            "{text}"
        );
        // The spool run against the memory run at the same 256 connections.
        assert!(
            text.contains("(210000/s) | 105000/s, 0.50× | met |"),
            "{text}"
        );
        assert!(text.contains("| 100/s, 50.0 |"), "{text}");
        assert!(
            text.contains("| collector spool at 4 cores | 256 | 0 | 8-11 | 12-15 |"),
            "{text}"
        );
        assert!(text.contains("scaled with every doubling"), "{text}");
        let chart = svg(&matrix());
        assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
        assert_eq!(chart.matches("<polyline").count(), 2);
    }

    #[test]
    fn the_manifest_is_read_with_its_reports() {
        let dir = std::env::temp_dir().join(format!("scaling-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let report = run("ceiling", "-", 1, 64, 1000.0).report;
        std::fs::write(dir.join("c1.json"), serde_json::to_string(&report).unwrap()).unwrap();
        let manifest = dir.join("runs.tsv");
        std::fs::write(
            &manifest,
            "ceiling\t-\t1\t64\t0\t8-11\t12-15\t0.08\t-\t-\t-\tc1.json\n",
        )
        .unwrap();
        let runs = read_runs(&manifest).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].cpu_seconds, Some(0.08));
        assert_eq!(runs[0].rss_kib, None);
        assert_eq!(runs[0].report.sent, 10_000);
        std::fs::write(&manifest, "ceiling\t-\t1\n").unwrap();
        assert!(read_runs(&manifest).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
