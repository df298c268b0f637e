# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Does an interpreter fit an app, and would its requirements file install anything?

Pure functions over text, for the python_check module (and its unit tests):

- `declared_python(pyproject_text)` finds the app's Python range: PEP 621
  ``[project] requires-python`` and/or Poetry's ``[tool.poetry.dependencies] python``.
- `poetry_to_pep440(constraint)` translates Poetry's constraint syntax (``^3.11``,
  ``~3.9``, ``3.9.*``, ``>=3.8 <3.12``, ``a || b``) into PEP 440 specifier sets, one
  per ``||`` alternative, following poetry-core's rules.
- `python_satisfies(version, alternatives)` checks an interpreter version against them.
- `requirement_entries(text)` and `split_by_markers(entries, environment)` tell which
  lines of a pip requirements file apply to an interpreter, given the marker
  environment that `PROBE` prints (under "environment") when run by that interpreter.

It runs on the controller (the `python_plan` action), where tomllib and `packaging` are
always there, so the host needs no Python package beyond its interpreter. Nothing here
touches the disk or runs a process.
"""

from __future__ import annotations

import re

# Run by deploy_begin ON THE HOST with the interpreter being checked (any Python 3): prints as
# JSON the interpreter's real path, whether it has venv, and the PEP 508 marker variables for THAT
# interpreter (which may not be the one running Ansible's module).
PROBE = r"""
import json, os, platform, sys
try:
    import venv, ensurepip  # noqa: F401
    has_venv = True
except ImportError:
    has_venv = False
