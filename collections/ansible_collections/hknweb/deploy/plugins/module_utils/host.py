# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Small helpers the modules share for running programs on the host: commands with a
clean environment, the user's systemd manager, the last lines of an error, secrets kept
out of messages. No Ansible imports, so the pure parts are unit tested directly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time

from ansible_collections.hknweb.deploy.plugins.module_utils import layout

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def redact_url(text):
    """Replace the user:password@ part of every URL in `text` with ***@."""
    if not text:
        return text
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", str(text))


def tail(text, lines=15, width=400):
    """The last `lines` non-empty lines of `text`, each cut to `width` characters."""
    kept = [line[:width] for line in str(text or "").splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def user_environment(extra=None):
    """os.environ plus what systemctl --user needs when the connection did not set it."""
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", "/run/user/%d" % os.getuid())
    env.setdefault("DBUS_SESSION_BUS_ADDRESS", "unix:path=%s/bus" % env["XDG_RUNTIME_DIR"])
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


class Result:
    def __init__(self, argv, rc, out, err, seconds):
        self.argv, self.rc, self.out, self.err, self.seconds = argv, rc, out, err, seconds

    @property
    def ok(self):
        return self.rc == 0


def run(argv, cwd=None, env=None, stdin=None, timeout=None):
    """Run a program without a shell; never raises for a non-zero exit."""
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env or user_environment(), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              universal_newlines=True, errors="replace")
    except FileNotFoundError as error:
        return Result(argv, 127, "", str(error), time.monotonic() - started)
    except subprocess.TimeoutExpired as error:
        return Result(argv, 124, error.stdout or "", "timed out after %ss" % timeout, time.monotonic() - started)
    return Result(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def systemctl(*args):
    return run(["systemctl", "--user"] + list(args))


def journal_tail(unit, lines=20):
    """The unit's recent journal lines, or a note on why there are none."""
    done = run(["journalctl", "--user", "-u", unit, "-n", str(lines), "--no-pager", "-o", "short-iso"])
    text = tail(done.out, lines)
    if done.ok and text and "-- No entries --" not in text:
        return text
    status = systemctl("status", "--no-pager", "-n", str(lines), unit)
    return tail(status.out, lines) or tail(done.err, 3)


class _GaveUp(Exception):
    """Raised inside http_get when its give_up callback names a reason to stop waiting."""


def http_get(bind, path, host, timeout=5.0, give_up=None):
    """(status, body excerpt) of GET path over the bind, or (None, why) when it fails.

    give_up, when given, is called about every 0.1 s while the answer is awaited; a reason it
    returns ends the wait with (None, reason). Behind a systemd socket a request to a server
    that is dying does not fail: it waits in the socket's queue, so only asking the unit tells
    a health check at once that nobody is going to answer."""
    deadline = time.monotonic() + timeout

    def waiting(call, *args):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            conn.settimeout(min(left, 0.1) if give_up else left)
            try:
                return call(*args)
            except socket.timeout:
                why = give_up() if give_up and time.monotonic() < deadline else None
                if why:
                    raise _GaveUp(why) from None

    try:
        if bind.startswith("unix:"):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address = bind[5:]
        else:
            hostname, _, port = bind.rpartition(":")
            hostname = hostname.strip("[]") or "127.0.0.1"
            if hostname in ("0.0.0.0", "::"):
                hostname = "127.0.0.1"
            conn = socket.socket(socket.AF_INET6 if ":" in hostname else socket.AF_INET, socket.SOCK_STREAM)
            address = (hostname, int(port))
        with conn:
            # connect in one go (a connect cut short cannot simply be called again); a listening
            # socket's queue takes the connection at once, and the wait is for the answer.
            conn.settimeout(timeout)
            conn.connect(address)
            conn.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: hknweb-deploy health check\r\n"
                          "Connection: close\r\n\r\n" % (path, host)).encode("latin-1"))
            data = b""
            while len(data) < 65536:
                chunk = waiting(conn.recv, 8192)
                if not chunk:
                    break
                data += chunk
    except _GaveUp as why:
        return None, str(why)
    except (OSError, ValueError) as error:
        return None, "%s: %s" % (type(error).__name__, error)
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return None, "not an HTTP answer: %r" % data[:80]
    return status, body[:300].decode("utf-8", "replace")


def unit_state(unit):
    done = systemctl("show", unit, "--property=ActiveState,SubState,MainPID,ActiveEnterTimestamp,ExecMainCode,ExecMainStatus")
    props = dict(line.split("=", 1) for line in done.out.splitlines() if "=" in line)
    return props


def process_release(pid):
    """The real folder a process runs in (gunicorn's master cds through current)."""
    try:
        return os.path.realpath(os.readlink("/proc/%d/cwd" % pid))
    except (OSError, ValueError):
        return None


def child_releases(pid):
    """The real folders the children of a process (gunicorn's workers) run in; [] when none.

    A worker forked before a reload still runs in the old release: while one is left, the old
    code may answer."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            children = [int(c) for c in handle.read().split()]
    except (OSError, ValueError):
        children = [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _parent(int(entry)) == pid]
    return [folder for folder in (process_release(child) for child in children) if folder]


def _parent(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def die_with_parent():
    """preexec_fn: a session of its own, and SIGTERM when the process that started it dies."""
    os.setsid()
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the sweep of the next run stops it


def sweep_trials(deploy_path):
    """Stop trial runs that a killed run left (their module is gone) and remove their sockets.

    A trial socket is layout.trial_socket(deploy_path, pid), pid being the module that started it."""
    swept = []
    for name in os.listdir(deploy_path):
        owner = layout.trial_socket_pid(name)
        if owner is None or _alive(owner):
            continue
        sock = os.path.join(deploy_path, name)
        for pid in _pids_mentioning(sock):
            try:
                if os.getpgid(pid) == pid:  # a trial run leads its own group: its workers go too
                    os.killpg(pid, signal.SIGTERM)
                else:
                    os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        try:
            os.unlink(sock)
        except OSError:
            pass
        swept.append(name)
    return swept


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pids_mentioning(text):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                if text.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found
