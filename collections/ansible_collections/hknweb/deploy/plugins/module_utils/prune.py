# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Pruning on disk: remove the releases plan_prune does not keep, then every venv no kept release uses."""

from __future__ import annotations

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import plan_prune, validate_keep
from ansible_collections.hknweb.deploy.plugins.module_utils.releases_disk import remove_release, scan
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import plan_venv_prune, venv_keys


def prune(deploy_path, keep, check_mode=False):
    """Returns (plan, removed releases, removed venv keys, names before)."""
    keep = validate_keep(keep)
    inventory = scan(deploy_path)
    plan = plan_prune(inventory.releases, inventory.require_live(), keep)
    removed, removed_venvs = [], []
    for name in plan.remove:
        if not check_mode:
            remove_release(layout.release_dir(deploy_path, name))
        removed.append(name)
    kept = [r for r in inventory.releases if r.name in plan.keep]
    for key in plan_venv_prune(venv_keys(deploy_path), kept):
        if not check_mode:
            remove_release(layout.venv_dir(deploy_path, key))  # a venv folder, same rules
        removed_venvs.append(key)
    return plan, removed, removed_venvs, inventory.names()
