# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Waiting for the deploy lock (deploy_lock_wait): a run that finds the lock held by a LIVE run
(one with a lease) tries again until the lock is free or the wait is over, instead of failing at once.

A hold (holds.py) and a lock without lease are never waited for: nobody is going to give them back
by themselves. The loop is the pure part (its clock and sleep are given), unit tested in milliseconds.
"""

from __future__ import annotations

import time

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_

POLL_SECONDS = 1.0


def worth_waiting(holder):
    """Only a live run's lock is given back by itself: one with a lease, and no hold."""
    return isinstance(holder, dict) and not holder.get("hold") and holder.get("lease_until") is not None


def take(attempt, wait_seconds, clock=time.monotonic, sleep=time.sleep, poll=POLL_SECONDS):
    """Call attempt() (lock.take_lock) until it returns; (its answer, seconds waited). A LockHeld that
    is not worth waiting for, or that outlives `wait_seconds`, is raised, saying how long it waited."""
    started = clock()
    while True:
        try:
            return attempt(), round(clock() - started, 1)
        except lock_.LockHeld as held:
            waited = clock() - started
            if not wait_seconds or not worth_waiting(held.holder) or waited + poll > wait_seconds:
                if wait_seconds and worth_waiting(held.holder):
                    raise lock_.LockHeld("%s (waited %d s of deploy_lock_wait=%d)" % (
                        str(held).rstrip("."), round(waited), wait_seconds), held.holder) from None
                raise
            sleep(poll)
