#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: python_check
short_description: Check an interpreter and an install strategy against one commit of the app
version_added: "1.1.0"
description:
  - Reads C(pyproject.toml), C(poetry.lock) and the requirements file of one commit straight
    from a git repository (C(git show <commit>:<file>)), before any release folder exists.
  - Runs the interpreter to learn its version and PEP 508 marker environment, and reports
    whether it is inside the Python range the app declares (PEP 621 C(requires-python) and
    Poetry's C([tool.poetry.dependencies] python), whose C(^) and C(~) forms are translated
    to PEP 440).
  - Resolves the install strategy (C(poetry) when the commit has C(poetry.lock), else C(pip))
    and, for C(pip), which lines of the requirements file apply to that interpreter once
    environment markers are evaluated.
  - Only reports. It fails only when it cannot read the repository or the files; the caller
    decides what is an error (so the message can name the caller's variables).
requirements:
  - git on the target.
  - The Python package C(packaging) for the Python that runs modules (Debian C(python3-packaging)).
  - A TOML parser for that Python (C(tomllib) from 3.11, or C(tomli)).
author:
  - hknweb maintainers
options:
  interpreter:
    description:
      - The Python that will build the app's venv, a name looked up on E(PATH) (V(python3.9))
        or a path (V(/usr/bin/python3.11)).
    type: str
    required: true
  repo:
    description:
      - Git repository (bare or not) holding O(version).
    type: path
    required: true
  version:
    description:
      - The commit to read, preferably a full SHA.
    type: str
    required: true
  strategy:
    description:
      - V(pip) or V(poetry); empty to detect (V(poetry) when the commit has C(poetry.lock)).
    type: str
    choices: ["", pip, poetry]
    default: ""
  requirements_file:
    description:
      - The requirements file, relative to the repository root, read for the V(pip) strategy.
    type: str
    default: requirements.txt
  tool_interpreter:
    description:
      - The Python that runs Poetry itself (its own venv); probed only when the strategy is
        V(poetry). Omit to skip.
    type: str
attributes:
  check_mode:
    support: full
    details: Reads only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Check python3.9 and the install strategy against the commit to deploy
  hknweb.deploy.python_check:
    interpreter: python3.9
    repo: /home/hkn/hknweb/prod/repo
    version: "{{ release_repository_sha }}"
  register: checked

- name: Stop unless the interpreter is in the app's declared range
  ansible.builtin.assert:
    that: checked.python_ok
    fail_msg: "Python {{ checked.python.version }} is outside {{ checked.requires_python }}"
"""

RETURN = r"""
python:
  description: What the interpreter reported.
  returned: always
  type: dict
  contains:
    found:
      description: Whether it ran.
      type: bool
    error:
      description: Why it did not run, or an empty string.
      type: str
    executable:
      description: Its sys.executable.
      type: str
      sample: /usr/bin/python3.11
    version:
      description: Its full version.
      type: str
      sample: 3.11.2
    environment:
      description: Its PEP 508 marker environment.
      type: dict
requires_python:
  description: The Python ranges the commit declares; empty when it declares none.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: V(project.requires-python) or V(tool.poetry.dependencies.python).
      type: str
    declared:
      description: The constraint as written.
      type: str
      sample: ~3.9
    pep440:
      description: The same as PEP 440 specifier sets, alternatives joined by C( || ).
      type: str
      sample: ">=3.9,<3.10"
    summary:
      description: All of it in one phrase, for messages.
      type: str
      sample: 'tool.poetry.dependencies.python = "~3.9" (PEP 440: >=3.9,<3.10)'
    satisfied:
      description: Whether the interpreter is in this range (V(null) when it did not run).
      type: bool
python_ok:
  description: The interpreter ran and is inside every declared range.
  returned: always
  type: bool
files:
  description: Which of pyproject.toml, poetry.lock and the requirements file the commit has.
  returned: always
  type: dict
  sample: {"pyproject.toml": true, "poetry.lock": true, "requirements.txt": true}
strategy:
  description: The install strategy, V(pip) or V(poetry).
  returned: always
  type: str
strategy_reason:
  description: Why that strategy, in words.
  returned: always
  type: str
  sample: poetry.lock is in the commit
requirements:
  description: For the V(pip) strategy with the file present, its lines by what pip would do.
  returned: when the strategy is pip and the file exists
  type: dict
  contains:
    applicable:
      description: Requirements whose markers admit the interpreter.
      type: list
      elements: str
    excluded:
      description: Requirements whose markers exclude the interpreter.
      type: list
      elements: str
    other:
      description: Lines that may install something but cannot be evaluated (-r, -e, URLs).
      type: list
      elements: str
    installs_nothing:
      description: Whether pip would install nothing at all from the file.
      type: bool
tool_python:
  description: What O(tool_interpreter) reported, like RV(python).
  returned: when the strategy is poetry and O(tool_interpreter) is given
  type: dict
error:
  description: A problem reading the app's files (invalid TOML, a constraint that is not one).
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import (
    MARKER_ENVIRONMENT_SNIPPET,
    CheckError,
    declared_python,
    describe_alternatives,
    installs_nothing,
    python_satisfies,
    requirement_entries,
    split_by_markers,
)


def get_argument_spec():
    return dict(
        interpreter=dict(type="str", required=True),
        repo=dict(type="path", required=True),
        version=dict(type="str", required=True),
        strategy=dict(type="str", default="", choices=["", "pip", "poetry"]),
        requirements_file=dict(type="str", default="requirements.txt"),
        tool_interpreter=dict(type="str"),
    )


def probe(module, interpreter):
    """Run the interpreter; dict(found, error, executable, version, environment)."""
    path = interpreter if "/" in interpreter else module.get_bin_path(interpreter)
    if not path or not os.access(path, os.X_OK):
        return dict(found=False, error=f"{interpreter}: not found or not executable",
                    executable=None, version=None, environment={})
    rc, out, err = module.run_command([path, "-c", MARKER_ENVIRONMENT_SNIPPET])
    if rc != 0:
        return dict(found=False, error=f"{interpreter} exited {rc}: {err.strip()}",
                    executable=None, version=None, environment={})
    environment = json.loads(out)
    return dict(found=True, error="", executable=environment.get("executable"),
                version=environment["python_full_version"], environment=environment)


def git_show(module, repo, version, path):
    """Text of one file of a commit, or None when the commit has no such file."""
    rc, out, err = module.run_command(["git", "-C", repo, "cat-file", "-e", f"{version}:{path}"])
    if rc != 0:
        return None
    rc, out, err = module.run_command(["git", "-C", repo, "show", f"{version}:{path}"])
    if rc != 0:
        module.fail_json(msg=f"git show {version}:{path} in {repo} failed: {err.strip()}")
    return out


def choose_strategy(requested, has_lock, requirements_file):
    if requested:
        return requested, "deploy_install_strategy is " + requested
    if has_lock:
        return "poetry", "poetry.lock is in the commit"
    return "pip", f"the commit has no poetry.lock (so pip and {requirements_file})"


def main():
    module = AnsibleModule(argument_spec=get_argument_spec(), supports_check_mode=True)
    params = module.params
    repo, version = params["repo"], params["version"]

    rc, _, err = module.run_command(["git", "-C", repo, "rev-parse", "--verify", "--quiet",
                                     "--end-of-options", f"{version}^{{commit}}"])
    if rc != 0:
        module.fail_json(msg=f"{version} is not a commit of the repository {repo} {err.strip()}".strip())

    pyproject = git_show(module, repo, version, "pyproject.toml")
    has_lock = git_show(module, repo, version, "poetry.lock") is not None
    strategy, reason = choose_strategy(params["strategy"], has_lock, params["requirements_file"])
    requirements_text = None
    if strategy == "pip":
        requirements_text = git_show(module, repo, version, params["requirements_file"])

    python = probe(module, params["interpreter"])
    result = dict(
        changed=False,
        python=python,
        files={"pyproject.toml": pyproject is not None, "poetry.lock": has_lock},
        strategy=strategy,
        strategy_reason=reason,
        requires_python=[],
        python_ok=python["found"],
        error="",
    )
    if strategy == "pip":
        result["files"][params["requirements_file"]] = requirements_text is not None

    try:
        for declared in declared_python(pyproject) if pyproject is not None else []:
            satisfied = python_satisfies(python["version"], declared["alternatives"]) if python["found"] else None
            pep440 = describe_alternatives(declared["alternatives"])
            result["requires_python"].append(dict(
                source=declared["source"], declared=declared["declared"], pep440=pep440, satisfied=satisfied,
                summary=f'{declared["source"]} = "{declared["declared"]}" (PEP 440: {pep440})'))
            result["python_ok"] = result["python_ok"] and bool(satisfied)
        if requirements_text is not None and python["found"]:
            split = split_by_markers(requirement_entries(requirements_text), python["environment"])
            split["installs_nothing"] = installs_nothing(split)
            result["requirements"] = split
    except CheckError as error:
        result["error"] = str(error)

    if strategy == "poetry" and params["tool_interpreter"]:
        result["tool_python"] = probe(module, params["tool_interpreter"])

    module.exit_json(**result)


if __name__ == "__main__":
    main()
