#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: releases
short_description: List releases of a Capistrano-style deploy, switch between them, roll back
version_added: "1.0.0"
description:
  - Reads C(releases/), the C(current) link and C(revisions.log) under O(path) and reports
    every release with its state, and which one is live.
  - With O(state=switch) points C(current) at a named release; with O(state=rollback) goes
    back to the rollback target (or a named release) and marks the release it left as bad.
  - C(current) is replaced atomically (a temporary link renamed over it), so there is never
    a moment without it.
  - The live release is what C(current) points to, never the newest folder. The rollback
    target is the newest good release whose name sorts before the live one, so a second
    rollback goes one further back.
author:
  - hknweb maintainers
options:
  path:
    description:
      - The deploy path, the folder that holds C(releases/), C(current) and C(revisions.log).
    type: path
    required: true
  state:
    description:
      - V(query) reports the releases and changes nothing.
      - V(switch) points C(current) at O(name). The release must exist and be complete (no
        C(.deploy-unfinished)); a bad mark on it is cleared. Also repairs a C(current) that
        points nowhere.
      - V(rollback) points C(current) at the rollback target, or at O(name) when given, and
        writes C(.deploy-bad) (time and O(reason)) into the release rolled back from, which
        is kept for inspection. A bad mark on the target is cleared. When the target is
        already live nothing changes and nothing is marked. Fails, changing nothing, when
        there is no target or C(current) does not point to a release.
    type: str
    choices: [query, switch, rollback]
    default: query
  name:
    description:
      - The release to make live, for example V(20261125T110425Z).
      - Required with O(state=switch). With O(state=rollback) it may be older or newer than
        the live release and may be a bad release.
      - Ignored with O(state=query).
    type: str
  reason:
    description:
      - Why the rollback happened, written into C(.deploy-bad) of the release rolled back from.
      - Only used with O(state=rollback); line breaks are folded into spaces.
    type: str
    default: rolled back
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Changes nothing and reports what would change, including the result of the switch.
  diff_mode:
    support: full
    details: Shows the target of C(current) before and after.
  platform:
    support: full
    platforms: posix
seealso:
  - module: hknweb.deploy.prune_releases
notes:
  - This module does not write C(revisions.log); it only reads it.
"""

EXAMPLES = r"""
# Layout under the deploy path:
#   releases/20261125T110425Z/   one folder per release (REVISION, markers inside)
#   current -> releases/20261125T110425Z
#   revisions.log                time, event, release, sha, ref, deployer (TAB separated)
- name: List releases
  hknweb.deploy.releases:
    path: /home/hknweb/hknweb/prod
  register: deployed

- name: Show the live release and where a rollback would go
  ansible.builtin.debug:
    msg: "live {{ deployed.live }}, rollback to {{ deployed.rollback_target }}"

- name: Roll back to the previous good release and mark the current one bad
  hknweb.deploy.releases:
    path: "{{ deploy_path }}"
    state: rollback
    reason: "500s after deploy, ticket 123"

- name: Make a specific release live
  hknweb.deploy.releases:
    path: "{{ deploy_path }}"
    state: switch
    name: "20261125T110425Z"
"""

RETURN = r"""
releases:
  description: Every release, oldest first, as it is after the task (in check mode, as it would be).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Release name (UTC timestamp).
      type: str
      sample: "20261125T110425Z"
    path:
      description: Absolute path of the release folder.
      type: str
      sample: /home/hknweb/hknweb/prod/releases/20261125T110425Z
    revision:
      description: Content of the release's REVISION file, or V(null) if it has none.
      type: str
      sample: 0123456789abcdef0123456789abcdef01234567
    state:
      description: V(good), V(bad) (rolled back from) or V(unfinished) (still being built).
      type: str
      sample: good
    live:
      description: Whether C(current) points to this release.
      type: bool
      sample: true
    rollback_target:
      description: Whether a rollback without O(name) would go to this release.
      type: bool
      sample: false
    ref:
      description: Git ref deployed, from the last deploy line of C(revisions.log), or V(null).
      type: str
      sample: main
    deployer:
      description: Who deployed it, from C(revisions.log), or V(null).
      type: str
      sample: alice
    time:
      description: When it was deployed, from C(revisions.log), or V(null).
      type: str
      sample: "2026-11-25T11:04:25Z"
