# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Where things are in an environment: every name of the deploy layout, spelled here and nowhere else.

    <deploy_path>/releases/<YYYYMMDDTHHMMSSZ>/   one real directory per release
    <deploy_path>/releases/<name>/REVISION       commit SHA
    <deploy_path>/releases/<name>/.deploy-complete  completion record (JSON), written LAST
    <deploy_path>/releases/<name>/.deploy-bad    rolled back from / failed its health check
    <deploy_path>/releases/<name>/venv -> ../../venvs/<key>   the dependency set it runs on
    <deploy_path>/venvs/<key>/.complete          a venv is reused only once this exists
    <deploy_path>/current -> releases/<name>     relative symlink
    <deploy_path>/shared/                        files every release links to (media, .env, a database)
    <deploy_path>/repo/                          the bare mirror of the app's repository
    <deploy_path>/tools/                         the pinned Poetry and its cache
    <deploy_path>/revisions.log                  TAB separated event log
    <deploy_path>/deploy.lock/holder             who runs a deploy now (JSON)
    <deploy_path>/.deploy-intent                 a switch under way (JSON); gone once proven
    <deploy_path>/.trial-<pid>.sock              a trial run's private socket

Nothing here reads or writes the disk: these are names and the paths built from them
(tests/unit/test_layout_names.py fails when another file spells one of them out).
"""

from __future__ import annotations

import datetime
import os
import re

RELEASES_DIR = "releases"
CURRENT_LINK = "current"
SHARED_DIR = "shared"
BACKUPS_DIR = "backups"  # under shared/: the database backups made before a migrate
MIRROR_DIR = "repo"
VENVS_DIR = "venvs"
TOOLS_DIR = "tools"
REVISIONS_LOG = "revisions.log"
INTENT_FILE = ".deploy-intent"
LOCK_DIR = "deploy.lock"
LOCK_HOLDER = "holder"  # the record's file inside LOCK_DIR

# Inside a release.
REVISION_FILE = "REVISION"
COMPLETE_RECORD = ".deploy-complete"
BAD_MARKER = ".deploy-bad"
UNFINISHED_MARKER = ".deploy-unfinished"  # written by older versions; still honoured
VENV_LINK = "venv"

# Inside a venv.
VENV_COMPLETE = ".complete"
# The lock strategy's exact list, kept in the venv it built (what was installed, with its hashes).
VENV_INSTALL_LIST = ".install-list.txt"
VENV_BIN = "bin"

# What the deploy owns inside a release: a shared entry may not take one of these names.
RELEASE_OWNED = (VENV_LINK, REVISION_FILE, COMPLETE_RECORD, BAD_MARKER, UNFINISHED_MARKER)
# What the engine owns inside the deploy path: nothing else may write there (or through them).
DEPLOY_OWNED = (CURRENT_LINK, RELEASES_DIR, MIRROR_DIR, VENVS_DIR)

# Service files rendered on the controller before the deploy user's home is known (a rollback in
# one round trip) carry this mark where the home goes; the engine puts the home in on the host.
HOME_MARK = "@@HOME@@"

# \Z rather than $: "$" would also accept a trailing newline.
_RELEASE_NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z\Z")
_TRIAL_SOCKET = re.compile(r"\.trial-(\d+)\.sock\Z")


def is_release_name(name):
    return isinstance(name, str) and _RELEASE_NAME.match(name) is not None


def release_name_for(when):
    """The release name for a datetime (converted to UTC)."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def releases_dir(deploy_path):
    return os.path.join(deploy_path, RELEASES_DIR)


def release_dir(deploy_path, name):
    return os.path.join(deploy_path, RELEASES_DIR, name)


def current_link(deploy_path):
    return os.path.join(deploy_path, CURRENT_LINK)


def current_text(name):
    """What `current` holds when it points at release `name` (relative, so the tree can move)."""
    return os.path.join(RELEASES_DIR, name)


def shared_dir(deploy_path):
    return os.path.join(deploy_path, SHARED_DIR)


def backups_dir(deploy_path):
    return os.path.join(shared_dir(deploy_path), BACKUPS_DIR)


def mirror_dir(deploy_path):
    return os.path.join(deploy_path, MIRROR_DIR)


def venvs_dir(deploy_path):
    return os.path.join(deploy_path, VENVS_DIR)


def venv_dir(deploy_path, key):
    return os.path.join(deploy_path, VENVS_DIR, key)


def venv_link_text(key):
    """What a release's `venv` link holds: relative, from releases/<name>/ to venvs/<key>."""
    return os.path.join("..", "..", VENVS_DIR, key)


def tools_dir(deploy_path):
    return os.path.join(deploy_path, TOOLS_DIR)


def venv_program(folder, program, linked=True):
    """A program of a venv: <release>/venv/bin/<program> (linked) or <venv>/bin/<program>."""
    return os.path.join(folder, VENV_LINK, VENV_BIN, program) if linked else os.path.join(folder, VENV_BIN, program)


def release_programs(release_path):
    """What a release needs to run at all (a rollback checks them before it switches)."""
    return {name: venv_program(release_path, name) for name in ("python", "gunicorn")}


def revisions_log(deploy_path):
    return os.path.join(deploy_path, REVISIONS_LOG)


def intent_file(deploy_path):
    return os.path.join(deploy_path, INTENT_FILE)


def lock_dir(deploy_path):
    return os.path.join(deploy_path, LOCK_DIR)


def trial_socket(deploy_path, pid):
    return os.path.join(deploy_path, ".trial-%d.sock" % pid)


def trial_socket_pid(name):
    """The pid in a trial socket's file name, or None when `name` is not one."""
    match = _TRIAL_SOCKET.match(name)
    return int(match.group(1)) if match else None
