# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The releases on disk: read releases/ and `current` (never following a symlink inside releases/),
point `current` at a release atomically, remove a release. Ordering is by release name, never by file times."""

from __future__ import annotations

import os
import shutil
import stat

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import replace_link
from ansible_collections.hknweb.deploy.plugins.module_utils.records import read_release, require_release_dir
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import Inventory, ReleaseError
from ansible_collections.hknweb.deploy.plugins.module_utils.revlog import read_log


def _resolve_current(deploy_path, releases_dir, target, names):
    """(live, problem) for the text of the `current` link."""
    resolved = os.path.normpath(os.path.join(deploy_path, target))
    parent, name = os.path.split(resolved)
    # An absolute link written by another tool is fine as long as it lands in releases/.
    inside = parent in (os.path.normpath(releases_dir), os.path.realpath(releases_dir))
    if inside and name in names:
        return name, None
    if inside and layout.is_release_name(name):
        why = "which is not a release folder (missing, or not a real directory)"
    else:
        why = "which is not a release inside %s" % releases_dir
    return None, (
        "%s points to %r %s; refusing to guess which release is live. "
        "Point it at a release (ln -sfn %s %s) or move it away, then run again."
        % (layout.CURRENT_LINK, target, why, layout.current_text("<name>"), layout.CURRENT_LINK)
    )


def _not_a_link(current, mode):
    return ("%s is a real %s, not a symlink; move it aside so it can be replaced by a link"
            % (current, "directory" if stat.S_ISDIR(mode) else "file"))


def _read_releases(releases_dir):
    """(releases sorted by name, names of other entries)."""
    releases, ignored = [], []
    try:
        entries = list(os.scandir(releases_dir))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        # is_dir(follow_symlinks=False): a symlink is never a release, whatever its name.
        if layout.is_release_name(entry.name) and entry.is_dir(follow_symlinks=False):
            releases.append(read_release(entry.path, entry.name))
        else:
            ignored.append(entry.name)
    return sorted(releases, key=lambda r: r.name), sorted(ignored)


def scan(deploy_path):
    """Read releases/, the `current` link and revisions.log without following any symlink
    inside releases/. A missing releases/ folder means no releases yet."""
    deploy_path = os.path.abspath(deploy_path)
    if not os.path.isdir(deploy_path):
        raise ReleaseError("deploy path %s does not exist or is not a directory" % deploy_path)
    releases_dir = layout.releases_dir(deploy_path)
    releases, ignored = _read_releases(releases_dir)
    current = layout.current_link(deploy_path)
    kind, target, live, problem = "absent", None, None, None
    try:
        mode = os.lstat(current).st_mode
    except FileNotFoundError:
        mode = None
    if mode is None:
        pass
    elif stat.S_ISLNK(mode):
        kind, target = "link", os.readlink(current)
        live, problem = _resolve_current(deploy_path, releases_dir, target, {r.name for r in releases})
    else:
        kind = "directory" if stat.S_ISDIR(mode) else "other"
        problem = _not_a_link(current, mode)
    return Inventory(deploy_path=deploy_path, releases=tuple(releases), ignored=tuple(ignored),
                     current_kind=kind, current_target=target, live=live, current_problem=problem,
                     log=read_log(deploy_path))


def switch_current(deploy_path, name):
    """Point `current` at releases/<name> atomically: a temporary relative link renamed over
    `current`, so there is never a moment without it (`ln -sfn` unlinks first)."""
    if not layout.is_release_name(name):
        raise ReleaseError("%r is not a release name" % (name,))
    release_path = layout.release_dir(deploy_path, name)
    try:
        is_dir = stat.S_ISDIR(os.lstat(release_path).st_mode)
    except FileNotFoundError:
        is_dir = False
    if not is_dir:
        raise ReleaseError("%s is not a release folder" % release_path)

    current = layout.current_link(deploy_path)
    try:
        mode = os.lstat(current).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISLNK(mode):
        # rename() would replace a file silently and fail on a directory: refuse both.
        raise ReleaseError(_not_a_link(current, mode))

    replace_link(current, layout.current_text(name))


def remove_release(release_path):
    """Delete one release folder; refuses symlinks (rmtree itself never follows the ones
    inside). A read-only subfolder (some build tools make them) gets one retry after the
    tree is made owner-writable, instead of leaving half a release behind."""
    require_release_dir(release_path)
    try:
        shutil.rmtree(release_path)
    except PermissionError:
        _make_writable(release_path)
        shutil.rmtree(release_path)


def _make_writable(path):
    mode = os.lstat(path).st_mode
    if not stat.S_ISDIR(mode):
        return  # chmod would follow a symlink; files need no write bit to be unlinked
    os.chmod(path, mode | stat.S_IRWXU)
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _make_writable(entry.path)
