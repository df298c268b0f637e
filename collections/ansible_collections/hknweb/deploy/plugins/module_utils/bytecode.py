# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Bytecode carried into a new venv from a finished one, for the source files the two share.

uv writes no .pyc files, so the first import in a new venv compiles what it imports: 0.6 s of the
Django stage for the sample app's Django. But a new venv holds mostly the same files as the one
before it, the very same inodes, hard-linked from the deploy path's uv cache. Python checks a .pyc
against its source's mtime and size (and fixes the code's file name on load), and for the same inode
those cannot differ, so the .pyc compiled in the old venv is valid in the new one. Only a source
that is the same file (os.path.samefile) gets its .pyc; anything else is compiled on import as before.
A linked .pyc is never written in place: Python replaces a stale one with a new file."""

from __future__ import annotations

import os

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import linked_key, venv_keys

PYCACHE = "__pycache__"


def donor(deploy_path, new_key):
    """The finished venv to take bytecode from: the live release's, else the newest finished one; or None."""
    finished = [key for key in venv_keys(deploy_path, complete_only=True) if key != new_key]
    chosen = linked_key(os.path.realpath(layout.current_link(deploy_path)))
    if chosen not in finished:
        chosen = max(finished, default=None, key=lambda key: os.stat(
            os.path.join(layout.venv_dir(deploy_path, key), layout.VENV_COMPLETE)).st_mtime)
    return layout.venv_dir(deploy_path, chosen) if chosen else None


def source_of(pyc_name):
    """foo.cpython-311.pyc (or .opt-1.pyc) -> foo.py."""
    return pyc_name.split(".", 1)[0] + ".py"


def carry(old_venv, new_venv):
    """Hard-link old_venv's .pyc files into new_venv wherever their source is the same file; how many."""
    carried = 0
    for folder, _dirs, files in os.walk(os.path.join(old_venv, "lib")):
        if os.path.basename(folder) != PYCACHE:
            continue
        old_sources = os.path.dirname(folder)
        new_sources = os.path.join(new_venv, os.path.relpath(old_sources, old_venv))
        for name in files:
            if name.endswith(".pyc") and carry_one(name, old_sources, new_sources):
                carried += 1
    return carried


def carry_one(name, old_sources, new_sources):
    source = source_of(name)
    try:
        if not os.path.samefile(os.path.join(old_sources, source), os.path.join(new_sources, source)):
            return False
        target = os.path.join(new_sources, PYCACHE, name)
        try:
            os.link(os.path.join(old_sources, PYCACHE, name), target)
        except FileNotFoundError:  # the folder's first .pyc: make __pycache__ once, not for every file
            os.mkdir(os.path.dirname(target), 0o755)
            os.link(os.path.join(old_sources, PYCACHE, name), target)
        return True
    except OSError:  # no such source in the new venv, another file system, already there: compiled on import
        return False
