# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What a release is, which one is live, where a rollback goes, what pruning removes and what to do
about a killed run: the engine's decisions about releases, all pure.

A release is usable only when its completion record says so. Releases made before the
record existed (REVISION and a venv, no unfinished marker) still count as complete; anything
else in releases/ with a release-shaped name is incomplete, whatever it holds.

Nothing here touches the disk or imports Ansible, so it is unit tested (and property tested)
on its own: `rollback_target`, `choose_rollback`, `plan_prune`, `plan_recovery`, `is_complete`,
`describe`. The disk is read by releases_disk.py and records.py (the layout's names are in
layout.py). Ordering is always by release name (a UTC timestamp), never by file times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.layout import is_release_name

GOOD = "good"
BAD = "bad"
UNFINISHED = "unfinished"


class ReleaseError(Exception):
    """A refusal with a message meant for the person running the deploy."""


@dataclass(frozen=True)
class Release:
    name: str
    state: str = GOOD  # GOOD, BAD or UNFINISHED (incomplete)
    revision: str | None = None
    record: dict = field(default_factory=dict, compare=False)  # the completion record
    venv: str | None = None  # venv key the release links to (None: its own folder or none)


@dataclass(frozen=True)
class Inventory:
    """What `scan` found. `releases` is sorted by name, oldest first."""

    deploy_path: str
    releases: tuple = ()
    ignored: tuple = ()  # entries of releases/ that are not releases; never touched
    current_kind: str = "absent"  # absent | link | directory | other
    current_target: str | None = None  # the link text, as read
    live: str | None = None  # set only when `current` points at a release in releases/
    current_problem: str | None = None  # why `current` does not name a release
    log: dict = field(default_factory=dict)  # parse_revisions_log() of revisions.log

    def names(self):
        return [r.name for r in self.releases]

    def get(self, name):
        for release in self.releases:
            if release.name == name:
                return release
        return None

    def require_live(self):
        """The live release name (or None if there is no `current`); refuse to guess."""
        if self.current_problem:
            raise ReleaseError(self.current_problem)
        return self.live


@dataclass(frozen=True)
class Plan:
    keep: list  # names, oldest first
    remove: list  # names, oldest first
    reasons: dict  # name -> why it is kept or removed


def validate_keep(value):
    """Return `value` as an int >= 1, or raise ReleaseError explaining the fix.

    Accepts ints and digit strings (ad-hoc `keep=3` arrives as a string); rejects bools,
    which Python would otherwise treat as 1 and 0.
    """
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
        number = int(value)
    if number is None or number < 1:
        raise ReleaseError(
            "keep must be a whole number of at least 1 (how many of the newest good releases "
            "to keep; the live release and its rollback target are always kept as well), "
            "got %r. Set keep to 1 or more." % (value,)
        )
    return number


# --- pure decisions -------------------------------------------------------------------


def _by_name(releases):
    """Release-shaped entries sorted by name; rejects duplicates so order can't matter."""
    seen = {}
    for release in releases:
        if not is_release_name(release.name):
            continue  # not a release: never planned, never touched
        if release.name in seen:
            raise ReleaseError("release %s is listed twice" % release.name)
        seen[release.name] = release
    return [seen[name] for name in sorted(seen)]


def _older_good(releases, live):
    """(GOOD releases older than `live` that run another commit, those that run the same), oldest first.
    A release of the live commit (a deploy_force=true re-deploy) would change nothing if rolled back to.
    An unknown revision never counts as the same."""
    ordered = _by_name(releases)
    commit = next((r.revision for r in ordered if r.name == live), None)
    older = [r for r in ordered if r.state == GOOD and r.name < live]
    same = [r.name for r in older if commit and r.revision == commit]
    return [r.name for r in older if r.name not in same], same


def rollback_target(releases, live):
    """Newest GOOD release whose name sorts before `live` and whose commit differs from the live
    release's; None if there is none."""
    if live is None:
        return None
    other, _ = _older_good(releases, live)
    return other[-1] if other else None


def _available(releases):
    names = [r.name for r in _by_name(releases) if r.state != UNFINISHED]
    return ", ".join(names) if names else "none"


