"""Put steady HTTP load on a test host's gunicorn while something runs, and check the outcome.

Importable by path (no package to install), e.g. from a Molecule testinfra suite:

    sys.path.insert(0, str(REPO / "tests" / "tools"))
    from hostload import under_load, assert_no_failures, assert_switched

    with under_load(container(), unix="/srv/apps/hkn/hkn.sock") as load:
        playbook("deploy.yml", "prod", "-e", "revision=r2")
    assert_no_failures(load.result)
    assert_switched(load.result, old=refs()["r1"], new=refs()["r2"])

under_load() runs tests/tools/loadgen.py inside the container as the deploy user
(`podman exec -i --user hkn CONTAINER python3 - ... < loadgen.py`), waits until its first request
succeeded (READY), runs the block, then stops it through a stop file and parses its JSON report
into `load.result` (the fields are documented in loadgen.py).
"""

import contextlib
import json
import subprocess
import threading
import time
import uuid
from pathlib import Path

LOADGEN = Path(__file__).resolve().parent / "loadgen.py"


class LoadError(RuntimeError):
    """The load generator could not start, or gave no report."""


class Load:
    """Handle yielded by under_load(); `result` is filled in when the block ends."""

    def __init__(self, command):
        self.command = command
        self.result = None
        self.stderr_lines = []
        self.stdout = ""
        self.returncode = None

    @property
    def stderr(self):
        return "".join(self.stderr_lines)


def _start_readers(proc, load, ready):
    def read_stderr():
        for line in proc.stderr:
            load.stderr_lines.append(line)
            if line.strip() == "READY":
                ready.set()

    def read_stdout():
        load.stdout = proc.stdout.read()

    readers = [threading.Thread(target=read_stderr, daemon=True), threading.Thread(target=read_stdout, daemon=True)]
    for reader in readers:
        reader.start()
    return readers


