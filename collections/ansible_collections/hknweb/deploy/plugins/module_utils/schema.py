# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What a release knows of the database schema, and what a rollback makes of it.

The Django stage records, in each release, the migrations its code knows (every one, and the leaf
of each app) and what the database had applied before and after its commands (RECORD, JSON). A
rollback compares the database's applied set (the live release's record, after its deploy) with
what the target release knows: migrations it does not know were applied by newer code, and
switching back to it leaves them in place. Pure but for reading and writing the record."""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import write_atomic

RECORD = ".schema.json"
# How the user says what to do with migrations the target does not know (rollback.yml -e).
CHOICE_VAR = "rollback_migrations"
CHOICES = ("refuse", "code-only", "unapply")


def pairs(items):
    """Sorted unique (app, name) tuples from JSON lists."""
    return sorted({(str(a), str(n)) for a, n in (items or [])})


def leaves_by_app(known_leaves):
    """{app: [leaf names]} from the graph's leaf nodes."""
    found = {}
    for app, name in pairs(known_leaves):
        found.setdefault(app, []).append(name)
    return found


def record(state, applied_after=None):
    """The release's schema record from the driver's migration state."""
    return dict(at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                leaves=leaves_by_app(state.get("leaves")), known=[list(p) for p in pairs(state.get("known"))],
                irreversible=[list(p) for p in pairs(state.get("irreversible"))],
                applied_before=[list(p) for p in pairs(state.get("applied"))],
                applied_after=[list(p) for p in pairs(applied_after if applied_after is not None
                                                       else state.get("applied"))])


def write(release_path, data):
    write_atomic(os.path.join(release_path, RECORD), json.dumps(data, sort_keys=True) + "\n")


def read(release_path):
    """The record, or None when the release has none (made before records, or no migrate ran)."""
    try:
        with open(os.path.join(release_path, RECORD), encoding="utf-8") as handle:
            data = json.loads(handle.read(4 * 1024 * 1024))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def unknown_to(target, applied):
    """(app, name) the database has applied that the target release's code does not know."""
    known = set(pairs(target.get("known")))
    return [p for p in pairs(applied) if p not in known]


def targets(target, unknown):
    """{app: the target's leaf, or 'zero'} for each app with migrations to unapply."""
    leaves = target.get("leaves") or {}
    found = {}
    for app in sorted({a for a, _ in unknown}):
        names = sorted(leaves.get(app) or [])
        found[app] = names[-1] if names else "zero"
    return found


def rollback_decision(live, target, choice):
    """(verdict, unknown) for a rollback from the live release's record to the target's:
    'switch' (no schema difference, or records missing, or code-only at the user's word),
    'refuse', or 'unapply'."""
    if choice not in CHOICES:
        return "bad-choice", []
    if not live or not target:
        return "switch", []
    unknown = unknown_to(target, live.get("applied_after"))
    if not unknown:
        return "switch", []
    if choice == "code-only":
        return "switch", unknown
    return ("unapply" if choice == "unapply" else "refuse"), unknown


def refusal(unknown, live, target, environment):
    """The message of a refused rollback: the list and the two ways on."""
    listed = ", ".join("%s.%s" % p for p in unknown)
    scope = " -l %s" % environment if environment else ""
    return ("Refused: the database has migrations that %s does not know (applied by %s's code): %s. "
            "Switching back would run the old code on the newer schema. Either roll back the code only "
            "(the schema stays; only if the old code works with it): ansible-playbook rollback.yml%s -e %s=code-only; "
            "or unapply them first with %s's code, after a fresh backup: ansible-playbook rollback.yml%s "
            "-e %s=unapply. Nothing was changed." % (target, live, listed, scope, CHOICE_VAR, live, scope,
                                                      CHOICE_VAR))


def newest(records):
    """(release, record) written last among {release: record}: its applied_after is the database as
    the engine last saw it (a deploy that migrated and then failed its health check counts too)."""
    found = [(r.get("at") or "", name, r) for name, r in records.items() if isinstance(r, dict)]
    if not found:
        return None, None
    _, name, rec = max(found, key=lambda item: (item[0], item[1]))
    return name, rec


def irreversible_among(unknown, newer):
    """The migrations to unapply that the newer code cannot reverse."""
    cannot = set(pairs((newer or {}).get("irreversible")))
    return [p for p in pairs(unknown) if p in cannot]


def irreversible_refusal(found, backup, live, target):
    listed = ", ".join("%s.%s" % p for p in found)
    restore = ("restore the backup taken before it: ansible-playbook playbooks/restore.yml -e backup=%s "
               "(see the README)" % backup) if backup else "no backup of the database from before it exists"
    return ("Refused before any change: %s cannot be unapplied (no reverse operation in %s's code), so %s's "
            "schema cannot be brought back by migrate. To go back to %s, %s; or roll back the code only "
            "with -e %s=code-only. Nothing was changed." % (listed, live, target, target, restore, CHOICE_VAR))
