# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Small files written whole or not at all, and read without being fooled: a reader (another run, a
killed run's successor) never sees half a record, and never follows a symlink or blocks on a FIFO
planted under a record's name. Used for the completion record, the intent record, markers, the log,
the account's registry, the service's unit files and private templates, and the links the switch makes
(`current` among them)."""

from __future__ import annotations

import json
import os
import stat
import uuid


def write_atomic(path, text, mode=0o644, exact_mode=False):
    """Write through a temporary name in the same folder, fsync, rename over `path`, fsync the folder.
    On any error the temporary file is removed and `path` is as it was. `exact_mode` sets `mode`
    whatever the umask: for files whose bits a later run compares (units, templates)."""
    temp = _temp_name(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if exact_mode:
                os.fchmod(handle.fileno(), mode)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temp, path)
    except BaseException:
        _remove(temp)
        raise
    fsync_dir(os.path.dirname(path))


def replace_link(path, target):
    """Point the symlink `path` at `target` with no moment without it (`ln -sfn` unlinks first): a
    temporary link in the same folder renamed over `path`, then the folder fsynced."""
    temp = _temp_name(path)
    os.symlink(target, temp)
    try:
        os.rename(temp, path)
    except BaseException:
        _remove(temp)
        raise
    fsync_dir(os.path.dirname(path))


def _temp_name(path):
    return os.path.join(os.path.dirname(path), ".%s.tmp-%s" % (os.path.basename(path), uuid.uuid4().hex))


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def fsync_dir(path):
    """Make a rename in `path` durable; not every filesystem allows fsync on a directory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def exists_no_follow(path):
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def read_small(path, limit=4096, tail=False):
    """Up to `limit` bytes of a regular file as text (the last ones if `tail`), or None.

    Never follows a symlink, never blocks on a FIFO planted under a marker's name.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if tail and info.st_size > limit:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
            data = os.read(fd, limit)
            data = data[data.find(b"\n") + 1:]  # drop the line cut in half
        else:
            data = os.read(fd, limit)
        return data.decode("utf-8", "replace")
    finally:
        os.close(fd)


def read_json(path, limit):
    """(found, object): a small JSON object file, never followed through a symlink. `object` is
    None when the file is there but is not a JSON object."""
    text = read_small(path, limit)
    if text is None:
        return False, None
    try:
        value = json.loads(text)
    except ValueError:
        return True, None
    return True, value if isinstance(value, dict) else None
