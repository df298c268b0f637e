# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The doctor (check.yml): every check a deploy depends on, run against the host through Begin's host
object, each reporting its detail or its problem and fix. Nothing is written: the checks only read, and
the ref is resolved with `git ls-remote` (Begin.resolve's ask_remote), never by fetching."""

from __future__ import annotations

import os

from ansible_collections.hknweb.deploy.plugins.module_utils import begin_steps as decide
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_steps import Refusal


def linger(begin):
    begin.host_checks()
    return "lingering on; the user manager answers"


def git(begin):
    done = begin.host.run(["git", "--version"])
    if not done.ok:
        raise Refusal("git is not installed on the host FIX: ask root: sudo apt install git")
    return done.out.strip()


def disk(begin):
    where = begin.path
    while where and not begin.host.is_dir(where):
        where = os.path.dirname(where.rstrip("/")) if where != "/" else ""
    why = decide.disk_problem(begin.host.free_mib(where), where)
    if why:
        raise Refusal(why)
    return "%d MiB free under %s" % (begin.host.free_mib(where), where)


def repository(begin):
    has_mirror = begin.host.exists(os.path.join(begin.mirror, "HEAD"))
    try:
        begin.sha = begin.resolve(has_mirror, ask_remote=True)
    except Refusal as problem:
        raise Refusal("%s FIX: check deploy_repo_url (a deploy key the host can use) and the ref "
                      "(-e revision=...)" % problem) from None
    return "%s is %s (%s)" % (begin.p["ref"], begin.result["sha"][:12], begin.result["subject"])


def shared(begin):
    shared_dir = layout.shared_dir(begin.path)
    written = [t["path"] for t in begin.p["shared_templates"]] + begin.p["shared_files_create"]
    present = [f for f in begin.p["shared_files"] if begin.host.lexists(os.path.join(shared_dir, f))]
    why = decide.doctor_shared_missing(begin.p["shared_files"], written, present, shared_dir)
    if why:
        raise Refusal(why)
    return "%d shared files present or made by the deploy" % len(begin.p["shared_files"] + written)


def bind(begin):
    if not begin.p["bind"]:
        return "not checked (no bind given)"
    verdict = begin.bind_verdict()  # the deploy's own check (module_utils/binds.py)
    if not verdict.ok or verdict.repair:
        raise Refusal("%s: %s FIX: %s" % (verdict.variable, verdict.problem or verdict.detail, verdict.fix))
    return verdict.detail


# In the order check.yml reports them.
CHECKS = (("linger and user manager", linger), ("git", git), ("free disk", disk),
          ("repository and ref", repository), ("shared files", shared), ("bind", bind))
