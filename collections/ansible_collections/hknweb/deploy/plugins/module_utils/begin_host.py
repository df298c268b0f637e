# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The host as the first stage sees it: every read and write Begin makes goes through one object, so
a unit test can hand Begin a scripted fake instead (tests/unit/test_begin_steps.py). Nothing is
decided here."""

from __future__ import annotations

import os
import pwd
import stat
import time

from ansible_collections.hknweb.deploy.plugins.module_utils import atomic, binds, env_paths, environments, host, layout, processes
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.intent import clear_intent, read_intent
from ansible_collections.hknweb.deploy.plugins.module_utils.records import mark_bad
from ansible_collections.hknweb.deploy.plugins.module_utils.releases_disk import scan, switch_current
from ansible_collections.hknweb.deploy.plugins.module_utils.revlog import append_log, log_line, log_tail
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import venv_keys


class Host:
    """The real host: the deploy user's files, git and the interpreters, the user manager, the lock."""

    def __init__(self):
        self.home = os.path.expanduser("~")
        self.uid = os.getuid()
        self.user = pwd.getpwuid(self.uid).pw_name

    # --- programs -----------------------------------------------------------------------------

    def run(self, argv, cwd=None):
        """A program without a shell; the Result's ok/out/err/rc, never an exception for a non-zero exit."""
        return host.run(argv, cwd=cwd)

    def user_manager(self):
        return host.systemctl("show-environment")

    def lingering(self, user):
        return os.path.exists("/var/lib/systemd/linger/%s" % user)

    def sweep_trials(self, path):
        return host.sweep_trials(path)

    # --- the deploy tree ----------------------------------------------------------------------

    def is_dir(self, path):
        return os.path.isdir(path)

    def lexists(self, path):
        return os.path.lexists(path)

    def exists(self, path):
        """Through links: a release's venv link to a removed venv does not exist."""
        return os.path.exists(path)

    def makedirs(self, path, mode=0o755):
        os.makedirs(path, mode, exist_ok=True)

    def chmod(self, path, mode):
        os.chmod(path, mode)

    def scan(self, path):
        return scan(path)

    def read_intent(self, path):
        return read_intent(path)

    def undo(self, path, op, restore, bad):
        """Undo a killed run's switch: `current` back on `restore`, `bad` marked, the intent record gone."""
        if restore:
            switch_current(path, restore)
            append_log(path, log_line("recover", restore, "", "", "undo of an interrupted %s" % op))
        if bad:
            mark_bad(layout.release_dir(path, bad), "an interrupted deploy switched to it; never proven healthy")
        clear_intent(path)

    def venv_keys(self, path):
        return venv_keys(path, complete_only=True)

    def check_writes(self, path, home_templates, shared_templates, writes, venvs):
        return env_paths.check_writes(path, self.home, home_templates, shared_templates, writes, venvs=venvs)

    def free_mib(self, path):
        info = os.statvfs(path)
        return info.f_bavail * info.f_frsize // (1024 * 1024)

    def clone_mirror(self, git, url, mirror):
        """Clone the mirror with a private umask: its config may hold a token."""
        old = os.umask(0o077)
        try:
            return git("clone", "--mirror", "--quiet", url, mirror)
        finally:
            os.umask(old)

    # --- the lock and the account's registry --------------------------------------------------

    def read_lock(self, path):
        return lock_.read_lock(path)

    def lock_alive(self, record):
        """Whether the run that holds a lock record is alive (its lease, or its stage's process)."""
        return lock_.alive(record, time.time(), processes.process_running)[0]

    def history(self, path):
        """revisions.log's last lines (64 KB at most), as text: what the last runs did."""
        return "\n".join(log_tail(path, 1000)) if os.path.isdir(path) else ""

    def take_lock(self, path, holder, purpose, run, lease, break_stale):
        return lock_.take_lock(path, holder, purpose, run, lease=lease, break_stale=break_stale)

    def lease_of(self, path, run, lease):
        return lock_.lease_of(path, run, lease)

    def bind_verdict(self, bind, unit, socket_unit, path, user):
        return binds.check(bind, unit, socket_unit, path, user)

    def repair_socket(self, socket_unit):
        return binds.repair(socket_unit)

    def record_environment(self, path, fields):
        environments.update(path, fields)

    # --- shared and home files ----------------------------------------------------------------

    def same_file(self, path, content, mode):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != mode:
            return False
        with open(path, "rb") as handle:
            return handle.read() == content.encode("utf-8")

    def write_private(self, path, content, mode):
        os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
        atomic.write_atomic(path, content, mode, exact_mode=True)

    def create_empty(self, path):
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
