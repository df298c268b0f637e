#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lock_hold
short_description: Hold an environment on purpose with a message, or lift that hold
version_added: "2.2.0"
description:
  - Takes the deploy lock of O(path) as a hold - holder, O(message), since when, no lease - so that every
    deploy and rollback is refused, showing the message, until the hold is lifted (a freeze during an
    event). Nothing breaks, takes over or waits for a hold.
  - With O(lift), removes a hold; a run's lock is never removed here.
  - Refuses, changing nothing, when a lock is there already or nothing was ever deployed.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path; a leading C(~) is the user's home.
    type: str
    required: true
  message:
    description: Why the environment is held (shown to every deploy and rollback refused). Required unless O(lift).
    type: str
  holder:
    description: Who holds it.
    type: str
    default: unknown
  lift:
    description: Lift the hold instead of taking one.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Freeze prod during the career fair
  hknweb.deploy.lock_hold:
    path: ~/hknweb/prod
    message: career fair until Friday 18:00
    holder: alice
"""

RETURN = r"""
lock:
  description: The hold taken, or the one lifted (holder, purpose, message, since, age_seconds), or V(null).
  returned: always
  type: dict
msg:
  description: What was done.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import holds
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="str", required=True),
        message=dict(type="str"),
        holder=dict(type="str", default="unknown"),
        lift=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    path = os.path.abspath(os.path.expanduser(p["path"]))
    where = os.path.join(path, lock_.LOCK_DIR)
    try:
        if p["lift"]:
            found = lock_.read_lock(path) if os.path.isdir(path) else None
            if found is not None and not holds.is_hold(found):
                holds.lift(path)  # refuses, naming the run
            if module.check_mode or found is None:
                module.exit_json(changed=False, lock=found, msg="%s: %s" % (
                    where, "nothing is held" if found is None else "would lift the hold (check mode)"))
            lifted = holds.lift(path)
            module.exit_json(changed=True, lock=lifted, msg="%s: hold lifted (was: \"%s\", by %s)" % (
                where, lifted.get("message"), lifted.get("holder")))
        if module.check_mode:
            module.exit_json(changed=False, lock=lock_.read_lock(path) if os.path.isdir(path) else None,
                             msg="%s: would hold it (check mode)" % where)
        taken = holds.take(path, p["holder"], p["message"] or "")
        module.exit_json(changed=True, lock=taken, msg="%s: held by %s: \"%s\"; deploys and rollbacks are refused "
                         "until it is lifted (lock.yml -e unhold=true)" % (where, taken.get("holder"), taken.get("message")))
    except (holds.HoldError, lock_.LockError) as error:
        module.fail_json(msg=str(error))


if __name__ == "__main__":
    main()
