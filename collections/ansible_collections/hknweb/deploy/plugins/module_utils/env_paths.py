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

from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp


def current_refusal(inventory):
    """Why a run must stop before building because `current` is not a link to a release, with the
    command that fixes it; None when `current` is absent or names a release.

    Chosen: refuse, never replace. Someone pointed it there by hand (a repair, an experiment); the
    service may be running from it, and a deploy that replaced it would have no release to put back
    if its own failed. The fix is one command the person can read before running it."""
    if not inventory.current_problem:
        return None
    current = os.path.join(inventory.deploy_path, rp.CURRENT_LINK)
    good = [r.name for r in inventory.releases if r.state == rp.GOOD]
    if inventory.current_kind == "link":
        found = "current points to %r, not to a release in %s" % (
            inventory.current_target, os.path.join(inventory.deploy_path, rp.RELEASES_DIR))
    else:
        found = "current is a real %s, not a link to a release" % inventory.current_kind
    if good:
        fix = ("point it at the newest good release: ln -sfn %s %s (releases.yml lists the others; the "
               "service then runs that release after the next deploy or rollback)" % (
                   os.path.join(rp.RELEASES_DIR, good[-1]), current))
    else:
        fix = "there is no good release to point it at: move it away (mv %s %s.moved), then deploy" % (current, current)
    return "%s; nothing was built. Fix it by hand: %s. Nothing was changed." % (found, fix)
