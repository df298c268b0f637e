#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_finish
short_description: End a deploy or rollback - prune releases and unused venvs, give the lock back
version_added: "2.0.0"
description:
  - With O(prune), removes the releases the release policy does not keep (the newest O(keep)
    good ones, the live one and its rollback target always stay; bad and incomplete ones do
    not count) and every venv under C(venvs/) that no kept release links to.
  - Gives C(deploy.lock) back when this run (O(run)) holds it, whatever else happened.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (absolute).
    type: path
    required: true
  run:
    description: This run's id; only a lock with that id is removed.
    type: str
    required: true
  prune:
    description: Prune (a failed run only gives the lock back).
    type: bool
    default: true
  keep:
    description: Good releases to keep (at least 1).
    type: raw
    default: 5
  break_lock:
    description:
      - Instead of giving back this run's lock, remove the lock of a run proven dead (its lease ran out and
        no stage of it runs on the host), or one without lease (an older version's). A live run's lock is
        refused, naming holder, purpose, age and when its lease runs out. Nothing is pruned.
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Removes nothing; reports what a real run would remove.
  diff_mode:
    support: full
    details: The releases before and after.
  platform:
    support: full
    platforms: posix
seealso:
  - module: hknweb.deploy.prune_releases
"""

EXAMPLES = r"""
- name: Prune and unlock
  hknweb.deploy.deploy_finish:
    path: /home/hkn/hknweb/prod
    run: "{{ run_id }}"
    keep: 5
"""

RETURN = r"""
removed:
  description: Releases removed (in check mode, that would be).
  returned: always
  type: list
removed_venvs:
  description: Venv keys removed.
  returned: always
  type: list
kept:
  description: Releases kept.
  returned: always
  type: list
unlocked:
  description: Whether this run's lock was given back.
  returned: always
  type: bool
broken:
  description: With O(break_lock), the record of the lock removed (V(null) when there was none).
  returned: with O(break_lock)
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.prune import prune
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import ReleaseError
from ansible_collections.hknweb.deploy.plugins.module_utils import stages


def break_dead_lock(module, path):
    """lock.yml -e break=true: remove a dead run's lock; refuse a live one (exits the module)."""
    if not os.path.isdir(path):
        module.exit_json(changed=False, broken=None, unlocked=False)
    if module.check_mode:
        info = lock_.read_lock(path)
        module.exit_json(changed=info is not None, broken=info, unlocked=False)
    try:
        broken = lock_.break_lock(path)
    except lock_.LockHeld as held:
        module.fail_json(msg=str(held), lock=held.holder, stage=stages.LOCK, unlocked=False)
    module.exit_json(changed=broken is not None, broken=broken, unlocked=False)


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="path", required=True),
        run=dict(type="str", required=True),
        prune=dict(type="bool", default=True),
        keep=dict(type="raw", default=5),
        break_lock=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    if p["break_lock"]:
        break_dead_lock(module, p["path"])
    result = dict(changed=False, removed=[], removed_venvs=[], kept=[], unlocked=False)
    error = None
    try:
        if p["prune"] and os.path.isdir(p["path"]):
            plan, result["removed"], result["removed_venvs"], before = prune(p["path"], p["keep"], module.check_mode)
            result["kept"] = plan.keep
            if module._diff:
                result["diff"] = dict(before="".join(n + "\n" for n in before),
                                      after="".join(n + "\n" for n in plan.keep))
    except (ReleaseError, OSError) as failure:
        error = str(failure)
    finally:
        if not module.check_mode and os.path.isdir(p["path"]):
            result["unlocked"] = lock_.give_lock(p["path"], p["run"])
    result["changed"] = bool(result["removed"] or result["removed_venvs"])
    if error:
        module.fail_json(msg="pruning failed: %s (the deploy itself is done; the lock is %s)"
                         % (error, "given back" if result["unlocked"] else "not held"), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
