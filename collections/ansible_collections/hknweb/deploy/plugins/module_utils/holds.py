# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""An environment held on purpose: the deploy lock taken by a person with a message (a freeze during
an event), which deploys and rollbacks show and respect until it is lifted.

A hold is the deploy lock itself (lock.py: built aside and renamed, whole or absent) with `hold: true`
and `message` in its record and no lease: no run is alive behind it, and nothing takes it over,
breaks it (`deploy_break_lock`, `lock.yml -e break=true`) or waits for it. Only
`lock.yml -e unhold=true` lifts it. The sentences are pure; `take` and `lift` touch only deploy.lock.
"""

from __future__ import annotations

import os
import time
import uuid

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_

MESSAGE_LIMIT = 200


class HoldError(Exception):
    """A refusal about a hold, for the person running lock.yml."""


def is_hold(record):
    return bool(isinstance(record, dict) and record.get("hold"))


def refusal(lock_path, info):
    """Why a deploy or rollback may not run: the hold's message, who and since when (the ending's Next:
    says how to lift it, scoped to the environment)."""
    return ("%s is held on purpose by %s since %s (%s ago): \"%s\". Deploys and rollbacks are refused until "
            "%s lifts it (lock.yml -e unhold=true). Nothing was changed." % (
                lock_path, info.get("holder"), info.get("since"), lock_.describe_age(info.get("age_seconds", 0)),
                info.get("message"), info.get("holder")))


def take(deploy_path, holder, message, now=None):
    """Hold the environment; the record. A lock already there (a run, or another hold) refuses."""
    text = lock_.bounded(message, MESSAGE_LIMIT)
    if not text:
        raise HoldError("hold needs a message saying why (e.g. -e hold='career fair until Friday'). Nothing was changed.")
    if not os.path.isdir(deploy_path):
        raise HoldError("%s does not exist: nothing to hold (deploy first). Nothing was changed." % deploy_path)
    when = time.time() if now is None else now
    record = lock_.record_for(holder, "hold: " + text, "hold-" + uuid.uuid4().hex, when, None)
    record.update(hold=True, message=text)
    if not lock_.install(deploy_path, record):
        info = lock_.read_lock(deploy_path, when) or {}
        raise HoldError("%s is taken already: %s, for %s, taken %s ago. Nothing was changed." % (
            os.path.join(deploy_path, lock_.LOCK_DIR), info.get("holder"), info.get("purpose"),
            lock_.describe_age(info.get("age_seconds", 0))))
    return lock_.read_lock(deploy_path, when)


def lift(deploy_path, now=None):
    """Lift a hold; the record lifted, or None when nothing was held. A run's lock is never lifted."""
    info = lock_.read_lock(deploy_path, now) if os.path.isdir(deploy_path) else None
    if info is None:
        return None
    if not is_hold(info):
        raise HoldError("%s is a run's lock (%s, for %s), not a hold: it is given back by its run (lock.yml "
                        "-e break=true removes one whose run is dead). Nothing was changed." % (
                            os.path.join(deploy_path, lock_.LOCK_DIR), info.get("holder"), info.get("purpose")))
    if not lock_.take_over(deploy_path, info):
        raise HoldError("the lock changed while the hold was being lifted; run lock.yml again. Nothing was changed.")
    return info
