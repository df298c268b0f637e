# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Paths the deploy relies on or writes, checked before the first change: `current` must name a
release, and no path a run writes may point back into the environment's own `current`,
`releases/`, `repo/` or `venvs/`, leave the home, or pass through a symlink the deploy did not make.

The decisions take what was read from the host (`current_refusal` an Inventory; `write_problem` a
path and the facts `resolve` gathered) and return a message or None; they never touch the disk."""

from __future__ import annotations

import os

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import GOOD


def current_refusal(inventory):
    """Why a run must stop before building because `current` is not a link to a release, with the
    command that fixes it; None when `current` is absent or names a release.

    Chosen: refuse, never replace. Someone pointed it there by hand (a repair, an experiment); the
    service may be running from it, and a deploy that replaced it would have no release to put back
    if its own failed. The fix is one command the person can read before running it."""
    if not inventory.current_problem:
        return None
    current = layout.current_link(inventory.deploy_path)
    good = [r.name for r in inventory.releases if r.state == GOOD]
    if inventory.current_kind == "link":
        found = "current points to %r, not to a release in %s" % (
            inventory.current_target, layout.releases_dir(inventory.deploy_path))
    else:
        found = "current is a real %s, not a link to a release" % inventory.current_kind
    if good:
        fix = ("point it at the newest good release: ln -sfn %s %s (releases.yml lists the others; the "
               "service then runs that release after the next deploy or rollback)" % (
                   layout.current_text(good[-1]), current))
    else:
        fix = "there is no good release to point it at: move it away (mv %s %s.moved), then deploy" % (current, current)
    return "%s; nothing was built. Fix it by hand: %s. Nothing was changed." % (found, fix)


# --- paths a run writes ------------------------------------------------------------------------

# What the engine owns inside the deploy path: nothing else may write there (or through them).
OWNED = layout.DEPLOY_OWNED


def zone_problem(where, deploy_real):
    """Why a path (its folder resolved, its last part as given) may not be written: it is the deploy
    path's `current` or lies in `current`, `releases/`, `repo/` or `venvs/`. Pure."""
    for name in OWNED:
        owned = os.path.join(deploy_real, name)
        if where == owned or where.startswith(owned + os.sep):
            return "is the environment's own %s%s" % (name, "" if where == owned else " (inside it: %s)" % where)
    return None


def write_problem(variable, shown, facts, deploy_real, home_real=None):
    """One path a run writes, judged from `facts` (what `resolve` read): inside the engine's own
    folders, outside the home (home templates), or through a symlinked folder. Pure."""
    problems = []
    if facts["symlinks"]:
        problems.append("passes through a symlinked folder (%s), so it would be written elsewhere; the deploy "
                        "writes only through real folders" % ", ".join(facts["symlinks"]))
    where = facts["where"]
    if home_real is not None and not (where == home_real or where.startswith(home_real + os.sep)):
        problems.append("resolves outside the home (%s)" % where)
    zone = zone_problem(where, deploy_real)
    if zone:
        problems.append(zone)
    if not problems:
        return None
    return "%s %r %s" % (variable, shown, "; ".join(problems))


def resolve(base, relative):
    """What the host says about base/relative: the symlinked folders between base and its last part,
    and where it lands (its folder's real path plus the last part, never following the last part:
    the deploy replaces a link there, it does not write through it)."""
    path = os.path.normpath(os.path.join(base, os.path.expanduser(relative)))
    folder, last = os.path.split(path)
    symlinks, walk = [], base
    start = os.path.relpath(folder, base) if folder.startswith(base) else None
    for part in ([] if start in (None, ".") else start.split(os.sep)):
        walk = os.path.join(walk, part)
        if os.path.islink(walk):
            symlinks.append(walk)
    return {"where": os.path.join(os.path.realpath(folder), last), "symlinks": symlinks}


def venv_problems(deploy_path):
    """Entries of venvs/ that are not real folders (a symlink planted there): never used, named."""
    folder = layout.venvs_dir(deploy_path)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return ["%s/%s is a symlink (to %s), not a venv the deploy built; remove it (rm %s)" % (
        layout.VENVS_DIR, name, os.readlink(os.path.join(folder, name)), os.path.join(folder, name))
        for name in names if os.path.islink(os.path.join(folder, name))]


def check_writes(deploy_path, home, home_templates, shared_templates, extra, venvs=True):
    """Every path this run will write, resolved and checked before the first change. Returns the
    problems (empty: go on). `extra`: [{variable, path}] written by later stages (app_static_link).
    `venvs`: also refuse links in venvs/ (a deploy may use one; a rollback, the emergency, builds none)."""
    deploy_real, home_real = os.path.realpath(deploy_path), os.path.realpath(home)
    shared = layout.shared_dir(deploy_path)
    problems = []
    for path in home_templates:
        problems.append(write_problem("deploy_home_templates entry", path, resolve(home, path), deploy_real, home_real))
    for path in shared_templates:
        problems.append(write_problem("deploy_shared_templates entry", path, resolve(shared, path), deploy_real))
    for entry in extra:
        path = os.path.expanduser(entry["path"])
        facts = {"where": os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)), "symlinks": []}
        problems.append(write_problem(entry["variable"], entry["path"], facts, deploy_real))
    return [p for p in problems if p] + (venv_problems(deploy_path) if venvs else [])
