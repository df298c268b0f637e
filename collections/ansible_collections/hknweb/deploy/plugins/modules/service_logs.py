#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: service_logs
short_description: The last lines of an environment's service and socket journal
version_added: "2.2.0"
description:
  - Reads the user journal of O(service) and O(socket) (C(journalctl --user)), the last O(lines) lines,
    and with O(since_deploy) only those since the last deploy, rollback, revert or recovery that
    C(revisions.log) under O(path) records. Changes nothing.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (for C(revisions.log)); a leading C(~) is the user's home.
    type: str
    required: true
  service:
    description: The service unit.
    type: str
    required: true
  socket:
    description: The socket unit (empty - none).
    type: str
    default: ""
  lines:
    description: How many lines, at most (1 to 10000).
    type: int
    default: 100
  since_deploy:
    description: Only the lines since the last deploy or rollback.
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
- name: Last 100 lines of prod
  hknweb.deploy.service_logs:
    path: ~/hknweb/prod
    service: hknweb.service
    socket: hknweb.socket
"""

RETURN = r"""
lines:
  description: The journal's lines, oldest first (short-iso format).
  returned: always
  type: list
  elements: str
since:
  description: With O(since_deploy), the revisions.log line the lines start after, or V(null).
  returned: always
  type: str
units:
  description: The units read.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import logs
from ansible_collections.hknweb.deploy.plugins.module_utils.revlog import log_tail


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="str", required=True),
        service=dict(type="str", required=True),
        socket=dict(type="str", default=""),
        lines=dict(type="int", default=100),
        since_deploy=dict(type="bool", default=False),
    ), supports_check_mode=True)
    p = module.params
    if not 1 <= p["lines"] <= logs.MAX_LINES:
        module.fail_json(msg="lines is %d; give 1 to %d (-e lines=200). Nothing was changed." % (p["lines"], logs.MAX_LINES))
    path = os.path.abspath(os.path.expanduser(p["path"]))
    since, said = None, None
    if p["since_deploy"]:
        since, said = logs.last_change(log_tail(path, 200) if os.path.isdir(path) else [])
    units = [u for u in (p["service"], p["socket"]) if u]
    lines, problem = logs.read(units, p["lines"], since)
    if problem:
        module.fail_json(msg=problem, units=units)
    module.exit_json(changed=False, lines=lines, since=said, units=units)


if __name__ == "__main__":
    main()
