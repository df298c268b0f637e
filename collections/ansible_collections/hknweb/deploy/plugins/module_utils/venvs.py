# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Venvs, one per dependency set: the key of a set, the finished venvs there are, the one a release uses.

A venv under venvs/<key> is used only once its .complete file exists; a release links to it
(releases/<name>/venv -> ../../venvs/<key>)."""

from __future__ import annotations

import hashlib
import os
import re

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import exists_no_follow

_VENV_KEY = re.compile(r"[0-9a-f]{16}\Z")


def is_venv_key(key):
    return isinstance(key, str) and _VENV_KEY.match(key) is not None


def venv_key(parts):
    """A short, stable key for a dependency set: the sha256 of its parts (strategy, the
    interpreter's path and full version, lock or requirements text, groups, pip options)."""
    digest = hashlib.sha256()
    for name in sorted(parts):
        digest.update(("%s=%r\n" % (name, parts[name])).encode("utf-8"))
    return digest.hexdigest()[:16]


def venv_keys(deploy_path, complete_only=False):
    """Keys of the venvs under venvs/ (only the finished ones, with their .complete, if asked)."""
    try:
        entries = list(os.scandir(layout.venvs_dir(deploy_path)))
    except FileNotFoundError:
        return []
    return sorted(e.name for e in entries if is_venv_key(e.name) and e.is_dir(follow_symlinks=False)
                  and (not complete_only or exists_no_follow(os.path.join(e.path, layout.VENV_COMPLETE))))


def linked_key(release_path):
    """The key of venvs/<key> a release links to, or None (its own venv folder, or none)."""
    try:
        target = os.readlink(os.path.join(release_path, layout.VENV_LINK))
    except OSError:
        return None
    parent, key = os.path.split(os.path.normpath(target))
    return key if os.path.basename(parent) == layout.VENVS_DIR and is_venv_key(key) else None


def plan_venv_prune(present, kept_releases):
    """Keys of venvs no kept release links to (pure)."""
    used = {r.venv for r in kept_releases if r.venv}
    return sorted(k for k in present if is_venv_key(k) and k not in used)
