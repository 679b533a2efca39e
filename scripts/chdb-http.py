#!/usr/bin/env python3
"""ClickHouse's HTTP interface over chdb, the current ClickHouse engine
running in this process, so that the project's own code (schema migrate, the
collector's salts and inserts, the materializer, the query service) can run
unchanged against ClickHouse 26 in tests/tests/current_clickhouse.rs.

Usage: chdb-http.py DATA_DIR
Listens on 127.0.0.1 on a free port and prints `listening PORT` once ready.
It stops when its standard input closes (the test that started it ended).

What it translates, and nothing more:
- the statement comes from the body, or from `?query=` when the body holds
  an insert's data; `database` becomes `USE`, `default_format` the output
  format, and every other parameter a setting for that statement only
  (`SET` before it, `SET ... = DEFAULT` after; `readonly` goes into the
  statement's own `SETTINGS` clause instead, since once set in the session
  it cannot be set back);
- `INSERT INTO t(cols) FORMAT F` followed by data: chdb takes no binary
  data with a statement, so the data is written to a file and inserted with
  `INSERT INTO t(cols) SELECT * FROM file(path, F)` (F names its columns);
- errors answer 500 with `X-ClickHouse-Exception-Code`, as the server does.

`GET /__statements` answers, as JSON, every statement run since the last
call with the error it failed with (or null), so the test can name them.
"""

import json
import os
import re
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session

# HTTP-interface parameters that are not settings.
NOT_SETTINGS = {
    "query", "database", "default_format", "query_id", "session_id",
    "session_timeout", "session_check", "compress", "decompress", "role",
    "user", "password",
}
INSERT_WITH_DATA = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*$", re.I | re.S)
CODE = re.compile(r"Code: (\d+)")


class Engine:
    """One chdb session, used by one statement at a time."""

    def __init__(self, path):
        self.session = session.Session(path)
        self.lock = threading.Lock()
        self.spill = tempfile.mkdtemp(prefix="chdb-http-insert-")
        self.log = []

    def run(self, sql, params, data):
        database = params.get("database")
        fmt = params.get("default_format", "TabSeparated")
        settings = [(k, v) for k, v in params.items() if k not in NOT_SETTINGS]
        readonly = [(k, v) for k, v in settings if k == "readonly"]
        settings = [(k, v) for k, v in settings if k != "readonly"]
        with self.lock:
            started = time.monotonic()
            try:
                statement = self.statement(sql, data)
                for name, value in readonly:
                    statement = f"{statement} SETTINGS {quote_name(name)} = {quote_value(value)}"
                if database:
                    self.session.query(f"USE {quote_name(database)}")
                for name, value in settings:
                    self.session.query(f"SET {quote_name(name)} = {quote_value(value)}")
                try:
                    out = self.session.query(statement, fmt).bytes()
                finally:
                    for name, _ in settings:
                        self.session.query(f"SET {quote_name(name)} = DEFAULT")
                self.log.append({"sql": sql, "error": None})
                slow(sql, started)
                return out
            except Exception as e:  # chdb raises one error type for everything
                self.log.append({"sql": sql, "error": str(e)})
                raise

    def statement(self, sql, data):
        match = INSERT_WITH_DATA.match(sql)
        if not match:
            return sql
        target, fmt = match.groups()
        path = os.path.join(self.spill, "rows")
        with open(path, "wb") as f:
            f.write(data)
        return f"INSERT INTO {target} SELECT * FROM file('{path}', '{fmt}')"

    def drain(self):
        with self.lock:
            log, self.log = self.log, []
        return log


def slow(sql, started):
    """Names slow statements on stderr (the test shows it when it fails)."""
    seconds = time.monotonic() - started
    if seconds > float(os.environ.get("CHDB_HTTP_SLOW_SECONDS", "1")):
        print(f"chdb-http: {seconds:.1f} s: {sql[:200]}", file=sys.stderr, flush=True)


def quote_name(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a plain name: {name!r}")
    return name


def quote_value(value):
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm
    # and delayed ACKs add 40 ms to every statement.
    disable_nagle_algorithm = True
    engine = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/__statements":
            self.reply(200, json.dumps(self.engine.drain()).encode())
        elif url.path == "/ping":
            self.reply(200, b"Ok.\n")
        else:
            self.handle_query(dict(parse_qsl(url.query)), b"")

    def do_POST(self):
        params = dict(parse_qsl(urlsplit(self.path).query))
        self.handle_query(params, self.body())

    def handle_query(self, params, body):
        if params.get("compress") == "1" or params.get("decompress") == "1":
            self.reply(500, b"Code: 1. chdb-http: compressed bodies are not supported", 1)
            return
        if "query" in params:
            sql, data = params["query"], body
        else:
            sql, data = body.decode(), b""
        try:
            out = self.engine.run(sql, params, data)
        except Exception as e:
            text = str(e)
            code = CODE.search(text)
            self.reply(500, text.encode(), int(code.group(1)) if code else 1)
            return
        self.reply(200, out)

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, status, payload, code=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        if code is not None:
            self.send_header("X-ClickHouse-Exception-Code", str(code))
        self.end_headers()
        self.wfile.write(payload)


def main():
    Handler.engine = Engine(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening {server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes it or ends
    server.shutdown()


if __name__ == "__main__":
    main()
