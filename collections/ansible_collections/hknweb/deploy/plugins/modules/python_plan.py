#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: python_plan
short_description: Decide how a release's venv is made, on the controller, before anything is built
version_added: "2.0.0"
description:
  - Reads what M(hknweb.deploy.deploy_begin) found on the host (the commit's C(pyproject.toml),
    C(poetry.lock) and requirements file; the interpreters' versions and PEP 508 markers) and
    decides the install strategy, checks the interpreter against the Python range the commit
    declares (PEP 621 C(requires-python), Poetry's C(python = "~3.9")), refuses a requirements
    file whose markers exclude every line, checks that the Poetry version runs on its Python,
    and names the venv C(venvs/<key>) of that dependency set (reused when it exists).
  - Runs on the controller (tomllib, packaging), so the host needs nothing but its Python.
  - Fails, changing nothing, with every problem found, each naming the variable to change.
author:
  - hknweb maintainers
options:
  files:
    description: RV(hknweb.deploy.deploy_begin#module:files).
    type: dict
    required: true
  interpreters:
    description: RV(hknweb.deploy.deploy_begin#module:interpreters).
    type: dict
    required: true
  venvs:
    description: Keys of the finished venvs on the host.
    type: list
    elements: str
    default: []
  interpreter:
    description: The Python the venv is made with.
    type: str
    required: true
  strategy:
    description:
      - V(pip) (the requirements file), V(poetry) (Poetry installs C(poetry.lock)), V(lock) (C(poetry.lock) read
        here, its exact hashed list for the interpreter installed by uv), or empty to detect (V(poetry) when the
        commit has C(poetry.lock), else V(pip)).
    type: str
    default: ""
  installer:
    description: What installs a V(pip) strategy's requirements file (V(lock) always uses uv, V(poetry) Poetry).
    type: str
    choices: [uv, pip]
    default: uv
  uv_version:
    description: The uv version (part of the venv key when uv installs).
    type: str
    default: 0.13.9
  requirements_file:
    description: pip's requirements file in the commit.
    type: str
    default: requirements.txt
  poetry_python:
    description: The Python that runs Poetry.
    type: str
    default: python3
  poetry_version:
    description: The Poetry version to use.
    type: str
    default: 2.2.1
  poetry_groups:
    description: Poetry groups besides main.
    type: list
    elements: str
    default: []
  poetry_constraints:
    description: pip constraints for Poetry's own dependencies (part of the venv key with Poetry).
    type: str
    default: ""
  pip_args:
    description: Extra pip arguments (part of the venv key).
    type: list
    elements: str
    default: []
  files_known:
    description: Whether O(files) could be read (false in check mode before the first fetch - only the interpreter is checked).
    type: bool
    default: true
  variable_prefix:
    description: Prefix of the caller's variables, so messages name what the user sets.
    type: str
    default: ""
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
- name: Plan the release's Python
  hknweb.deploy.python_plan:
    files: "{{ begun.files }}"
    interpreters: "{{ begun.interpreters }}"
    venvs: "{{ begun.venvs }}"
    interpreter: python3.9
    strategy: poetry
    poetry_groups: [prod]
    variable_prefix: app_python_
  register: plan
"""

RETURN = r"""
strategy:
  description: V(pip), V(poetry) or V(lock).
  returned: always
  type: str
installer:
  description: What runs the install, V(uv), V(pip) or V(poetry).
  returned: always
  type: str
install_list:
  description: The lock strategy's requirements text, every distribution pinned with its sha256 hashes.
  returned: when the strategy is lock and the lock could be read
  type: str
packages:
  description: The number of distributions in RV(install_list).
  returned: when the strategy is lock and the lock could be read
  type: int
strategy_reason:
  description: Why that strategy.
  returned: always
  type: str
key:
  description: The venv key of this dependency set.
  returned: when the interpreter runs
  type: str
reused:
  description: Whether C(venvs/<key>) exists already (no installer runs).
  returned: always
  type: bool
python:
  description: The interpreter's version.
  returned: always
  type: str
requires_python:
  description: The ranges the commit declares.
  returned: always
  type: list
problems:
  description: Every refusal, each naming the variable to change.
  returned: always
  type: list
"""