def fmt(info):
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version
print(json.dumps({"executable": os.path.realpath(sys.executable), "venv": has_venv, "environment": {
    "implementation_name": sys.implementation.name,
    "implementation_version": fmt(sys.implementation.version),
    "os_name": os.name, "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(), "platform_system": platform.system(),
    "platform_version": platform.version(), "python_full_version": platform.python_version(),
    "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform}}))
"""


class CheckError(Exception):
    """A problem with the app's files, with a message meant for the person deploying."""


def load_packaging():
    """(SpecifierSet, Version, Requirement, InvalidSpecifier, InvalidVersion, InvalidRequirement).

    This runs on the controller (ansible-core depends on `packaging`), never on the host."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version
    return SpecifierSet, Version, Requirement, InvalidSpecifier, InvalidVersion, InvalidRequirement


def load_toml(text, what):
    """Parse TOML text with tomllib (the controller's Python is 3.12 or newer)."""
    import tomllib
    try:
        return tomllib.loads(text)
    except ValueError as error:  # TOMLDecodeError is a ValueError
        raise CheckError(f"{what} is not valid TOML: {error}") from None


# ---------------------------------------------------------------------------------------
# The app's declared Python range
# ---------------------------------------------------------------------------------------

_RELEASE = re.compile(r"v?(\d+(?:\.\d+)*)(.*)\Z", re.IGNORECASE)
_OPERATOR_SPACE = re.compile(r"(\^|~=|~|===|==|!=|<>|>=|<=|>|<|=)\s+")


def _release_parts(version_text):
    """'3.9.1' -> ([3, 9, 1], ''), '3.13.0rc1' -> ([3, 13, 0], 'rc1')."""
    match = _RELEASE.match(version_text.strip())
    if not match:
        raise CheckError(f"'{version_text}' is not a version")
    return [int(p) for p in match.group(1).split(".")], match.group(2)


def _join(parts):
    return ".".join(str(p) for p in parts)


def _caret(version_text):
    """poetry-core's next_breaking(): bump the first non-zero of the given parts."""
    parts, _ = _release_parts(version_text)
    if parts[0] > 0 or len(parts) == 1:
        upper = [parts[0] + 1]
    elif parts[1] > 0 or len(parts) == 2:
        upper = [0, parts[1] + 1]
    else:
        upper = [0, 0, parts[2] + 1]
    return [f">={version_text}", f"<{_join(upper)}"]


def _tilde(version_text):
    """~1 -> <2; ~1.2 and ~1.2.3 -> <1.3 (poetry-core's tilde range)."""
    parts, _ = _release_parts(version_text)
    upper = [parts[0] + 1] if len(parts) == 1 else [parts[0], parts[1] + 1]
    return [f">={version_text}", f"<{_join(upper)}"]


def _single(constraint):
    """One Poetry constraint -> a list of PEP 440 specifiers (empty: any version)."""
    if re.fullmatch(r"(?i)v?[x*](\.[x*])*", constraint):
        return []
    if constraint.startswith("^"):
        return _caret(constraint[1:])
    if constraint.startswith("~="):
        parts, _ = _release_parts(constraint[2:])
        if len(parts) < 2:  # PEP 440 needs two parts; poetry-core means <next major
            return [f">={constraint[2:]}", f"<{parts[0] + 1}"]
        return [constraint]
    if constraint.startswith("~"):
        return _tilde(constraint[1:])
    match = re.fullmatch(r"(===|==|!=|<>|>=|<=|>|<|=)?\s*(.+)", constraint)
    operator, version = match.group(1) or "==", match.group(2)
    operator = {"=": "==", "<>": "!="}.get(operator, operator)
    version = re.sub(r"(\.[xX])+\Z", ".*", version)  # 3.9.x means 3.9.*
    return [f"{operator}{version}"]


def poetry_to_pep440(constraint):
    """Poetry's constraint string -> list of PEP 440 specifier strings, one per `||` branch.

    An empty string in the list is a branch that allows any version. Raises CheckError
    on text that is not a constraint.
    """
    SpecifierSet, _, _, InvalidSpecifier, _, _ = load_packaging()
    text = constraint.strip()
    if text in ("", "*"):
        return [""]
    alternatives = []
    for branch in re.split(r"\s*\|\|?\s*", text):
        branch = _OPERATOR_SPACE.sub(r"\1", branch.strip().rstrip(",").strip())
        specifiers = []
        for part in (p for p in re.split(r"[,\s]+", branch) if p):
            specifiers.extend(_single(part))
        joined = ",".join(specifiers)
        try:
            SpecifierSet(joined)
        except InvalidSpecifier:
            raise CheckError(f"'{constraint}' is not a version constraint Poetry or PEP 440 knows") from None
        alternatives.append(joined)
    return alternatives


def declared_python(pyproject_text):
    """The Python ranges pyproject.toml declares, as a list of dicts:

        {"source": "project.requires-python" | "tool.poetry.dependencies.python",
         "declared": the text as written,
         "alternatives": PEP 440 specifier sets (any one may match)}

    Empty when the file declares none. Both are returned when both are present: the
    interpreter must satisfy each (Poetry itself requires its range to fit inside PEP 621's).
    """
    SpecifierSet, _, _, InvalidSpecifier, _, _ = load_packaging()
    data = load_toml(pyproject_text, "pyproject.toml")
    found = []
    project = data.get("project")
    if isinstance(project, dict) and isinstance(project.get("requires-python"), str):
        declared = project["requires-python"]
        try:
            SpecifierSet(declared)
        except InvalidSpecifier:
            raise CheckError(f"[project] requires-python '{declared}' is not a PEP 440 specifier") from None
        found.append(dict(source="project.requires-python", declared=declared, alternatives=[declared.strip()]))
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    dependencies = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(dependencies, dict) and isinstance(dependencies.get("python"), str):
        declared = dependencies["python"]
        found.append(dict(source="tool.poetry.dependencies.python", declared=declared,
                          alternatives=poetry_to_pep440(declared)))
    return found


def describe_alternatives(alternatives):
    """['>=3.9,<3.10'] -> '>=3.9,<3.10'; several joined with ' || '; '' -> 'any'."""
    return " || ".join(a or "any" for a in alternatives)


def python_satisfies(version, alternatives):
    """Whether the interpreter version (e.g. '3.11.2') is in any alternative.

    Pre-releases of an interpreter count as that version (3.13.0rc1 satisfies >=3.11).
    """
    SpecifierSet, Version, _, _, InvalidVersion, _ = load_packaging()
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise CheckError(f"the interpreter reports a version '{version}' that is not PEP 440") from None
    return any(SpecifierSet(a).contains(parsed, prereleases=True) for a in alternatives)


# ---------------------------------------------------------------------------------------
# Requirements files
# ---------------------------------------------------------------------------------------

# pip: a comment starts at "#" at the line start or after whitespace.
_COMMENT = re.compile(r"(^|\s)#.*$")
# Per-requirement options after the requirement itself (--hash=..., --config-settings ...).
_TRAILING_OPTIONS = re.compile(r"\s+--?[A-Za-z].*$")
# Option lines that install nothing by themselves.
_NON_INSTALLING_OPTIONS = (
    "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
    "-c", "--constraint", "--pre", "--prefer-binary", "--require-hashes", "--trusted-host",
    "--no-binary", "--only-binary", "--use-feature", "--config-settings", "--global-option",
)


def logical_lines(text):
    """Requirement file text -> logical lines: continuations joined, comments and blanks gone."""
    lines, pending = [], ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            lines.append(line)
    tail = _COMMENT.sub("", pending).strip()
    if tail:
        lines.append(tail)
    return lines


def requirement_entries(text):
    """Classify each logical line of a requirements file:

        ("requirement", line, spec text)   a PEP 508 requirement, markers and all
        ("other", line, None)              installs something this check cannot evaluate
                                           (-r/-e, a URL or a path)
        ("option", line, None)             an option that installs nothing by itself
    """
    entries = []
    for line in logical_lines(text):
        if line.startswith("-"):
            option = re.split(r"[\s=]", line, maxsplit=1)[0]
            kind = "option" if option in _NON_INSTALLING_OPTIONS else "other"
            entries.append((kind, line, None))
            continue
        entries.append(("requirement", line, _TRAILING_OPTIONS.sub("", line).strip()))
    return entries


def split_by_markers(entries, environment):
    """Which entries install something for an interpreter with this marker environment.

    Returns dict(applicable=[...], excluded=[...], other=[lines]): requirements as written
    minus per-requirement options (--hash=...); `other` holds lines that cannot be evaluated
    (they may install something) and unparseable ones.
    """
    _, _, Requirement, _, _, InvalidRequirement = load_packaging()
    env = {k: v for k, v in environment.items() if k != "executable"}
    env.setdefault("extra", "")
    result = dict(applicable=[], excluded=[], other=[])
    for kind, line, spec in entries:
        if kind == "option":
            continue
        if kind == "other":
            result["other"].append(line)
            continue
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            result["other"].append(line)  # a URL or local path pip accepts
            continue
        if requirement.marker is None or requirement.marker.evaluate(env):
            result["applicable"].append(spec)
        else:
            result["excluded"].append(spec)
    return result


def installs_nothing(split):
    """True when pip would install nothing from the file (all excluded, or nothing listed)."""
    return not split["applicable"] and not split["other"]


# --- the plan for one release's Python, made on the controller ---------------------------


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
    poetry_version. Returns a dict with `problems` (messages naming `prefix` + the setting to
    change, each ending with the fix), the strategy, the venv `key` and whether it is `reused`.
    """
    problems = []
    s = settings
    interpreter = interpreters.get(s["interpreter"], {})
    if not files_known:
        # A dry run before the first fetch: the commit's files are not on the host yet.
        plan = dict(strategy=s["strategy"] or "detected at the first real run", python=interpreter.get("version"),
                    strategy_reason="the commit is not fetched yet (check mode)", requires_python=[],
                    executable=interpreter.get("executable"), key=None, reused=False, problems=[])
        if not interpreter.get("found"):
            plan["problems"].append("%sinterpreter %r does not run on the host (%s)." % (
                prefix, s["interpreter"], interpreter.get("error") or "not probed"))
        return plan
    lock = files.get("poetry.lock", {})
    strategy, reason = choose_strategy(s["strategy"], lock.get("exists"), s["requirements_file"], prefix)
    plan = dict(strategy=strategy, strategy_reason=reason, python=interpreter.get("version"),
                executable=interpreter.get("executable"), requires_python=[], key=None, reused=False)

    if not interpreter.get("found"):
        problems.append("%sinterpreter %r does not run on the host (%s). Set it to an installed Python: a "
                        "name on PATH such as python3.9, or a path such as /usr/bin/python3.11."
                        % (prefix, s["interpreter"], interpreter.get("error") or "not probed"))
    elif not interpreter.get("venv"):
        problems.append("%sinterpreter %r has no venv module (Debian: the python3-venv package). Ask root to "
                        "install it, or point %sinterpreter at a Python that has it."
                        % (prefix, s["interpreter"], prefix))
    pyproject = files.get("pyproject.toml", {})
    if interpreter.get("found") and pyproject.get("text"):
        try:
            for declared in declared_python(pyproject["text"]):
                ok = python_satisfies(interpreter["version"], declared["alternatives"])
                pep440 = describe_alternatives(declared["alternatives"])
                plan["requires_python"].append("%s = \"%s\" (PEP 440: %s)" % (declared["source"], declared["declared"], pep440))
                if not ok:
                    problems.append(
                        "%sinterpreter %r is Python %s, outside the range the commit declares: %s = \"%s\". "
                        "Set %sinterpreter to a Python in that range (e.g. python3.9 or /usr/bin/python3.9), "
                        "or deploy a commit that admits Python %s."
                        % (prefix, s["interpreter"], interpreter["version"], declared["source"],
                           declared["declared"], prefix, interpreter["version"]))
        except CheckError as error:
            problems.append("the commit's pyproject.toml cannot be read: %s. Fix it in the repository and "
                            "push again." % error)

    groups = list(s.get("poetry_groups") or [])
    if strategy == "poetry":
        if not lock.get("exists"):
            problems.append("%sinstall_strategy is poetry, but the commit has no poetry.lock: the deploy installs "
                            "only what a lock file pins. Commit poetry.lock (poetry lock), or set "
                            "%sinstall_strategy to pip (or empty to detect)." % (prefix, prefix))
        tool = interpreters.get(s["poetry_python"], {})
        if not tool.get("found"):
            problems.append("%spoetry_python %r, the Python that runs Poetry, does not run on the host (%s). "
                            "Set it to an installed Python." % (prefix, s["poetry_python"], tool.get("error") or "not probed"))
        else:
            floor = poetry_python_floor(s["poetry_version"])
            if floor and _version_tuple(tool["version"]) < floor:
                problems.append(
                    "Poetry %s needs Python %s or newer, and %spoetry_python %r is Python %s. Set "
                    "%spoetry_version to 2.2.1 (the newest Poetry that runs on 3.9), or %spoetry_python "
                    "to a newer Python." % (s["poetry_version"], ".".join(map(str, floor)), prefix,
                                            s["poetry_python"], tool["version"], prefix, prefix))
        dependency_text = (lock.get("sha256"), pyproject.get("sha256"))
    else:
        requirements = files.get(s["requirements_file"], {})
        dependency_text = (requirements.get("sha256"),)
        if not requirements.get("exists"):
            problems.append("the install strategy is pip (%s), but the commit has no %s. Set %srequirements_file "
                            "to the app's requirements file, or use Poetry (%sinstall_strategy: poetry)."
                            % (reason, s["requirements_file"], prefix, prefix))
        elif requirements.get("text") is not None and interpreter.get("found"):
            split = split_by_markers(requirement_entries(requirements["text"]), interpreter["environment"])
            if installs_nothing(split):
                if split["excluded"]:
                    problems.append(
                        "every line of %s (%d requirements) is excluded by its environment marker for Python %s "
                        "(%sinterpreter %r), e.g. `%s`, so pip would install nothing. Use an interpreter the "
                        "markers admit (%sinterpreter), Poetry (%sinstall_strategy: poetry), or a requirements "
                        "file made for this Python (%srequirements_file)."
                        % (s["requirements_file"], len(split["excluded"]), interpreter["version"], prefix,
                           s["interpreter"], split["excluded"][0], prefix, prefix, prefix))
                else:
                    problems.append("%s lists no requirement, so pip would install nothing. Set %srequirements_file "
                                    "to the app's requirements file." % (s["requirements_file"], prefix))
    if interpreter.get("found"):
        parts = dict(strategy=strategy, python=interpreter.get("executable"), version=interpreter.get("version"),
                     dependencies=dependency_text, pip_args=list(s.get("pip_args") or []))
        if strategy == "poetry":
            parts.update(groups=sorted(groups), poetry=s["poetry_version"], pins=s.get("poetry_constraints") or "")
        from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import venv_key
        plan["key"] = venv_key(parts)
        plan["reused"] = plan["key"] in (venvs or [])
    plan["problems"] = problems
    return plan


# Poetry releases and the oldest Python each runs on (measured: 2.0-2.2 run on 3.9).
_POETRY_FLOORS = (((2, 3), (3, 10)), ((2, 0), (3, 9)), ((1, 8), (3, 8)))


def poetry_python_floor(version):
    wanted = _version_tuple(version)
    for since, floor in _POETRY_FLOORS:
        if wanted[:2] >= since:
            return floor
    return None


def _version_tuple(text):
    return tuple(int(p) for p in re.findall(r"\d+", str(text or ""))[:3])
