# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The database backups the Django stage makes before a migrate that would apply something: where
they live, how they are named (by the release that made them and the UTC time), which are kept.
Pure but for `listing` and `remove` (one folder read, one file removed), so unit tested directly.

A backup is <deploy_path>/shared/backups/<release>-<UTC time>.<kind>.gz, mode 0600, written under
a dot-name and renamed when whole: a name without the dot is a complete backup."""

from __future__ import annotations

import datetime
import os
import re

from ansible_collections.hknweb.deploy.plugins.module_utils import layout

SUFFIXES = {"mysql": ".sql.gz", "sqlite": ".sqlite3.gz"}
NAME = re.compile(r"^(?P<release>\d{8}T\d{6}Z(?:-\d+)?)-(?P<time>\d{8}T\d{6}Z)(?P<suffix>\.sql\.gz|\.sqlite3\.gz)$")
KEEP_MIN = 1


def folder(deploy_path):
    return layout.backups_dir(deploy_path)


def stamp(when=None):
    """A UTC time as backups name it (the release names' form)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def name_for(release, when, family):
    """<release>-<when>.sql.gz (MySQL/MariaDB) or .sqlite3.gz; None for an engine not backed up."""
    suffix = SUFFIXES.get(family)
    return "%s-%s%s" % (release, when, suffix) if suffix else None


def parse(name):
    """{name, release, time, kind} of a complete backup's file name, else None (partials, others)."""
    found = NAME.match(name or "")
    if not found:
        return None
    kind = "mysql" if found.group("suffix") == SUFFIXES["mysql"] else "sqlite"
    return dict(name=name, release=found.group("release"), time=found.group("time"), kind=kind)


def listing(deploy_path):
    """The complete backups in the environment's folder, oldest first, with their sizes."""
    try:
        names = os.listdir(folder(deploy_path))
    except OSError:
        return []
    found = []
    for name in names:
        entry = parse(name)
        if entry:
            try:
                entry["bytes"] = os.lstat(os.path.join(folder(deploy_path), name)).st_size
            except OSError:
                continue
            found.append(entry)
    return sorted(found, key=lambda e: (e["time"], e["name"]))


def plan_prune(backups, keep, protect=()):
    """Names to remove: all but the newest `keep`, never one named in `protect` (the one just made)."""
    keep = max(int(keep), KEEP_MIN)
    ordered = sorted(backups, key=lambda e: (e["time"], e["name"]))
    old = ordered[:-keep] if len(ordered) > keep else []
    return [e["name"] for e in old if e["name"] not in protect]


def by_release(backups):
    """{release: [backup names, oldest first]} for releases.yml."""
    grouped = {}
    for entry in sorted(backups, key=lambda e: (e["time"], e["name"])):
        grouped.setdefault(entry["release"], []).append(entry["name"])
    return grouped


def remove(deploy_path, name):
    """Remove one complete backup (a name parse() accepts, never a path)."""
    if not parse(name):
        raise ValueError("not a backup name: %r" % name)
    os.unlink(os.path.join(folder(deploy_path), name))


def validate_keep(value):
    """An error text for a keep count below KEEP_MIN, else ''."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number < KEEP_MIN:
        return "app_django_backup_keep must be a whole number of at least %d (got %r)." % (KEEP_MIN, value)
    return ""


def should_back_up(enabled, commands, plan, family, applied=None):
    """(back up?, why not): only when backups are on, migrate runs, Django's plan applies something
    to a database that has migrations applied already (a new one holds nothing to lose) and the
    engine is one we can dump."""
    if not enabled:
        return False, "backups are off (app_django_backup: false)"
    if not any(c and c[0] == "migrate" for c in commands):
        return False, "migrate does not run"
    if plan is None:
        return False, "Django could not read the migration plan (migrate reports why)"
    if not plan:
        return False, "nothing to migrate"
    if applied is not None and not applied:
        return False, "a new database (no migration applied yet)"
    if family not in SUFFIXES:
        return False, "the %s engine is not backed up" % (family or "unknown")
    return True, ""
