# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The first stage's decisions, pure: what Begin's steps conclude from what the host answered. No disk,
no programs: each takes what was read and returns a value or a refusal's text (tests/unit/test_begin_steps.py)."""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils.host import tail

TEXT_LIMIT = 2 * 1024 * 1024  # a commit file larger than this is hashed, not returned
# The files the Python plan reads: pyproject.toml, poetry.lock (the lock strategy exports it), requirements.
TEXT_SUFFIXES = (".toml", ".lock", ".txt", ".in")
DISK_FLOOR_MIB = 1024


class Refusal(Exception):
    """Stop the run: the message says what and how to fix it."""


def url_secret(url):
    """The userinfo of a repository URL (a token), which no message may carry; None when there is none."""
    match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://([^/@\s]+)@", url or "")
    return match.group(1) if match else None


def never_deployed(path):
    return ("nothing was ever deployed to %s, so there is no release to roll back to: deploy first. "
            "Nothing was changed." % path)


def rollback_refusal(inventory, requested):
    """Why a rollback cannot start from what was read before the lock (None: it can). One rule a
    line; a new rule goes here, as a pure function of the inventory and the request."""
    try:
        rp.choose_rollback(inventory.releases, inventory.live, requested)
    except rp.ReleaseError as error:
        return "%s. Nothing was changed." % str(error).rstrip(".")
    return None


def release_needed(force, live, sha):
    """A new release is built unless the live one is good and runs this commit (and no force)."""
    return bool(force or live is None or live.revision != sha or live.state != rp.GOOD)


def direction(live, target):
    return "back" if target < live else ("none" if target == live else "forward")


def remote_sha(ls_remote_out):
    """The commit an `ls-remote -- url ref refs/tags/ref^{}` answer names: a tag's peeled commit first."""
    found = [line.split("\t") for line in ls_remote_out.splitlines() if "\t" in line]
    peeled = [sha for sha, name in found if name.endswith("^{}")]
    return peeled[0] if peeled else (found[0][0] if found else None)


def commit_file(name, data):
    """What the Python plan learns about one file of the commit: `data` is its text, None when absent."""
    if data is None:
        return dict(exists=False, sha256=None, text=None)
    text = data if name.endswith(TEXT_SUFFIXES) and len(data) <= TEXT_LIMIT else None
    return dict(exists=True, sha256=hashlib.sha256(data.encode("utf-8", "replace")).hexdigest(), text=text)


def probe_answer(done):
    """What one interpreter probe (python_check.PROBE) answered."""
    entry = dict(found=False, error="", executable=None, version=None, environment={}, venv=False)
    if not done.ok:
        entry["error"] = tail(done.err, 3) or "exit %d" % done.rc
        return entry
    try:
        data = json.loads(done.out)
        entry.update(found=True, executable=data["executable"], venv=data["venv"], environment=data["environment"],
                     version=data["environment"]["python_full_version"])
    except (ValueError, KeyError):
        entry["error"] = "unexpected answer: %s" % tail(done.out, 2)
    return entry


def shared_missing(missing, shared):
    return ("shared file(s) %s missing in %s. Put each there once, list it in deploy_shared_files_create "
            "when the deploy should create it empty (a SQLite database), or in deploy_shared_templates "
            "when the deploy should write it from a variable on every run." % (", ".join(missing), shared))


def cannot_run(target, missing):
    return ("release %s cannot run: %s missing (its venv was removed?). Choose another with -e release=<name> "
            "(releases.yml lists them)." % (target, ", ".join(missing)))


def disk_problem(free_mib, where):
    """The doctor's free-space rule: a release with a new venv needs a few hundred MiB."""
    if free_mib < DISK_FLOOR_MIB:
        return ("only %d MiB free under %s; a release with a new venv needs a few hundred FIX: free space (e.g. "
                "deploy with a smaller deploy_keep_releases, remove old files)" % (free_mib, where))
    return None


def doctor_shared_missing(shared_files, written, present, shared_dir):
    """The doctor's shared-file rule: each listed file is there or written by the deploy."""
    missing = [f for f in shared_files if f not in written and f not in present]
    if missing:
        return ("missing in %s: %s FIX: put each there once, or list it in deploy_shared_files_create (created "
                "empty: a database) or deploy_shared_templates (written from a variable)" % (shared_dir, ", ".join(missing)))
    return None
