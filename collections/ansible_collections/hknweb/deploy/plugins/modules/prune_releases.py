#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prune_releases
short_description: Remove old releases of a Capistrano-style deploy, never the live one
version_added: "1.0.0"
description:
  - Looks at C(releases/) and the C(current) link under O(path) and removes the releases
    that are no longer needed.
  - The live release (what C(current) points to) and the rollback target (the newest good
    release older than the live one) are always kept, whatever O(keep) says.
  - Bad releases (marked C(.deploy-bad) by a rollback) and unfinished ones (still carrying
    C(.deploy-unfinished)) do not count toward O(keep) and are removed unless protected.
  - Of the good releases the newest O(keep), ordered by release name (a UTC timestamp, never
    file times), are kept; older ones are removed.
  - Entries of C(releases/) that are not release folders (other names, plain files,
    symlinks, even a symlink with a release-shaped name) are never touched nor followed.
  - If C(current) exists but does not point to a release inside C(releases/), the module
    fails instead of guessing which release is live. If there is no C(current) at all,
    nothing is live and pruning goes ahead.
author:
  - hknweb maintainers
options:
  path:
    description:
      - The deploy path, the folder that holds C(releases/) and the C(current) link.
    type: path
    required: true
  keep:
    description:
      - How many of the newest good releases to keep, at least C(1).
      - The live release and its rollback target are kept in addition when they are not
        among them.
      - Given as a whole number; V(0), negative numbers, fractions, booleans and other text
        are refused with an error.
    type: raw
    default: 5
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Removes nothing and reports exactly the releases that would be removed.
  diff_mode:
    support: full
    details: Shows the release names before and after, one per line.
  platform:
    support: full
    platforms: posix
seealso:
  - module: hknweb.deploy.releases
notes:
  - Releases are C(releases/YYYYMMDDTHHMMSSZ) folders; C(current) is a relative symlink
    C(releases/<name>).
"""

EXAMPLES = r"""
# Layout under the deploy path:
#   releases/20261125T110425Z/   one folder per release (REVISION, markers inside)
#   current -> releases/20261125T110425Z
- name: Keep the five newest good releases, plus the live one and its rollback target
  hknweb.deploy.prune_releases:
    path: /home/hknweb/hknweb/prod

- name: See what keep=2 would remove without removing anything
  hknweb.deploy.prune_releases:
    path: "{{ deploy_path }}"
    keep: 2
  check_mode: true
  register: prune_preview

- name: Show why each release stays or goes
  ansible.builtin.debug:
    var: prune_preview.reasons
"""

RETURN = r"""
removed:
  description: Releases removed (in check mode, that would be removed), oldest first.
  returned: success
  type: list
  elements: str
  sample: ["20261101T090000Z", "20261102T090000Z"]
kept:
  description: Releases kept, oldest first.
  returned: success
  type: list
  elements: str
  sample: ["20261120T090000Z", "20261125T110425Z"]
reasons:
  description: For every release, why it is kept or removed.
  returned: success
  type: dict
  sample:
    "20261101T090000Z": older than the 2 newest good releases
    "20261124T090000Z": bad release; does not count toward keep
    "20261125T110425Z": live (current points here)
live:
  description: The live release (what C(current) points to), or V(null) when there is no C(current).
  returned: success
  type: str
  sample: "20261125T110425Z"
rollback_target:
  description: The newest good release older than the live one, or V(null) if there is none.
  returned: success
  type: str
  sample: "20261120T090000Z"
ignored:
  description: Entries of C(releases/) that are not release folders and were left alone.
  returned: success
  type: list
  elements: str
  sample: ["README", "latest"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import (
    RELEASES_DIR,
    ReleaseError,
    plan_prune,
    remove_release,
    rollback_target,
    scan,
    validate_keep,
)


def get_argument_spec():
    return dict(
        path=dict(type="path", required=True),
        # raw, not int: Ansible's int would take true as 1; the core explains what is wrong.
        keep=dict(type="raw", default=5),
    )


def _lines(names):
    return "".join(name + "\n" for name in names)


def main():
    module = AnsibleModule(argument_spec=get_argument_spec(), supports_check_mode=True)
    removed = []
    try:
        keep = validate_keep(module.params["keep"])
        inventory = scan(module.params["path"])
        live = inventory.require_live()
        plan = plan_prune(inventory.releases, live, keep)
        for name in plan.remove:
            if not module.check_mode:
                remove_release(f"{inventory.deploy_path}/{RELEASES_DIR}/{name}")
            removed.append(name)
    except (ReleaseError, OSError) as error:
        # Report what already went, so a half-done prune is visible.
        module.fail_json(msg=str(error), changed=bool(removed), removed=removed)

    result = dict(
        changed=bool(removed),
        removed=removed,
        kept=plan.keep,
        reasons=plan.reasons,
        live=live,
        rollback_target=rollback_target(inventory.releases, live),
        ignored=list(inventory.ignored),
    )
    if module._diff:
        header = f"{inventory.deploy_path}/{RELEASES_DIR}"
        result["diff"] = dict(
            before_header=header,
            after_header=header,
            before=_lines(inventory.names()),
            after=_lines(plan.keep),
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