live:
  description: The live release after the task, or V(null) when C(current) is missing or
    does not point to a release.
  returned: always
  type: str
  sample: "20261125T110425Z"
rollback_target:
  description: Where a rollback without O(name) would go after the task, or V(null).
  returned: always
  type: str
  sample: "20261120T090000Z"
previous:
  description: The release that was live before the task, or V(null).
  returned: when O(state) is V(switch) or V(rollback)
  type: str
  sample: "20261125T110425Z"
marked_bad:
  description: The release marked bad by a rollback, or V(null).
  returned: when O(state) is V(switch) or V(rollback)
  type: str
  sample: "20261125T110425Z"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import (
    BAD,
    CURRENT_LINK,
    RELEASES_DIR,
    ReleaseError,
    after_switch,
    check_switchable,
    choose_rollback,
    clear_bad,
    describe,
    mark_bad,
    rollback_target,
    scan,
    switch_current,
)


def get_argument_spec():
    return dict(
        path=dict(type="path", required=True),
        state=dict(type="str", default="query", choices=["query", "switch", "rollback"]),
        name=dict(type="str"),
        reason=dict(type="str", default="rolled back"),
    )


def plan_move(inventory, state, name):
    """(target, rolled_back_from) for switch/rollback, raising ReleaseError on refusal."""
    if inventory.current_kind not in ("absent", "link"):
        raise ReleaseError(inventory.current_problem)  # a real folder named current
    if state == "switch":
        return check_switchable(inventory.releases, name), None
    live = inventory.require_live()  # rolling back from an unknown release would mark nothing
    target = choose_rollback(inventory.releases, live, name)
    return target, (live if target != live else None)


def apply_move(inventory, target, rolled_back_from, reason):
    """Switch first (the site matters most), then fix the marks."""
    release_path = f"{inventory.deploy_path}/{RELEASES_DIR}/{target}"
    if inventory.live != target:
        switch_current(inventory.deploy_path, target)
    if inventory.get(target).state == BAD:
        clear_bad(release_path)
    if rolled_back_from:
        mark_bad(f"{inventory.deploy_path}/{RELEASES_DIR}/{rolled_back_from}", reason)


def _link_text(target):
    return f"{CURRENT_LINK} -> {target}\n" if target else f"{CURRENT_LINK} absent\n"


def move(inventory, state, name, reason, check_mode):
    """Switch or roll back; returns (result, releases after, live after)."""
    target, rolled_back_from = plan_move(inventory, state, name)
    before = inventory.current_target
    if state == "rollback" and target == inventory.live:
        # Already live: a rollback changes nothing and marks nothing.
        result = dict(changed=False, previous=inventory.live, marked_bad=None)
        result["diff"] = dict(before=_link_text(before), after=_link_text(before))
        return result, inventory.releases, target

    moves = inventory.live != target
    clears_mark = inventory.get(target).state == BAD
    if not check_mode:
        apply_move(inventory, target, rolled_back_from, reason)
    after = f"{RELEASES_DIR}/{target}" if moves else before
    result = dict(
        changed=moves or clears_mark,
        previous=inventory.live,
        marked_bad=rolled_back_from,
        diff=dict(before=_link_text(before), after=_link_text(after)),
    )
    return result, after_switch(inventory.releases, target, rolled_back_from), target


def main():
    module = AnsibleModule(
        argument_spec=get_argument_spec(),
        required_if=[("state", "switch", ["name"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        inventory = scan(params["path"])
        if params["state"] == "query":
            if inventory.current_problem:
                module.warn(inventory.current_problem)
            result, releases, live = dict(changed=False), inventory.releases, inventory.live
        else:
            result, releases, live = move(
                inventory, params["state"], params["name"], params["reason"], module.check_mode
            )
    except (ReleaseError, OSError) as error:
        module.fail_json(msg=str(error))

    if not module._diff:
        result.pop("diff", None)
    result.update(
        releases=describe(inventory.deploy_path, releases, live, inventory.log),
        live=live,
        rollback_target=rollback_target(releases, live),
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
