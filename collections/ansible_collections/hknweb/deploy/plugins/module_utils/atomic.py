# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Small files written whole or not at all: a reader (another run, a killed run's successor) never
sees half a record. Used for the completion record, the intent record and the account's registry."""

from __future__ import annotations

import os
import uuid


def write_atomic(path, text, mode=0o644):
    """Write through a temporary name in the same folder, fsync, rename over `path`, fsync the folder.
    On any error the temporary file is removed and `path` is as it was."""
    folder = os.path.dirname(path)
    temp = os.path.join(folder, ".%s.tmp-%s" % (os.path.basename(path), uuid.uuid4().hex))
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    fsync_dir(folder)


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
