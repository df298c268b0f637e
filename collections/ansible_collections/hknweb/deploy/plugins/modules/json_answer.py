#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: json_answer
short_description: Write a read-only playbook's answer for every environment as one JSON document
version_added: "2.2.0"
description:
  - Run once (C(run_once)) after every host answered. Reads each play host's registered answer
    (O(answer)) and writes one JSON document - C(version), C(kind), C(written) and one entry per
    environment - to the file named by the environment variable C(DEPLOY_JSON). The shape is
    documented in C(docs/json-answers.md).
  - Does nothing when C(DEPLOY_JSON) is not set. A file that cannot be written is a warning.
author:
  - hknweb maintainers
options:
  kind:
    description: Which answer - V(status), V(releases), V(lock) or V(check).
    type: str
    required: true
    choices: [status, releases, lock, check]
  answer:
    description:
      - The name of the registered variable holding each host's answer.
      - For V(check), a dict naming two - C(doctor) (M(hknweb.deploy.deploy_begin) in doctor mode) and
        C(python) (M(hknweb.deploy.python_plan)).
    type: raw
    required: true
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
- name: Write the JSON answer (DEPLOY_JSON=<file>)
  hknweb.deploy.json_answer:
    kind: status
    answer: __status
  run_once: true
"""

RETURN = r"""
path:
  description: The file written.
  returned: when DEPLOY_JSON is set
  type: str
msg:
  description: What was done.
  returned: always
  type: str
"""
