# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Whether a release answers (switch_exec.py's "prove" and "trial" steps): the unit, its master's
release, its workers', and a 200 from the health path; the trial run on a private socket before a
release goes live. Everything goes through the host object, the clock too, so the unit tests' fake
host answers in milliseconds."""

from __future__ import annotations


from ansible_collections.hknweb.deploy.plugins.module_utils import layout, master_death
from ansible_collections.hknweb.deploy.plugins.module_utils.host import tail


def died(state, pid=None):
    """Why the service will not answer (it started and exited, or its master was replaced since
    `pid` was asked), or None. A master killed from outside is not a bad release: the health
    check waits for systemd to start it again (module_utils/master_death.py)."""
    if master_death.killed_from_outside(state):
        return None
    if state.get("SubState") in ("auto-restart", "failed", "dead") or state.get("ActiveState") == "failed":
        return "the service exited after it started (%s/%s)" % (state.get("ActiveState"), state.get("SubState"))
    if pid and int(state.get("MainPID") or 0) not in (0, pid):
        return "the service exited after it started (its master %d was replaced by %s)" % (pid, state.get("MainPID"))
    return None


def answer_text(opts, status, answer):
    if status:
        return "GET %s with Host %s answered %s: %s" % (opts.health_path, opts.health_host, status,
                                                        " ".join(answer.split())[:200])
    return "GET %s: %s" % (opts.health_path, answer)


def prove(host, opts, release):
    """Poll until healthy or out of time; returns the health dict (ok, seconds, status, detail, pid)."""
    expected = host.release_dir(opts.path, release)
    started = host.monotonic()
    deadline = started + max(1, int(opts.health_timeout))
    last_status, delay = None, 0.05

    def health(ok, detail, status=None, pid=0):
        return dict(ok=ok, seconds=round(host.monotonic() - started, 2), status=status, detail=detail, pid=pid)

    while True:
        state = host.unit_state(opts.service)
        pid = int(state.get("MainPID") or 0)
        why = died(state)
        if why:
            # It started and died (a worker failed to boot): waiting longer only makes the
            # queued requests wait, so put the previous release back now.
            return health(False, why, pid=pid)
        status, detail = None, waiting(host, opts, state, pid, expected, release)
        if detail is None:
            if not opts.health_path:
                return health(True, "active, running %s" % release, pid=pid)
            status, detail, final = ask(host, opts, pid, release, last_status)
            if final is not None:
                return health(final, detail, status, pid)
            last_status = status
        if host.monotonic() >= deadline:
            return health(False, detail, status, pid)
        host.sleep(delay)
        delay = min(delay * 1.5, 0.1)  # a restart takes about a second: look often


def waiting(host, opts, state, pid, expected, release):
    """What the unit is still waiting for before it can be asked, or None."""
    if state.get("ActiveState") != "active" or not pid:
        return "the unit is %s (%s)" % (state.get("ActiveState"), state.get("SubState"))
    running = host.process_release(pid)
    if running != expected:
        return "the running process (pid %d) is in %s, not in the release %s" % (pid, running, release)
    if any(worker != expected for worker in host.child_releases(pid)):
        return "workers of the release before are still finishing their requests"
    return None


def ask(host, opts, pid, release, last_status):
    """One health GET: (status, detail, verdict) - verdict True/False ends the proof, None waits."""
    # The question waits in the socket's queue while gunicorn boots; it must not also wait
    # there for a master that died meanwhile (a worker failed to boot).
    gone = []

    def give_up():
        gone.append(died(host.unit_state(opts.service), pid))
        return gone[-1]

    status, answer = host.http_get(opts.bind, opts.health_path, opts.health_host, give_up=give_up)
    if gone and gone[-1]:
        return None, gone[-1], False
    if status == 200:
        # Ask the unit again: a worker that fails to boot makes the master exit.
        again = host.unit_state(opts.service)
        if again.get("ActiveState") == "active" and int(again.get("MainPID") or 0) == pid:
            return 200, "GET %s answered 200 from %s (pid %d)" % (opts.health_path, release, pid), True
    detail = answer_text(opts, status, answer)
    if status and status == last_status:
        # The app itself answered, twice, and not 200: it will not get better by waiting, and
        # meanwhile it answers real requests the same way.
        return status, detail, False
    return status, detail, None


def trial(host, opts, release):
    """Boot the new release on a private socket and ask it; None when it answers 200, else why."""
    spec = opts.trial
    folder = host.release_dir(opts.path, release)
    sock = layout.trial_socket(opts.path, host.own_pid())
    argv = [host.gunicorn(folder)] + [str(a) for a in spec.get("args") or []] + ["--bind", "unix:" + sock,
                                                                                  "--workers", "1"]
    env = {str(k): str(v) for k, v in (spec.get("environment") or {}).items()}

    def ask_trial():
        status, answer = host.http_get("unix:" + sock, opts.health_path, opts.health_host)
        if status == 200:
            return None
        return answer_text(opts, status, answer) if status else "wait"

    answer, output = host.trial(argv, folder, env, sock, ask_trial, host.monotonic() + max(1, int(opts.health_timeout)))
    if answer is None:
        return None
    if answer == "no answer":
        answer = "no answer within %ss" % opts.health_timeout
    return "%s. gunicorn's last lines:\n%s" % (answer, tail(output, 20))