@contextlib.contextmanager
def under_load(container, *, unix=None, tcp=None, path="/health", threads=4, interval=0.005,
               host_header="localhost", timeout=5.0, ready_timeout=30.0, max_duration=1800,
               user="hkn", podman="podman"):
    """Steady load on `unix` (socket path) or `tcp` ("HOST:PORT") inside `container` for the block.

    Raises LoadError when no request succeeded within `ready_timeout` seconds (with loadgen's
    stderr), or when no report came back. `max_duration` bounds a generator that is never stopped.
    """
    if (unix is None) == (tcp is None):
        raise ValueError("under_load() needs exactly one of unix= or tcp=")
    stop_file = f"/tmp/loadgen-{uuid.uuid4().hex}.stop"
    target = ["--unix", unix] if unix is not None else ["--tcp", tcp]
    command = [podman, "exec", "-i", "--user", user, container, "python3", "-", *target,
               "--path", path, "--host-header", host_header, "--threads", str(threads),
               "--interval", str(interval), "--timeout", str(timeout), "--duration", str(max_duration),
               "--stop-file", stop_file, "--ready"]
    load = Load(command)
    ready = threading.Event()
    with open(LOADGEN, "rb") as script:
        proc = subprocess.Popen(command, stdin=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    readers = _start_readers(proc, load, ready)

    def stop():
        if proc.poll() is None:
            subprocess.run([podman, "exec", "--user", user, container, "touch", stop_file],
                           capture_output=True, timeout=30)
            try:
                proc.wait(timeout + 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for reader in readers:
            reader.join(5)
        load.returncode = proc.returncode

    deadline = time.monotonic() + ready_timeout
    while not ready.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            why = (f"it exited with {proc.returncode} before any request succeeded" if proc.poll() is not None
                   else f"no request succeeded within {ready_timeout:g} s")
            stop()
            where = unix if unix is not None else tcp
            raise LoadError(f"load generator on {where} in {container} not ready: {why}\n"
                            f"command: {' '.join(command)}\nloadgen stderr:\n{load.stderr or '(empty)'}"
                            + (f"\nloadgen report: {load.stdout.strip()}" if load.stdout.strip() else ""))

    failed = False
    try:
        yield load
    except BaseException:
        failed = True
        raise
    finally:
        stop()
        try:
            load.result = json.loads(load.stdout)
        except ValueError:
            if not failed:  # never hide the block's own exception behind this one
                raise LoadError(f"load generator gave no report (exit {proc.returncode})\n"
                                f"stdout: {load.stdout[:2000]!r}\nstderr:\n{load.stderr}") from None


def summary(result):
    """One line: totals, failures by kind, window, latency."""
    counts = ", ".join(f"{k} {v}" for k, v in result["counts"].items() if v and k != "ok")
    window = result.get("failure_window")
    span = (f", failures from {window['first']:.3f} s to {window['last']:.3f} s after start" if window else "")
    latency = result.get("latency") or {}
    return (f"{result['failed']} of {result['total']} requests failed ({counts or 'none'}){span}; "
            f"latency max {latency.get('max')} s, p99 {latency.get('p99')} s; {result['target']}")


def describe_revisions(result):
    runs = result.get("revisions") or []
    if not runs:
        return "(no successful answers)"
    return " -> ".join(f"{(r['revision'] or 'null')[:12]} x{r['count']} ({r['first']:.3f}-{r['last']:.3f} s)"
                       for r in runs)


def assert_no_failures(result):
    """Every request of the load was answered 2xx (and there were some)."""
    assert result["total"] > 0, f"the load generator sent no requests: {result}"
    if result["failed"]:
        examples = "; ".join(f"{kind}: {', '.join(msgs)}" for kind, msgs in (result.get("errors") or {}).items())
        raise AssertionError(f"{summary(result)}\nexamples: {examples}\nrevisions served: "
                             f"{describe_revisions(result)}")


def _same(revision, expected):
    """Full SHAs or unambiguous prefixes of them (at least 7 characters) name the same commit."""
    if revision is None or expected is None:
        return revision is expected
    short = min(len(revision), len(expected))
    return short >= 7 and revision[:short] == expected[:short]


def _find(by_revision, sha):
    for revision, entry in (by_revision or {}).items():
        if _same(None if revision == "null" else revision, sha):
            return entry
    return None


def switch_ok(result, old, new, strict=False):
    """(ok, message): answers came from `old`, then from `new`, and once an answer from `new` had
    been received, no request started later was answered by `old` (causal: two requests started
    within a few ms of each other may reach the server in either order, so the run list ordered
    by start can interleave at the switch without the old release ever serving again).
    strict=True also requires the run list to be exactly [old, new]."""
    runs = [r["revision"] for r in result.get("revisions") or []]
    shown = describe_revisions(result)
    if not runs:
        return False, "no successful answers at all"
    strangers = sorted({str(r) for r in runs if not (_same(r, old) or _same(r, new))})
    if strangers:
        return False, f"answers came from revisions other than {old[:12]} and {new[:12]}: {strangers}: {shown}"
    if not _same(runs[0], old):
        return False, f"the first answers came from {runs[0]!r}, not the old release {old!r}: {shown}"
    if not _same(runs[-1], new):
        return False, f"the last answers came from {runs[-1]!r}, not the new release {new!r}: {shown}"
    if strict and len(runs) != 2:
        return False, (f"expected one switch {old[:12]} -> {new[:12]}, got {len(runs) - 1} changes "
                       f"of the revision served: {shown}")
    old_entry, new_entry = _find(result.get("by_revision"), old), _find(result.get("by_revision"), new)
    if old_entry and new_entry and old_entry["last_start"] >= new_entry["first_end"]:
        late = old_entry["last_start"] - new_entry["first_end"]
        return False, (f"the old release {old[:12]} answered a request started {late * 1000:.1f} ms after "
                       f"an answer from the new release {new[:12]} had been received "
                       f"(at {new_entry['first_end']:.3f} s): {shown}")
    if len(runs) != 2:
        shown += " (interleaved only among requests in flight at the switch)"
    return True, shown


def assert_switched(result, old, new, strict=False):
    """The answers went from `old` to `new` and never back: after an answer from the new release
    had been received, every request started later was answered by it. See switch_ok()."""
    ok, message = switch_ok(result, old, new, strict=strict)
    if not ok:
        raise AssertionError(message)
