#!/usr/bin/env python3
"""Steady HTTP load against one gunicorn, from inside the test host; one JSON report at the end.

Standard library only; runs on Python 3.9 and later, also as a script read from stdin:

    podman exec -i --user hkn CONTAINER python3 - --unix /srv/apps/hkn/hkn.sock --ready \\
        --stop-file /tmp/stop < tests/tools/loadgen.py

Each of --threads threads sends GET --path (HTTP/1.0, `Connection: close`) on a NEW connection,
waits for the whole answer, sleeps --interval seconds, and starts again, until SIGTERM/SIGINT,
until --stop-file exists, or after --duration seconds. Then it prints one JSON object (to stdout,
or to --out FILE):

    total, ok, failed          requests sent; ok = 2xx; failed = everything else
    counts                     per kind: ok, refused (ECONNREFUSED, or ENOENT: no socket file),
                               reset (ECONNRESET/EPIPE, or closed before any answer), timeout
                               (--timeout for the whole request), http_5xx, http_other (1xx/3xx/4xx),
                               other (anything else; see errors)
    failure_window             {"first": s, "last": s, "span": s} of failed requests (start times,
                               seconds after the load started), or null when none failed
    latency                    {"max", "p99", "p50"} in seconds, over every request
    revisions                  runs of the revision the 2xx answers named (the sample app's /health
                               answers {"status": "ok", "revision": "<sha>", ...}), ordered by request
                               start: [{"revision": sha, "first": s, "last": s, "count": n}, ...]; a
                               2xx without a revision counts as revision null
    by_revision                per revision: count, first_start, last_start, first_end, last_end (s).
                               Threads are scheduled unevenly (the GIL), so requests started within a
                               few ms of each other can reach the server in another order than their
                               start times: at a switch, `revisions` may show old/new interleaved for
                               a few requests even when the server never served the old release
                               again. The causal test: no answer from the old revision to a request
                               started after the first answer from the new one was received, i.e.
                               by_revision[old].last_start < by_revision[new].first_end.
    errors                     up to 5 example messages per failure kind
    duration, threads, interval, target, path, started_at (epoch seconds), stopped_by

--ready prints READY to stderr once the first request succeeded (the load is on).
"""

import argparse
import errno
import json
import math
import os
import signal
import socket
import sys
import threading
import time

KINDS = ("ok", "refused", "reset", "timeout", "http_5xx", "http_other", "other")
EXAMPLES_PER_KIND = 5


class Timeout(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="loadgen", description="steady HTTP load, one JSON report")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH", help="unix socket of the server")
    where.add_argument("--tcp", metavar="HOST:PORT", help="TCP address of the server")
    parser.add_argument("--path", default="/health")
    parser.add_argument("--host-header", default="localhost")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.005,
                        help="seconds each thread sleeps between requests (default 0.005)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default 5)")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0: no limit)")
    parser.add_argument("--stop-file", metavar="PATH", help="stop once this file exists (it is removed)")
    parser.add_argument("--out", metavar="FILE", help="write the JSON here instead of stdout")
    parser.add_argument("--ready", action="store_true", help="print READY to stderr after the first 2xx")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.tcp:
        host, sep, port = args.tcp.rpartition(":")
        if not sep or not host or not port.isdigit():
            parser.error("--tcp wants HOST:PORT, e.g. 127.0.0.1:8001")
        args.address = (host, int(port))
    return args


def request(args, deadline):
    """One request on a new connection: (kind, http status or None, body bytes, error text)."""
    family = socket.AF_UNIX if args.unix else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        def remaining():
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            return left

        sock.settimeout(remaining())
        sock.connect(args.unix if args.unix else args.address)
        payload = ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\nUser-Agent: loadgen\r\n\r\n"
                   % (args.path, args.host_header)).encode("ascii")
        sock.settimeout(remaining())
        sock.sendall(payload)
        chunks = []
        while True:
            sock.settimeout(remaining())
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
        raw = b"".join(chunks)
    except (socket.timeout, Timeout):
        return "timeout", None, b"", "no complete answer within %.1f s" % args.timeout
    except ConnectionRefusedError as exc:
        return "refused", None, b"", str(exc)
    except FileNotFoundError as exc:
        return "refused", None, b"", "no socket file: %s" % exc
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
        return "reset", None, b"", str(exc)
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            return "refused", None, b"", str(exc)
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            return "reset", None, b"", str(exc)
        return "other", None, b"", "%s: %s" % (type(exc).__name__, exc)
    finally:
        sock.close()

    if not raw:
        return "reset", None, b"", "connection closed before any answer"
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return "other", None, b"", "not an HTTP answer: %r" % status_line[:80]
    status = int(parts[1])
    if 200 <= status < 300:
        return "ok", status, body, ""
    if 500 <= status < 600:
        return "http_5xx", status, body, status_line
    return "http_other", status, body, status_line


