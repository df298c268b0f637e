# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The one host object the switch acts through (switch_exec.py): systemctl, signals, the HTTP
health GET, the trial run's process, files, links, the clock, and the release tree's records
(release_policy). Each method is a thin call; unit tests replace the whole object with a
scripted fake (tests/unit/fakehost.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from ansible_collections.hknweb.deploy.plugins.module_utils import host as host_
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils import atomic, intent, lock, prune, records, releases_disk, revlog


class SwitchHost:
    # --- systemd, processes, HTTP ---------------------------------------------------------

    def systemctl(self, *args):
        return host_.systemctl(*args)

    def unit_state(self, unit):
        return host_.unit_state(unit)

    def journal(self, unit, lines=20):
        return host_.journal_tail(unit, lines)

    def process_release(self, pid):
        return host_.process_release(pid)

    def child_releases(self, pid):
        return host_.child_releases(pid)

    def hup(self, pid):
        """SIGHUP to gunicorn's master; False when it is gone already."""
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            return False
        return True

    def http_get(self, bind, path, host, give_up=None):
        return host_.http_get(bind, path, host, give_up=give_up)

    def monotonic(self):
        return time.monotonic()

    def sleep(self, seconds):
        time.sleep(seconds)

    def own_pid(self):
        return os.getpid()

    def trial(self, argv, cwd, env, sock, ask, deadline):
        """Run `argv` (a gunicorn on the unix socket `sock`) until `ask()` returns an answer
        (None, or why it failed) or `deadline`; returns (answer, gunicorn's output)."""
        with tempfile.TemporaryFile() as log:
            # Its own session (a stop kills the whole group), and it dies with this module: a run
            # killed during its trial leaves no gunicorn behind (deploy_begin also sweeps leftovers).
            proc = subprocess.Popen(argv, cwd=cwd, env=host_.user_environment(env), stdout=log, stderr=log,
                                    preexec_fn=host_.die_with_parent)
            try:
                answer, delay = "no answer", 0.05
                while time.monotonic() < deadline:
                    if proc.poll() is not None:
                        answer = "gunicorn exited with %s before it answered" % proc.returncode
                        break
                    if os.path.exists(sock):
                        answer = ask()
                        if answer != "wait":
                            break
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.1)
            finally:
                _stop(proc)
                if os.path.exists(sock):
                    os.unlink(sock)
            log.seek(0)
            return answer, log.read().decode("utf-8", "replace")

    # --- files and links ------------------------------------------------------------------

    def home(self):
        return os.path.expanduser("~")

    def isdir(self, path):
        return os.path.isdir(path)

    def realpath(self, path):
        return os.path.realpath(path)

    def read_file(self, path):
        """(content, permission bits), or (None, None) when it cannot be read."""
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read(), os.stat(path).st_mode & 0o7777
        except OSError:
            return None, None

    def write_file(self, path, content, mode):
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        atomic.write_atomic(path, content, mode, exact_mode=True)

    def link_state(self, path):
        if os.path.islink(path):
            return os.readlink(path)
        return "not a link" if os.path.lexists(path) else "absent"

    def make_link(self, path, target):
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        atomic.replace_link(path, target)

    # --- the release tree (release_policy) ------------------------------------------------

    def releases(self, path):
        """(live, {name: {"state", "record", "revision"}}); refuses a `current` it cannot read."""
        inventory = releases_disk.scan(path)
        live = inventory.require_live()
        return live, {r.name: dict(state=r.state, record=r.record or {}, revision=r.revision)
                      for r in inventory.releases}

    def release_dir(self, path, name):
        return os.path.realpath(layout.release_dir(path, name))

    def venv_of(self, folder):
        return os.path.realpath(os.path.join(folder, layout.VENV_LINK))

    def gunicorn(self, folder):
        return layout.venv_program(folder, "gunicorn")

    def write_intent(self, path, op, previous, target, run):
        intent.write_intent(path, op, previous, target, "switching", run)

    def clear_intent(self, path):
        intent.clear_intent(path)

    def write_record(self, path, name, record):
        records.write_record(self.release_dir(path, name), record)

    def switch_current(self, path, name):
        releases_disk.switch_current(path, name)

    def mark_bad(self, path, name, reason):
        records.mark_bad(self.release_dir(path, name), reason)

    def clear_bad(self, path, name):
        records.clear_bad(self.release_dir(path, name))

    def append_log(self, path, event, release, sha, ref, deployer):
        revlog.append_log(path, revlog.log_line(event, release, sha or "", ref or "", deployer))

    def give_lock(self, path, run):
        return lock.give_lock(path, run)

    def prune(self, path, keep, check):
        """(releases removed, venvs removed)."""
        _, removed, venvs, _ = prune.prune(path, keep, check)
        return removed, venvs


def _stop(proc):
    # A trial serves no one and its answer is in: its group is killed at once. A graceful stop would
    # cost every deploy 0.1-0.3 s (gunicorn's master looks for its exited workers every 0.1 s).
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # gone meanwhile
    proc.wait()
