# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Ordered steps under a stated policy, and failures as values: a step raises a refusal to stop, the
runner turns it into a Failure (message, step, stage, the error), and only a module's main turns that
into fail_json. STOP_AT_FIRST for anything that writes (nothing after a refusal may run), COLLECT_ALL
for checks that only read (the doctor: every problem at once)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import stages
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_steps import Refusal
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import ReleaseError

STOP_AT_FIRST = "stop at the first failure"
COLLECT_ALL = "collect every failure"


@dataclass
class Failure:
    """Why a step stopped the run: the message, the step, the stage the module reports, the error itself."""

    msg: str
    step: str
    stage: str = stages.BEGIN
    error: BaseException | None = None
    fields: dict = field(default_factory=dict)


@dataclass
class Outcome:
    result: dict
    failure: Failure | None = None


def run_steps(steps, policy):
    """Run (name, callable) in order; return the failures. STOP_AT_FIRST stops at the first one."""
    failures = []
    for name, step in steps:
        try:
            step()
        except lock_.LockHeld as error:
            failures.append(Failure(str(error), name, stages.LOCK, error, dict(lock=error.holder)))
        except (Refusal, ReleaseError, lock_.LockError) as error:
            failures.append(Failure(str(error), name, error=error))
        except OSError as error:
            failures.append(Failure("%s: %s" % (type(error).__name__, error), name, error=error))
        else:
            continue
        if policy == STOP_AT_FIRST:
            break
    return failures
