# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Tell a gunicorn master that was killed from outside (kill -9, the OOM killer) from a release
that cannot run: the health check gives the first time to come back (systemd restarts it,
Restart=on-failure) instead of putting a healthy release back. Pure: reads a unit_state dict."""

from __future__ import annotations

# systemd's ExecMainCode: how the last main process ended (siginfo si_code).
CLD_EXITED, CLD_KILLED, CLD_DUMPED = "1", "2", "3"


def killed_from_outside(state):
    """The last master ended by a signal it did not raise itself and systemd will start it again.
    A release that cannot boot makes gunicorn's master EXIT (code 3 after a worker failed to boot),
    so an exit is never taken for a kill."""
    if state.get("ExecMainCode") not in (CLD_KILLED, CLD_DUMPED):
        return False
    return state.get("SubState") in ("auto-restart", "stop-sigterm", "stop-sigkill", "final-sigterm",
                                     "final-sigkill", "start", "start-pre", "running", "deactivating")


def describe(state):
    return "its master was killed (signal %s) and systemd is starting it again" % (state.get("ExecMainStatus") or "?")
