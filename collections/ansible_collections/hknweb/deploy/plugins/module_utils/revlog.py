# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""revisions.log: one TAB separated line per event, appended, read from its tail.

    time<TAB>event<TAB>release<TAB>sha<TAB>ref<TAB>deployer     events: deploy, rollback, revert, recover
"""

from __future__ import annotations

import datetime
import os

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import read_small


def utc_now():
    """The time every record and log line carries."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_line(event, release, sha, ref, deployer, when=None):
    """One revisions.log line; TABs and line breaks in values become spaces."""
    fields = [when or utc_now(), event, release, sha or "", ref or "", deployer or ""]
    return "\t".join(" ".join(str(f).split()) for f in fields) + "\n"


def append_log(deploy_path, line):
    fd = os.open(layout.revisions_log(deploy_path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line)


def log_tail(deploy_path, lines=5):
    text = read_small(layout.revisions_log(deploy_path), 65536, tail=True) or ""
    return [line for line in text.splitlines() if line.strip()][-lines:]


def read_log(deploy_path):
    """parse_revisions_log of the file. The newest lines matter most; a log past 4 MiB is read from its tail."""
    return parse_revisions_log(read_small(layout.revisions_log(deploy_path), 4 * 1024 * 1024, tail=True) or "")


# The events that put a release live (each line names the release that went live).
LIVE_EVENTS = ("deploy", "rollback", "recover", "revert")


def entries(text):
    """Each line of revisions.log as (time, event, release, sha, ref, deployer), oldest first (pure).
    Lines are `time<TAB>event<TAB>release<TAB>sha<TAB>ref<TAB>deployer`; a shorter line (blank, cut
    short by a crash, written by hand) is skipped: a damaged log must not stop a rollback."""
    for line in (text or "").splitlines():
        fields = line.rstrip("\r").split("\t")
        if len(fields) >= 6:
            yield tuple(f.strip() for f in fields[:6])


def parse_revisions_log(text):
    """Map release name -> {sha, ref, deployer, time} from its last `deploy` line (pure).

    Lines are `time<TAB>event<TAB>release<TAB>sha<TAB>ref<TAB>deployer`; anything else
    (blank, short, another event, a name that is not a release) is skipped, because a
    log written by hand or cut short by a crash must not stop a rollback.
    """
    found = {}
    for when, event, release, sha, ref, deployer in entries(text):
        if event != "deploy" or not layout.is_release_name(release):
            continue
        found[release] = {"sha": sha, "ref": ref, "deployer": deployer, "time": when}
    return found