def choose_rollback(releases, live, requested=None):
    """The release a rollback should make live.

    Without `requested` that is the rollback target: it skips older releases of the live
    commit (landing on the commit it leaves would change nothing) and refuses, naming the
    -e release= to use, when only those are left. An explicit name may be older or newer
    than `live`, may run the live commit (asked for by name, so honoured; the summary says
    both commits) and may be a bad release (its mark is cleared when it goes live), but it
    must be a complete release. Returns `live` itself when that was requested.
    """
    if live is None:
        raise ReleaseError(
            "nothing is live (no current link), so there is nothing to roll back from; "
            "deploy first, or name a release (-e release=<name>). Available: %s" % _available(releases)
        )
    if requested is not None:
        return check_switchable(releases, requested)
    target = rollback_target(releases, live)
    _, same = _older_good(releases, live)
    if target is None and same:
        raise ReleaseError(
            "every good release older than the live release %s runs the same commit (%s), so a rollback would "
            "change nothing. Nothing was changed. To restart on that commit anyway: -e release=%s; "
            "available: %s" % (live, ", ".join(same), same[-1], _available(releases))
        )
    if target is None:
        raise ReleaseError(
            "no good release older than the live release %s to roll back to. "
            "Available: %s. Name one with -e release=<name> (releases.yml lists them)." % (live, _available(releases))
        )
    return target


def check_switchable(releases, name):
    """Return `name` if it is a complete release that `current` may point at."""
    by_name = {r.name: r for r in _by_name(releases)}
    release = by_name.get(name)
    if release is None:
        raise ReleaseError(
            "%r is not a release in %s/. Available: %s" % (name, layout.RELEASES_DIR, _available(releases))
        )
    if release.state == UNFINISHED:
        raise ReleaseError(
            "release %s is unfinished (%s present), it cannot go live. Available: %s"
            % (name, layout.UNFINISHED_MARKER, _available(releases))
        )
    return name


def plan_prune(releases, live, keep):
    """Decide which releases to keep and which to remove.

    - `live` and its rollback target are kept whatever `keep` says;
    - bad and unfinished releases do not count toward `keep` and go unless protected;
    - of the good ones the newest `keep` (by name) stay, older ones go unless protected;
    - entries that are not release-shaped are left out of the plan entirely.
    """
    keep = validate_keep(keep)
    ordered = _by_name(releases)
    if live is not None and live not in {r.name for r in ordered}:
        raise ReleaseError("live release %r is not among the releases; refusing to prune" % (live,))
    target = rollback_target(ordered, live)
    newest_good = [r.name for r in ordered if r.state == GOOD][-keep:]

    kept, removed, reasons = [], [], {}
    for release in ordered:
        name = release.name
        if name == live:
            stays, why = True, "live (current points here)"
        elif name == target:
            stays, why = True, "rollback target (newest good release before the live one)"
        elif release.state != GOOD:
            stays, why = False, "%s release; does not count toward keep" % release.state
        elif name in newest_good:
            stays, why = True, "one of the %d newest good releases" % keep
        else:
            stays, why = False, "older than the %d newest good releases" % keep
        (kept if stays else removed).append(name)
        reasons[name] = why
    return Plan(keep=kept, remove=removed, reasons=reasons)


def describe(deploy_path, releases, live, log=None):
    """One plain dict per release (oldest first) for a module to return. What the
    completion record says wins over revisions.log (older releases have only the log)."""
    log = log or {}
    target = rollback_target(releases, live)
    described = []
    for release in _by_name(releases):
        known = dict(log.get(release.name, {}))
        known.update({k: v for k, v in release.record.items() if v})
        described.append({
            "name": release.name,
            "path": layout.release_dir(deploy_path, release.name),
            "revision": release.revision,
            "state": release.state,
            "live": release.name == live,
            "rollback_target": release.name == target,
            "ref": known.get("ref"),
            "subject": known.get("subject"),
            "deployer": known.get("deployer"),
            "time": known.get("time"),
            "venv": release.venv,
        })
    return described


def is_complete(has_record, has_unfinished_marker, revision, has_venv_python, venv_is_link=False):
    """Pure rule: a release is usable when its completion record says so. A release made
    before records existed (older layout: its own venv/ folder, never a link to venvs/) counts
    when it has a REVISION, a venv with a python and no unfinished marker. Anything else is
    incomplete - in particular a release of this layout (venv -> ../../venvs/<key>) without
    its record: it stopped somewhere between its build and its switch."""
    if has_unfinished_marker:
        return False
    if has_record:
        return True
    return bool(revision) and has_venv_python and not venv_is_link


def plan_recovery(intent, releases, live):
    """What to do about a switch a killed run left behind (pure).

    Returns (restore, mark_bad): the release `current` must point at again (None: leave
    it) and the release to mark bad (None: none). The rule is to undo: the release the
    killed run moved away from is put back when it is still complete, because it is the
    last one that was proven healthy; a deploy's new release, never proven, is marked bad so
    no rollback ever lands on it. A rollback's target was good before and stays good, so
    running the rollback again lands on it again.
    """
    if not intent:
        return None, None
    by_name = {r.name: r for r in _by_name(releases)}
    source, target = intent.get("from"), intent.get("to")
    restore = source if source in by_name and by_name[source].state != UNFINISHED else None
    if restore == live:
        restore = None
    final = restore or live
    bad = target if intent.get("op") == "deploy" and target in by_name and target != final else None
    return restore, bad