def revision_of(body):
    try:
        value = json.loads(body.decode("utf-8")).get("revision")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) else None


class Load:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.records = []  # (start s, latency s, kind, revision)
        self.errors = {}
        self.ready = threading.Event()
        self.t0 = time.monotonic()
        self.started_at = time.time()

    def worker(self):
        args = self.args
        while not self.stop.is_set():
            start = time.monotonic()
            kind, _status, body, error = request(args, start + args.timeout)
            latency = time.monotonic() - start
            revision = revision_of(body) if kind == "ok" else None
            with self.lock:
                self.records.append((start - self.t0, latency, kind, revision))
                if error:
                    examples = self.errors.setdefault(kind, [])
                    if len(examples) < EXAMPLES_PER_KIND and error not in examples:
                        examples.append(error)
            if kind == "ok" and not self.ready.is_set():
                self.ready.set()
                if args.ready:
                    sys.stderr.write("READY\n")
                    sys.stderr.flush()
            if args.interval > 0:
                self.stop.wait(args.interval)

    def report(self, stopped_by):
        args = self.args
        records = sorted(self.records, key=lambda r: r[0])
        counts = dict.fromkeys(KINDS, 0)
        for _, _, kind, _ in records:
            counts[kind] += 1
        failures = [r[0] for r in records if r[2] != "ok"]
        latencies = sorted(r[1] for r in records)
        runs = []
        by_revision = {}
        for start, latency, kind, revision in records:
            if kind != "ok":
                continue
            end = start + latency
            entry = by_revision.get(revision)
            if entry is None:
                by_revision[revision] = {"count": 1, "first_start": start, "last_start": start,
                                         "first_end": end, "last_end": end}
            else:
                entry["count"] += 1
                entry["last_start"] = start  # records are sorted by start
                entry["first_end"] = min(entry["first_end"], end)
                entry["last_end"] = max(entry["last_end"], end)
        for start, _, kind, revision in records:
            if kind != "ok":
                continue
            if runs and runs[-1]["revision"] == revision:
                runs[-1]["last"] = round(start, 4)
                runs[-1]["count"] += 1
            else:
                runs.append({"revision": revision, "first": round(start, 4), "last": round(start, 4), "count": 1})
        return {
            "target": ("unix:" + args.unix) if args.unix else "%s:%d" % args.address,
            "path": args.path,
            "threads": args.threads,
            "interval": args.interval,
            "started_at": round(self.started_at, 3),
            "duration": round(time.monotonic() - self.t0, 3),
            "stopped_by": stopped_by,
            "total": len(records),
            "ok": counts["ok"],
            "failed": len(records) - counts["ok"],
            "counts": counts,
            "failure_window": ({"first": round(failures[0], 4), "last": round(failures[-1], 4),
                                "span": round(failures[-1] - failures[0], 4)} if failures else None),
            "latency": {"max": round(latencies[-1], 4) if latencies else None,
                        "p99": round(percentile(latencies, 99), 4) if latencies else None,
                        "p50": round(percentile(latencies, 50), 4) if latencies else None},
            "revisions": runs,
            "by_revision": {str(rev) if rev is not None else "null": {k: (round(v, 4) if k != "count" else v)
                                                                       for k, v in entry.items()}
                            for rev, entry in by_revision.items()},
            "errors": self.errors,
        }


def percentile(ordered, pct):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    load = Load(args)
    stopped_by = []

    def on_signal(signum, _frame):
        stopped_by.append(signal.Signals(signum).name)
        load.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = [threading.Thread(target=load.worker, name="load-%d" % i, daemon=True) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    while not load.stop.is_set():
        if args.stop_file and os.path.exists(args.stop_file):
            stopped_by.append("stop-file")
            try:
                os.unlink(args.stop_file)
            except OSError:
                pass
            break
        if args.duration and time.monotonic() - load.t0 >= args.duration:
            stopped_by.append("duration")
            break
        load.stop.wait(0.05)
    load.stop.set()
    for thread in threads:
        thread.join(args.timeout + 1)

    text = json.dumps(load.report(stopped_by[0] if stopped_by else "unknown"), indent=1, sort_keys=True)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
