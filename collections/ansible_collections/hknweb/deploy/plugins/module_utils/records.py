# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What one release's folder says about it: its commit, its completion record, its bad mark.

The completion record is written last, atomically; a release is usable only when it says so
(release_policy.is_complete has the rule, including the older layout's releases)."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import exists_no_follow, read_json, read_small, write_atomic
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import (
    BAD, GOOD, UNFINISHED, Release, ReleaseError, is_complete)
from ansible_collections.hknweb.deploy.plugins.module_utils.revlog import utc_now
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import linked_key


def require_release_dir(path):
    """Refuse anything but a real directory: a symlink here must never be followed."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise ReleaseError("%s does not exist" % path) from None
    if stat.S_ISLNK(mode):
        raise ReleaseError("%s is a symlink, not a release folder; refusing to touch it" % path)
    if not stat.S_ISDIR(mode):
        raise ReleaseError("%s is not a directory" % path)


def read_record(release_path):
    """The completion record as a dict, or None when there is none (or it is not JSON)."""
    return read_json(os.path.join(release_path, layout.COMPLETE_RECORD), 16384)[1]


def write_record(release_path, record):
    """Write the completion record, the last step of building a release (fsynced)."""
    require_release_dir(release_path)
    write_atomic(os.path.join(release_path, layout.COMPLETE_RECORD), json.dumps(record, sort_keys=True) + "\n")


def read_release(release_path, name):
    """Release state, revision, record and venv key from its folder (a real directory)."""
    record = read_record(release_path)
    revision = (read_small(os.path.join(release_path, layout.REVISION_FILE), 256) or "").strip()
    complete = is_complete(
        record is not None,
        exists_no_follow(os.path.join(release_path, layout.UNFINISHED_MARKER)),
        revision,
        exists_no_follow(layout.venv_program(release_path, "python")),
        os.path.islink(os.path.join(release_path, layout.VENV_LINK)),
    )
    if not complete:
        state = UNFINISHED  # incomplete wins over bad: it was never usable
    elif exists_no_follow(os.path.join(release_path, layout.BAD_MARKER)):
        state = BAD
    else:
        state = GOOD
    return Release(name=name, state=state, revision=revision or None, record=record or {},
                   venv=linked_key(release_path))


def mark_bad(release_path, reason, when=None):
    """Write the bad marker (time and reason) so the release is kept for inspection but
    never chosen as a rollback target again."""
    require_release_dir(release_path)
    text = "time: %s\nreason: %s\n" % (when or utc_now(), " ".join(str(reason).split()))
    marker = os.path.join(release_path, layout.BAD_MARKER)
    # O_NOFOLLOW: a planted symlink named .deploy-bad must not redirect the write.
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def clear_bad(release_path):
    """Remove the bad marker; True if there was one."""
    require_release_dir(release_path)
    try:
        os.unlink(os.path.join(release_path, layout.BAD_MARKER))
    except FileNotFoundError:
        return False
    return True
