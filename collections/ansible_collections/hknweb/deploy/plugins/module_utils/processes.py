# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Whether a process still runs: by pid AND start time, so a reused pid is not taken for the
process that wrote a record (the lock's holder names the stage process that renewed it last)."""

from __future__ import annotations


def process_start(pid):
    """The start time (clock ticks since boot) of a process, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % int(pid), "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except (OSError, TypeError, ValueError):
        return None
    fields = data[data.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def process_running(pid, start):
    """Whether the process that wrote a record still runs (same pid AND same start: no pid reuse)."""
    return pid is not None and start is not None and process_start(pid) == start
