#!/usr/bin/env python3
"""Imports a seeded, realistic history through the collector's /api/import,
for the report benchmark: the same privacy and enrichment pipeline as live
beacons.

Usage: bench-import.py EVENTS DAYS SITE END_UNIX_SECONDS COLLECTOR_URL TOKEN

Visits of one to eight events (pageviews, some custom events) by a pool of
visitors (their own networks and browsers), Zipf-distributed paths,
referrers, UTM tags and a daily traffic cycle, all before END. Prints the
summed import report as JSON.
"""
import bisect
import http.client
import json
import random
import sys
import time
import urllib.parse

LINES_PER_REQUEST = 500_000

events, days, site, end = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
target, token = urllib.parse.urlsplit(sys.argv[5]), sys.argv[6]
rng = random.Random(7)
start = end - days * 86400
paths = ["/"] + [f"/blog/post-{i}" for i in range(1, 400)] + [f"/docs/{i}" for i in range(1, 200)]
cumulative, total = [], 0.0
for i in range(len(paths)):
    total += 1.0 / (i + 1)
    cumulative.append(total)
agents = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
]
referrers = ["", "", "", "https://www.google.com/", "https://www.google.com/", "https://www.bing.com/",
             "https://duckduckgo.com/", "https://news.ycombinator.com/", "https://t.co/x",
             "https://www.reddit.com/r/rust/"]
tags = [""] * 8 + ["?utm_source=newsletter&utm_medium=email&utm_campaign=launch",
                   "?utm_source=mastodon&utm_medium=social"]
visitors = max(1, events // 12)


def lines():
    written = 0
    while written < events:
        v = rng.randrange(visitors)
        ip = f"{10 + v % 200}.{(v // 200) % 250}.{(v // 50000) % 250}.{rng.randrange(1, 250)}"
        ua = agents[v % len(agents)]
        hour = min(23, max(0, int(rng.gauss(14, 5))))
        t = start + rng.randrange(days) * 86400 + hour * 3600 + rng.randrange(3600)
        referrer, tag = rng.choice(referrers), rng.choice(tags)
        for i in range(min(1 + int(rng.expovariate(0.6)), 8)):
            if written >= events or t >= end:
                break
            path = paths[bisect.bisect_left(cumulative, rng.random() * total)]
            name = "pageview" if i == 0 or rng.random() > 0.08 else "Signup"
            yield json.dumps({
                "name": name, "url": f"https://{site}{path}{tag if i == 0 else ''}", "domain": site,
                "referrer": referrer if i == 0 else f"https://{site}/", "ip": ip, "user_agent": ua,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
            }) + "\n"
            written += 1
            t += rng.randrange(10, 400)


def post(batch):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
    body = "".join(batch).encode()
    connection.request("POST", "/api/import", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    if response.status != 200:
        sys.exit(f"import failed with {response.status}: {answer}")
    return answer


summary = {"accepted": 0, "dropped": {}, "invalid_count": 0}
batch = []
for line in lines():
    batch.append(line)
    if len(batch) == LINES_PER_REQUEST:
        answer = post(batch)
        batch = []
        summary["accepted"] += answer["accepted"]
        summary["invalid_count"] += answer["invalid_count"]
        for reason, n in answer["dropped"].items():
            summary["dropped"][reason] = summary["dropped"].get(reason, 0) + n
if batch:
    answer = post(batch)
    summary["accepted"] += answer["accepted"]
    summary["invalid_count"] += answer["invalid_count"]
    for reason, n in answer["dropped"].items():
        summary["dropped"][reason] = summary["dropped"].get(reason, 0) + n
print(json.dumps(summary))
