# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""How a release's venv is made, decided on the controller before anything is built (pure).

`plan_python` takes what deploy_begin read on the host (the commit's files, the interpreter probes)
and the app_python settings, and returns the strategy (pip, poetry or lock), the installer that runs
it (uv, pip or Poetry), the venv key of the dependency set, whether that venv exists already, and
every problem - each naming the setting to change and the fix. The Python range and
requirements-file rules it applies live in python_check.py; the lock strategy's exact, hashed list
is made from poetry.lock by lock_export.py, here on the controller, and the key covers that list.
"""

from __future__ import annotations

import re

from ansible_collections.hknweb.deploy.plugins.module_utils.begin_steps import TEXT_LIMIT as LOCK_TEXT_LIMIT
from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import (
    CheckError, declared_python, describe_alternatives, installs_nothing, python_satisfies, requirement_entries,
    split_by_markers)
from ansible_collections.hknweb.deploy.plugins.module_utils.lock_export import export, render
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import venv_key

# Poetry releases and the oldest Python each runs on (measured: 2.0-2.2 run on 3.9).
_POETRY_FLOORS = (((2, 3), (3, 10)), ((2, 0), (3, 9)), ((1, 8), (3, 8)))


def choose_strategy(requested, has_lock, requirements_file, prefix=""):
    if requested:
        return requested, "%sinstall_strategy is %s" % (prefix, requested)
    if has_lock:
        return "poetry", "poetry.lock is in the commit"
    return "pip", "the commit has no poetry.lock (so pip and %s)" % requirements_file


def plan_python(files, interpreters, settings, venvs, prefix="", files_known=True):
    """Decide how a release's venv is made, before anything is built (pure).

    `files` and `interpreters` are what deploy_begin read on the host (commit files with their
    text or digest; interpreter probes with their PEP 508 environment). `settings` holds
    interpreter, strategy, requirements_file, poetry_python, poetry_groups, pip_args,
    poetry_version, poetry_constraints, installer, uv_version. Returns a dict with `problems` (messages
    naming `prefix` + the setting to change, each ending with the fix), the strategy, the `installer`,
    the venv `key`, whether it is `reused`, and for the lock strategy the `install_list` (requirements
    text, every line pinned and hashed) and its `packages` count.
    """
    interpreter = interpreters.get(settings["interpreter"], {})
    if not files_known:
        return _plan_before_first_fetch(settings, interpreter, prefix)
    lock = files.get("poetry.lock", {})
    strategy, reason = choose_strategy(settings["strategy"], lock.get("exists"), settings["requirements_file"], prefix)
    plan = dict(strategy=strategy, strategy_reason=reason, python=interpreter.get("version"),
                installer=installer_of(strategy, settings), executable=interpreter.get("executable"),
                requires_python=[], key=None, reused=False)
    problems = _interpreter_problems(settings, interpreter, prefix)
    problems += _range_problems(settings, interpreter, files.get("pyproject.toml", {}), plan, prefix)
    if strategy == "poetry":
        problems += _poetry_problems(settings, lock, interpreters, prefix)
        dependencies = (lock.get("sha256"), files.get("pyproject.toml", {}).get("sha256"))
    elif strategy == "lock":
        problems += _lock_problems(settings, files, interpreter, plan, prefix)
        dependencies = (plan.get("install_list"),)
    else:
        requirements = files.get(settings["requirements_file"], {})
        problems += _pip_problems(settings, requirements, interpreter, reason, prefix)
        dependencies = (requirements.get("sha256"),)
    if interpreter.get("found"):
        plan["key"] = _venv_key(settings, strategy, interpreter, dependencies)
        plan["reused"] = plan["key"] in (venvs or [])
    plan["problems"] = problems
    return plan


def installer_of(strategy, settings):
    """What runs the install: Poetry for poetry, uv for lock (hashes required), either for pip."""
    if strategy == "poetry":
        return "poetry"
    return "uv" if strategy == "lock" else settings.get("installer") or "uv"


def _plan_before_first_fetch(settings, interpreter, prefix):
    """A dry run before the first fetch: the commit's files are not on the host yet."""
    plan = dict(strategy=settings["strategy"] or "detected at the first real run", python=interpreter.get("version"),
                strategy_reason="the commit is not fetched yet (check mode)", requires_python=[],
                executable=interpreter.get("executable"), key=None, reused=False, problems=[])
    if not interpreter.get("found"):
        plan["problems"].append("%sinterpreter %r does not run on the host (%s)." % (
            prefix, settings["interpreter"], interpreter.get("error") or "not probed"))
    return plan


def _interpreter_problems(settings, interpreter, prefix):
    if not interpreter.get("found"):
        return ["%sinterpreter %r does not run on the host (%s). Set it to an installed Python: a name on PATH "
                "such as python3.9, or a path such as /usr/bin/python3.11."
                % (prefix, settings["interpreter"], interpreter.get("error") or "not probed")]
    if not interpreter.get("venv"):
        return ["%sinterpreter %r has no venv module (Debian: the python3-venv package). Ask root to install it, "
                "or point %sinterpreter at a Python that has it." % (prefix, settings["interpreter"], prefix)]
    return []


def _range_problems(settings, interpreter, pyproject, plan, prefix):
    """The interpreter against the range the commit declares; the ranges are noted in the plan."""
    if not (interpreter.get("found") and pyproject.get("text")):
        return []
    problems = []
    try:
        for declared in declared_python(pyproject["text"]):
            pep440 = describe_alternatives(declared["alternatives"])
            plan["requires_python"].append("%s = \"%s\" (PEP 440: %s)" % (declared["source"], declared["declared"], pep440))
            if not python_satisfies(interpreter["version"], declared["alternatives"]):
                problems.append(
                    "%sinterpreter %r is Python %s, outside the range the commit declares: %s = \"%s\". Set "
                    "%sinterpreter to a Python in that range (e.g. python3.9 or /usr/bin/python3.9), or deploy a "
                    "commit that admits Python %s." % (prefix, settings["interpreter"], interpreter["version"],
                                                        declared["source"], declared["declared"], prefix,
                                                        interpreter["version"]))
    except CheckError as error:
        problems.append("the commit's pyproject.toml cannot be read: %s. Fix it in the repository and push again."
                        % error)
    return problems


def _poetry_problems(settings, lock, interpreters, prefix):
    problems = []
    if not lock.get("exists"):
        problems.append("%sinstall_strategy is poetry, but the commit has no poetry.lock: the deploy installs only "
                        "what a lock file pins. Commit poetry.lock (poetry lock), or set %sinstall_strategy to pip "
                        "(or empty to detect)." % (prefix, prefix))
    tool = interpreters.get(settings["poetry_python"], {})
    if not tool.get("found"):
        problems.append("%spoetry_python %r, the Python that runs Poetry, does not run on the host (%s). Set it to an "
                        "installed Python." % (prefix, settings["poetry_python"], tool.get("error") or "not probed"))
        return problems
    floor = poetry_python_floor(settings["poetry_version"])
    if floor and _version_tuple(tool["version"]) < floor:
        problems.append(
            "Poetry %s needs Python %s or newer, and %spoetry_python %r is Python %s. Set %spoetry_version to 2.2.1 "
            "(the newest Poetry that runs on 3.9), or %spoetry_python to a newer Python."
            % (settings["poetry_version"], ".".join(map(str, floor)), prefix, settings["poetry_python"],
               tool["version"], prefix, prefix))
    return problems


def _lock_problems(settings, files, interpreter, plan, prefix):
    """The lock strategy: poetry.lock read here, its exact hashed list for this interpreter into the plan."""
    lock = files.get("poetry.lock", {})
    if not lock.get("exists"):
        return ["%sinstall_strategy is lock, but the commit has no poetry.lock to install exactly. Commit poetry.lock "
                "(poetry lock), or set %sinstall_strategy to pip." % (prefix, prefix)]
    if lock.get("text") is None:
        return ["poetry.lock is too large for the deploy to read (over %d KiB). Set %sinstall_strategy to poetry."
                % (LOCK_TEXT_LIMIT // 1024, prefix)]
    if not interpreter.get("found"):
        return []
    exported = export(files.get("pyproject.toml", {}).get("text") or "", lock["text"], interpreter["environment"],
                      settings.get("poetry_groups") or [])
    if exported["problems"]:
        return ["%s (%sinstall_strategy is lock, for %sinterpreter %r, Python %s)" % (
            problem.rstrip("."), prefix, prefix, settings["interpreter"], interpreter["version"])
            + "." for problem in exported["problems"]]
    plan.update(install_list=render(exported["entries"]), packages=len(exported["entries"]))
    return []


def _pip_problems(settings, requirements, interpreter, reason, prefix):
    name = settings["requirements_file"]
    if not requirements.get("exists"):
        return ["the install strategy is pip (%s), but the commit has no %s. Set %srequirements_file to the app's "
                "requirements file, or use Poetry (%sinstall_strategy: poetry)." % (reason, name, prefix, prefix)]
    if requirements.get("text") is None or not interpreter.get("found"):
        return []
    split = split_by_markers(requirement_entries(requirements["text"]), interpreter["environment"])
    if not installs_nothing(split):
        return []
    if split["excluded"]:
        return ["every line of %s (%d requirements) is excluded by its environment marker for Python %s "
                "(%sinterpreter %r), e.g. `%s`, so pip would install nothing. Use an interpreter the markers admit "
                "(%sinterpreter), Poetry (%sinstall_strategy: poetry), or a requirements file made for this Python "
                "(%srequirements_file)." % (name, len(split["excluded"]), interpreter["version"], prefix,
                                            settings["interpreter"], split["excluded"][0], prefix, prefix, prefix)]
    return ["%s lists no requirement, so pip would install nothing. Set %srequirements_file to the app's "
            "requirements file." % (name, prefix)]


def _venv_key(settings, strategy, interpreter, dependencies):
    """The key of the dependency set: everything that changes what the venv holds."""
    parts = dict(strategy=strategy, python=interpreter.get("executable"), version=interpreter.get("version"),
                 dependencies=dependencies, pip_args=list(settings.get("pip_args") or []))
    installer = installer_of(strategy, settings)
    if installer == "uv":  # a pip-strategy venv built by pip keeps the key it had before uv
        parts.update(installer=installer, uv=settings.get("uv_version"))
    if strategy == "poetry":
        parts.update(groups=sorted(settings.get("poetry_groups") or []), poetry=settings["poetry_version"],
                     pins=settings.get("poetry_constraints") or "")
    return venv_key(parts)


def poetry_python_floor(version):
    wanted = _version_tuple(version)
    for since, floor in _POETRY_FLOORS:
        if wanted[:2] >= since:
            return floor
    return None


def _version_tuple(text):
    return tuple(int(p) for p in re.findall(r"\d+", str(text or ""))[:3])
