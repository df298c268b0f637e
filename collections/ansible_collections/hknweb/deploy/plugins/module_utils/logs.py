# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What logs.yml reads: the last lines of an environment's service and socket journal, optionally only
since the last deploy or rollback (its time from revisions.log). The choices are pure; `read` runs
journalctl --user once."""

from __future__ import annotations

import datetime

from ansible_collections.hknweb.deploy.plugins.module_utils import revlog
from ansible_collections.hknweb.deploy.plugins.module_utils.host import run, tail

MAX_LINES = 10000


def last_change(log_lines):
    """(epoch, line) of the last deploy, rollback, revert or recover in revisions.log's lines, or (None, None)."""
    for line in reversed(log_lines or []):
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1].strip() in revlog.LIVE_EVENTS:
            try:
                when = datetime.datetime.strptime(fields[0].strip(), "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                continue
            return int(when.replace(tzinfo=datetime.timezone.utc).timestamp()), line
    return None, None


def argv(units, lines, since=None):
    """journalctl --user for the units (service and socket), the last `lines`, from `since` (epoch) on."""
    command = ["journalctl", "--user", "--no-pager", "-o", "short-iso", "-n", str(int(lines))]
    for unit in units:
        command += ["-u", unit]
    if since is not None:
        command.append("--since=@%d" % since)
    return command


def read(units, lines, since=None):
    """(lines, problem): the journal's lines, or why they could not be read."""
    done = run(argv(units, lines, since))
    if not done.ok:
        return [], "journalctl failed: %s" % tail(done.err, 3)
    return [line for line in done.out.splitlines() if line.strip()], None
