#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: knobs
short_description: Check a role's knobs on the controller in one task, before anything changes
version_added: "2.1.0"
description:
  - Runs in a role's tasks (its C(main) entry point) and checks, all at once, the role's argument
    spec (C(meta/argument_specs.yml), entry point C(main)) the way Ansible's role validation does,
    the rules a spec cannot say (O(rules)), and the knobs two inventory aliases of one account
    (same C(ansible_host) and C(ansible_port)) must not share (O(distinct)).
  - One task where Ansible's validation, an assert per rule list and an assert per shared knob took
    four; include the role with C(rolespec_validate=false) so the spec is not checked twice.
  - Fails, changing nothing, with every problem found, each starting with the variable's name.
author:
  - hknweb maintainers
options:
  rules:
    description:
      - Checks a spec cannot say, already templated by Ansible.
      - Each is C(var) (the knob named in the message), C(ok) (the check's result; anything but
        V(true) is a problem) and C(msg).
    type: list
    elements: dict
    default: []
  distinct:
    description: Knobs whose value must differ between inventory aliases of one account in the play.
    type: list
    elements: str
    default: []
  publish:
    description: Values the role derives from its knobs, handed back unchanged as RV(published) (register
      the task), so other roles and stages read a result, not the role's knobs.
    type: dict
    default: {}
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
- name: Check the service knobs
  hknweb.deploy.knobs:
    distinct: [app_service_name, app_service_bind]
    rules:
      - var: app_service_workers
        ok: "{{ app_service_workers | int >= 1 }}"
        msg: must be at least 1.
"""

RETURN = r"""
published:
  description: O(publish), unchanged.
  returned: always
  type: dict
problems:
  description: Every problem found, each starting with the variable's name; empty when all is well.
  returned: always
  type: list
  elements: str
  sample: ["deploy_keep_releases: is 0; keep at least 1 release."]
"""
