#!/usr/bin/env python3
"""Times the dashboard's Stats API queries for scripts/bench-reports and
writes target/bench/reports.md and reports.svg (see that script)."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time
import urllib.error
import urllib.request

p = argparse.ArgumentParser()
for flag in ["rollups", "raw", "token", "site", "command", "out"]:
    p.add_argument(f"--{flag}", required=True)
for flag in ["end", "runs", "raw-runs", "events", "days"]:
    p.add_argument(f"--{flag}", type=int, required=True)
# Rounds: the materialized queries are timed this many times over (each a
# median of --runs), so that a target is judged on every round, not on one.
p.add_argument("--rounds", type=int, default=1)
for flag in ["import-seconds", "materialize-seconds"]:
    p.add_argument(f"--{flag}", type=float, required=True)
a = p.parse_args()

QUERIES = [
    ("aggregate", {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]}),
    ("time series", {"metrics": ["visitors", "pageviews"], "dimensions": ["time"]}),
    ("top pages", {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], "pagination": {"limit": 10}}),
    ("sources", {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:source"], "pagination": {"limit": 10}}),
    ("countries", {"metrics": ["visitors"], "dimensions": ["visit:country"], "pagination": {"limit": 10}}),
    ("devices", {"metrics": ["visitors"], "dimensions": ["visit:device"]}),
    ("filtered", {"metrics": ["visitors", "visits", "pageviews", "bounce_rate"],
                  "filters": [["is", "visit:source", ["Google"]], ["contains", "event:page", ["/blog"]]]}),
    ("page engagement", {"metrics": ["visitors", "time_on_page", "scroll_depth", "exit_rate"],
                         "dimensions": ["event:page"], "pagination": {"limit": 10}}),
    ("engaged time", {"metrics": ["time_on_page"], "filters": [["contains", "event:page", ["/"]]]}),
    ("goals", {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]}),
    ("goal by source", {"metrics": ["visitors", "conversion_rate", "group_conversion_rate"],
                        "dimensions": ["visit:source"], "filters": [["is", "event:goal", ["Signup"]]],
                        "pagination": {"limit": 10}}),
]
RANGES = [("30d", 300), ("12mo", 1000)]


def ask(base, body):
    """Milliseconds and the answer; the answer is None when the service
    refused the report (a ClickHouse time or memory limit: 422)."""
    request = urllib.request.Request(f"{base}/api/v2/query", data=json.dumps(body).encode(), headers={
        "Authorization": f"Bearer {a.token}", "Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as e:
        if e.code != 422:
            raise
        answer = None
    return (time.perf_counter() - started) * 1000, answer


def timed(base, body, runs):
    times, answer = [], None
    for _ in range(runs):
        ms, answer = ask(base, body)
        times.append(ms)
    return statistics.median(times), answer


rows = []
for range_name, target in RANGES:
    for name, shape in QUERIES:
        body = {"site_id": a.site, "date_range": range_name, **shape}
        ask(a.rollups, body)  # warm caches once
        fast, fast_answer = timed(a.rollups, body, a.runs)
        slow, slow_answer = timed(a.raw, body, a.raw_runs)
        same = None if slow_answer is None else fast_answer["results"] == slow_answer["results"]
        if slow_answer is None:
            slow = None
        rows.append([name, range_name, fast, slow, target, same, [fast]])
        print(f"{range_name:5} {name:12} {fast:8.1f} ms  raw {slow} ms  same={same}", flush=True)

# Later rounds repeat only the materialized side, in the same order, once
# every query has run: a round is a pass over the whole dashboard.
for round_number in range(2, a.rounds + 1):
    for row in rows:
        name, range_name = row[0], row[1]
        shape = dict(QUERIES)[name]
        body = {"site_id": a.site, "date_range": range_name, **shape}
        ms, _ = timed(a.rollups, body, a.runs)
        row[6].append(ms)
        print(f"round {round_number} {range_name:5} {name:12} {ms:8.1f} ms", flush=True)

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
lines = [
    "## Reports",
    "",
    f"{a.events:,} events over {a.days} days for one site, imported through `POST /api/import` "
    f"in {a.import_seconds:.0f} s; visits and rollups materialized by the query service in "
    f"{a.materialize_seconds:.0f} s. Each query is the median of {a.runs} runs after one warm-up, "
    f"in each of {a.rounds} round(s) over the whole list (the materialized column is the first round; "
    f"'met' counts the rounds under target); "
    f"the baseline builds visits from raw events (`rollups = false`), {a.raw_runs} run(s), same data, same run.",
    "",
    "| query | range | materialized (ms) | later rounds (ms) | from raw events (ms) | speed-up | target | met | same answer |",
    "|---|---|---:|---:|---:|---:|---:|:-:|:-:|",
]
for name, range_name, fast, slow, target, same, rounds in rows:
    raw = "over the limits (422)" if slow is None else f"{slow:.0f}"
    speedup = "-" if slow is None else f"{slow / fast:.1f}x"
    agrees = "-" if same is None else ("yes" if same else "NO")
    later = " / ".join(f"{ms:.0f}" for ms in rounds[1:]) or "-"
    met = sum(ms < target for ms in rounds)
    lines.append(f"| {name} | {range_name} | {fast:.0f} | {later} | {raw} | {speedup} | < {target} ms "
                 f"| {met}/{len(rounds)} | {agrees} |")
lines += [
    "",
    f"Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
    f"ClickHouse {sh('clickhouse-server --version 2>/dev/null | head -1') or '18.16'}.",
    "",
    f"Command: `{a.command}`",
    "",
    "![report latency](reports.svg)",
    "",
]
with open(os.path.join(a.out, "reports.md"), "w") as f:
    f.write("\n".join(lines))

# A bar chart: materialized latency per query, one group per range, with the target.
width, bar, gap, top, height = 760, 22, 8, 30, 300
scale = max(max(r[2] for r in rows), 1000) * 1.1
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 120}" font-family="sans-serif" font-size="11">',
       f'<text x="10" y="18" font-size="13">Report latency over {a.events:,} events (median ms, log-free linear scale)</text>']
x = 40
for range_name, target in RANGES:
    group = [r for r in rows if r[1] == range_name]
    y_target = top + height - target / scale * height
    svg.append(f'<line x1="{x - 4}" x2="{x + len(group) * (bar + gap)}" y1="{y_target:.1f}" y2="{y_target:.1f}" stroke="#c00" stroke-dasharray="4 3"/>')
    svg.append(f'<text x="{x}" y="{y_target - 4:.1f}" fill="#c00">{range_name} target {target} ms</text>')
    for name, _, fast, _, _, _, _ in group:
        h = fast / scale * height
        svg.append(f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar}" height="{h:.1f}" fill="#4a7ab5"/>')
        svg.append(f'<text x="{x + bar / 2}" y="{top + height - h - 3:.1f}" text-anchor="middle">{fast:.0f}</text>')
        svg.append(f'<text transform="translate({x + bar / 2},{top + height + 10}) rotate(60)">{name}</text>')
        x += bar + gap
    x += 60
svg.append("</svg>")
with open(os.path.join(a.out, "reports.svg"), "w") as f:
    f.write("\n".join(svg))
print(f"wrote {a.out}/reports.md and reports.svg")
