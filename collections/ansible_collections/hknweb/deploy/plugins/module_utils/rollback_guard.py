# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Whether a plain rollback should go back at all, judged from the last run on the environment (pure).

A rollback is what an officer runs after something went wrong, often after the controller died. Taken
literally, two of those reruns do harm:

- the rollback being repeated already completed on the host (the module outlives a killed controller):
  going again rolls back the release it just put live and marks that healthy release bad;
- the deploy the officer wants undone never went live (killed or refused before its switch, or switched
  and reverted by its own health check): the live release has served all along, and rolling it back
  undoes an earlier, healthy deploy.

The first stays where it is (and proves the live release answers); the second is refused before any
change. Either goes on at the officer's word (`-e deploy_rollback_anyway=true`) or when a release is
named (`-e release=<name>`). Everything here reads plain values: revisions.log's text, the releases,
the lock record; the caller reads the disk.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from ansible_collections.hknweb.deploy.plugins.module_utils import revlog
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import UNFINISHED

WORD = "-e deploy_rollback_anyway=true"
# The last run, as a verdict names it (begin returns it as `last_run`; the failure ending reads REFUSALS).
NEVER_LIVE, REVERTED = "deploy never live", "deploy reverted"
COMPLETED, UNDONE = "rollback completed", "deploy undone"
REFUSALS = (NEVER_LIVE, REVERTED)


@dataclass(frozen=True)
class Event:
    when: str
    kind: str
    release: str
    deployer: str


@dataclass(frozen=True)
class Verdict:
    """`stay`: keep the live release; `refuse`: stop before any change. `case` names the last run
    (the failure ending chooses its advice from it), `why` says it in words."""
    action: str
    case: str
    why: str


def events(log_text):
    """revisions.log's lines as Events, oldest first; lines that do not parse are skipped."""
    return [Event(when, kind, release, deployer) for when, kind, release, _sha, _ref, deployer in revlog.entries(log_text)
            if kind in revlog.LIVE_EVENTS and release]


def _release_time(name):
    """A release name (20261204T010203Z) as revisions.log writes times (2026-12-04T01:02:03Z)."""
    try:
        when = datetime.datetime.strptime(name, "%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError):
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def unswitched_deploy(releases, live, history, lock=None, lock_alive=True):
    """The newest deploy that never went live and came after the last event, as (what, when), or None.

    Evidence: a release newer than `live` and than the last event that never reached a switch (no
    completion record: unfinished) or that no revisions.log event names; or the lock of a deploy whose
    run is proven dead (killed before it made its release folder). A live run's lock is left to the
    lock's own refusal ("wait for it"). Without any log, only unfinished releases count: a release
    missing from a log that was removed may well have been live."""
    seen = {e.release for e in history}
    last = history[-1].when if history else ""
    fresh = sorted(r.name for r in releases if live and r.name > live and (_release_time(r.name) or "") > last
                   and (r.state == UNFINISHED or (history and r.name not in seen)))
    if fresh:
        return "the deploy of release %s" % fresh[-1], _release_time(fresh[-1])
    if lock and not lock_alive and str(lock.get("purpose", "")).startswith("deploy") \
            and str(lock.get("since", "")) > last:
        return "a deploy (%s) by %s" % (lock.get("purpose"), lock.get("holder")), lock.get("since")
    return None


def judge(releases, live, live_good, history, lock=None, lock_alive=True, requested=None, anyway=False):
    """None (go back as asked), or a Verdict. `releases`: what is on disk (name, state); `history`: events()."""
    if requested is not None or anyway or live is None:
        return None
    unswitched = unswitched_deploy(releases, live, history, lock, lock_alive)
    if unswitched:
        what, when = unswitched
        return Verdict("refuse", NEVER_LIVE,
                       "%s (started %s) never went live: %s has served all along%s, so a rollback now would undo "
                       "that healthy release, not the deploy. Nothing was changed. To roll %s back anyway: %s; to "
                       "finish the deploy, run it again" % (
                           what, when or "at an unknown time", live, _since(history, live), live, WORD))
    if not history:
        return None
    last = history[-1]
    if last.kind == "revert" and last.release == live and len(history) > 1 and history[-2].kind == "deploy":
        return Verdict("refuse", REVERTED,
                       "the last deploy (release %s, %s) did not pass its health check and was reverted by its own "
                       "run at %s: %s has served since. Nothing was changed. To roll %s back anyway: %s"
                       % (history[-2].release, history[-2].when, last.when, live, live, WORD))
    if last.kind == "rollback" and last.release == live and live_good:
        return Verdict("stay", COMPLETED,
                       "the last rollback already completed: %s went live at %s (by %s) and is live now; no second "
                       "rollback without the word (to go one further: %s, or -e release=<name>)"
                       % (live, last.when, last.deployer or "unknown", WORD))
    return None


def after_recovery(intent, requested=None, anyway=False):
    """A Verdict when this very run has just undone an interrupted deploy (the intent record of a
    deploy killed in its switch): putting back the release it left IS the rollback the officer wanted."""
    if requested is not None or anyway or not intent or intent.get("op") != "deploy":
        return None
    return Verdict("stay", UNDONE, "the interrupted deploy (%s -> %s) was undone, which is the rollback: its release "
                   "never proved healthy; no further rollback without the word (%s)"
                   % (intent.get("from"), intent.get("to"), WORD))


def _since(history, live):
    went = [e.when for e in history if e.release == live]
    return " (live since %s)" % went[-1] if went else ""
