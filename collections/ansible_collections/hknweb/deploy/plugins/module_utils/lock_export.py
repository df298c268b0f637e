# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The exact distributions a poetry.lock installs for one interpreter, with their hashes (pure).

`export(pyproject_text, lock_text, environment, groups, extras)` returns
``dict(entries=[...], problems=[...])``; each entry is ``dict(name, version, hashes, why)``
(plus ``url`` or ``index`` for a non-PyPI source), sorted by name; any problem means "install
nothing", and names the package and the fix. `render(entries)` is the requirements text for
``uv pip install --require-hashes --no-deps`` (or pip's).

How the set is chosen: a walk of the lock's dependency graph from the project's declared
dependencies of main plus the chosen groups ([project] dependencies, or [tool.poetry.dependencies]
when [project] has none; [tool.poetry.group.X.dependencies]; [dependency-groups]), evaluating every
edge's markers (and python/platform keys) for the target, following optional edges only for the
extras requested on that edge. Why not just the packages whose `groups`/`markers` match (what
Poetry 2's installer does for lock-version 2.1)? Those markers are simplified against the
project's Python range (the fixture's typing-extensions carries no marker although its only edge
says python_version < "3.11"), so they are only right inside that range, and lock 2.0 has none.
So a target outside `[metadata] python-versions` is refused (Poetry refuses it too), and for 2.1
the walk is checked against Poetry's own selection: a difference means a lock no Poetry wrote.
(Beside [project] dependencies, [tool.poetry.dependencies] only enriches them in Poetry 2 and is not
read here; for lock 2.1 the comparison catches any difference that makes.)

Refused: an unknown lock-version (2.0 and 2.1 are read); a lock whose content-hash is not the
one Poetry computes from pyproject.toml (reproduced exactly, see `content_hash`); a package with
no sha256 hash; a git, directory or file source (none installs lock-exact from a hash).
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import (
    CheckError, load_packaging, load_toml, poetry_to_pep440, python_satisfies)

LOCK_VERSIONS = ("2.0", "2.1")
_FIX = "Run `poetry lock` with Poetry 2 and commit poetry.lock, or set the install strategy to poetry."
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})\Z")
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name):
    """PEP 503 name: 'Typing_Extensions' -> 'typing-extensions' (packaging's own rule; controller only)."""
    from packaging.utils import canonicalize_name
    return canonicalize_name(name)


def content_hash(pyproject, with_dependency_groups=True):
    """The content-hash Poetry 2 writes (poetry/packages/locker.py): sha256 of the sorted JSON of
    [project] requires-python/dependencies/optional-dependencies, [dependency-groups] (Poetry 2.3
    and later) and [tool.poetry] dependencies/source/extras/dev-dependencies/group. The legacy four
    keys are kept even when absent (as null) unless [project] or [dependency-groups] has content,
    and without those two the [tool.poetry] part is the whole document."""
    project = pyproject.get("project", {})
    groups = pyproject.get("dependency-groups", {}) if with_dependency_groups else {}
    poetry = pyproject.get("tool", {}).get("poetry", {})
    relevant_project = {k: project[k] for k in ("requires-python", "dependencies", "optional-dependencies")
                        if project.get(k) is not None}
    relevant_poetry = {}
    for key in ("dependencies", "source", "extras", "dev-dependencies", "group"):
        legacy = key != "group"
        if poetry.get(key) is not None or (legacy and not relevant_project and not groups):
            relevant_poetry[key] = poetry.get(key)
    content = {}
    if relevant_project:
        content["project"] = relevant_project
    if groups:
        content["dependency-groups"] = groups
    content = dict(content, tool={"poetry": relevant_poetry}) if content else relevant_poetry
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def export(pyproject_text, lock_text, environment, groups=(), extras=()):
    """The lock-exact install list for one marker environment: dict(entries=[...], problems=[...])."""
    try:
        if not lock_text:
            raise CheckError("the commit has no poetry.lock, so there is no exact list to install. " + _FIX)
        pyproject, lock = load_toml(pyproject_text, "pyproject.toml"), load_toml(lock_text, "poetry.lock")
        env = {k: v for k, v in environment.items() if k != "executable"}
        chosen = {"main"} | {canonical(g) for g in groups}
        extras = [canonical(e) for e in extras]
        _check_lock(pyproject, lock, lock_text, env)
        index = _index(lock.get("package", []))
        found, problems = _walk(_root_requests(pyproject, chosen, extras), index, env)
        if lock["metadata"]["lock-version"] == "2.1" and not problems:
            problems += _compare_with_poetry(found, lock.get("package", []), chosen, env, extras)
        entries = [_entry(found[name]["package"], found[name]["why"]) for name in sorted(found)]
    except CheckError as error:
        return dict(entries=[], problems=[str(error)])
    except (KeyError, TypeError, AttributeError) as error:  # a table or key Poetry always writes is missing
        return dict(entries=[], problems=["poetry.lock or pyproject.toml is not shaped as Poetry writes it "
                                          "(%s: %s). %s" % (type(error).__name__, error, _FIX)])
    problems += [entry for entry in entries if isinstance(entry, str)]
    entries = [entry for entry in entries if not isinstance(entry, str)]
    return dict(entries=[] if problems else entries, problems=problems)


def _check_lock(pyproject, lock, lock_text, env):
    metadata = lock.get("metadata")
    if not isinstance(metadata, dict) or str(metadata.get("lock-version")) not in LOCK_VERSIONS:
        version = metadata.get("lock-version") if isinstance(metadata, dict) else None
        raise CheckError("poetry.lock has lock-version %r; this reader knows %s. %s"
                         % (version, " and ".join(LOCK_VERSIONS), _FIX))
    recorded = metadata.get("content-hash")
    header = re.search(r"by Poetry (\d+)\.(\d+)", lock_text.split("\n", 1)[0])
    accepted = {content_hash(pyproject)}
    if header and (int(header.group(1)), int(header.group(2))) < (2, 3):  # before 2.3 the hash left out [dependency-groups]
        accepted.add(content_hash(pyproject, with_dependency_groups=False))
    if recorded not in accepted:
        raise CheckError("poetry.lock's content-hash %s is not the hash of this pyproject.toml's dependencies "
                         "(%s): the lock is stale or edited by hand. %s" % (recorded, content_hash(pyproject), _FIX))
    declared = metadata.get("python-versions", "*")
    version = env.get("python_full_version") or env.get("python_version", "")
    if not python_satisfies(version, poetry_to_pep440(declared)):
        raise CheckError("poetry.lock is for Python %s and the target is Python %s: its markers hold only inside "
                         "that range (Poetry refuses this too). Use an interpreter in the range, or widen "
                         "python in pyproject.toml and run `poetry lock`." % (declared, version))


def _index(packages):
    index = {}
    for package in packages:
        index.setdefault(canonical(package["name"]), []).append(package)
    return index


def _constraints(spec):
    """A dependency as the lock or [tool.poetry] writes it (str, table or list of them) -> list of tables."""
    return [c if isinstance(c, dict) else {"version": c} for c in (spec if isinstance(spec, list) else [spec])]


def _root_requests(pyproject, chosen, extras):
    """(name, constraint table, why) for each dependency the project declares in the chosen groups and extras."""
    project, poetry = pyproject.get("project", {}), pyproject.get("tool", {}).get("poetry", {})
    declared = {canonical(g): t.get("dependencies", {}) for g, t in poetry.get("group", {}).items()}
    if poetry.get("dev-dependencies"):
        declared.setdefault("dev", {}).update(poetry["dev-dependencies"])
    pep735 = {canonical(g): v for g, v in pyproject.get("dependency-groups", {}).items()}
    missing = sorted(chosen - {"main"} - set(declared) - set(pep735))
    if missing:
        raise CheckError("group(s) %s are not in pyproject.toml (it declares: %s). Choose declared groups."
                         % (", ".join(missing), ", ".join(sorted(set(declared) | set(pep735))) or "none"))
    offered = set(map(canonical, project.get("optional-dependencies") or {})) | set(map(canonical, poetry.get("extras", {})))
    if set(extras) - offered:
        raise CheckError("extra(s) %s are not in pyproject.toml (it offers: %s). Choose offered extras."
                         % (", ".join(sorted(set(extras) - offered)), ", ".join(sorted(offered)) or "none"))
    pep508 = [(line, "main group") for line in project.get("dependencies") or []]
    for extra, lines in (project.get("optional-dependencies") or {}).items():
        pep508 += [(line, "extra " + canonical(extra)) for line in lines if canonical(extra) in extras]
    requests = []
    if "dependencies" not in project:  # Poetry 2: [project] dependencies, when present, are the main group
        wanted = {canonical(n) for e, names in poetry.get("extras", {}).items() if canonical(e) in extras for n in names}
        for name, spec in poetry.get("dependencies", {}).items():
            requests += [(name, c, "main group") for c in _constraints(spec) if name != "python"
                         and (not c.get("optional") or canonical(name) in wanted)]
    for group in sorted(chosen - {"main"}):
        requests += [(n, c, "group " + group) for n, s in declared.get(group, {}).items() for c in _constraints(s)]
        pep508 += [(line, "group " + group) for line in _pep735(pep735, group, set())]
    return requests + [_pep508_request(line, why) for line, why in pep508]


def _pep508_request(line, why):
    _, _, Requirement, _, _, InvalidRequirement = load_packaging()
    try:
        req = Requirement(line)
    except InvalidRequirement:
        raise CheckError("pyproject.toml lists '%s', which is not a PEP 508 requirement." % line) from None
    constraint = dict(version=str(req.specifier) or "*", extras=sorted(req.extras))
    if req.marker is not None:
        constraint["markers"] = str(req.marker)
    return req.name, constraint, why


def _pep735(groups, group, seen):
    """A [dependency-groups] group's requirement strings, included groups expanded (each once)."""
    seen.add(group)
    lines = []
    for item in groups.get(group, []):
        if isinstance(item, dict) and canonical(item.get("include-group", "")) not in seen:
            lines += _pep735(groups, canonical(item["include-group"]), seen)
        elif isinstance(item, str):
            lines.append(item)
    return lines


def _applies(constraint, env, extras):
    """Whether a dependency edge applies to the target: its markers (for any requested extra), python, platform."""
    from packaging.markers import InvalidMarker, Marker, UndefinedEnvironmentName
    try:
        if constraint.get("markers") and not any(
                Marker(constraint["markers"]).evaluate(dict(env, extra=e)) for e in (extras or [""])):
            return False
    except (InvalidMarker, UndefinedEnvironmentName) as error:
        raise CheckError("poetry.lock has a marker '%s' this reader cannot evaluate for the target (%s). %s"
                         % (constraint["markers"], error, _FIX)) from None
    if constraint.get("python") and not python_satisfies(env.get("python_full_version", ""),
                                                         poetry_to_pep440(constraint["python"])):
        return False
    return not constraint.get("platform") or constraint["platform"] == env.get("sys_platform")


def _pick(index, name, constraint, why, env):
    """The locked package a dependency edge means: the only one of that name, else the one its version admits
    and (lock 2.1, one version per Python range) whose own markers hold for the target."""
    candidates = index.get(canonical(name), [])
    if len(candidates) > 1:
        SpecifierSet = load_packaging()[0]
        ranges = [SpecifierSet(r) for r in poetry_to_pep440(str(constraint.get("version", "*")))]
        candidates = [p for p in candidates if any(r.contains(p["version"], prereleases=True) for r in ranges)]
    if len(candidates) > 1:
        candidates = [p for p in candidates if any(_applies({"markers": m}, env, []) for m in _package_markers(p))]
    if len(candidates) != 1:
        raise CheckError("%s (needed by %s) has %d matching packages in poetry.lock, not one. %s"
                         % (canonical(name), why, len(candidates), _FIX))
    return candidates[0]


def _walk(requests, index, env):
    """Follow the graph from the root requests; cycles end at the first (package, extras) seen twice."""
    found, seen, problems = {}, set(), []
    queue = [request for request in requests if _applies(request[1], env, [])]
    while queue:
        name, constraint, why = queue.pop(0)
        wanted = sorted(canonical(e) for e in constraint.get("extras", []))
        package = _pick(index, name, constraint, why, env)
        key = canonical(package["name"])
        record = found.setdefault(key, dict(package=package, why=[]))
        if record["package"] is not package:
            problems.append("%s is needed at %s and at %s. %s" % (key, record["package"]["version"],
                                                                   package["version"], _FIX))
        if why not in record["why"]:
            record["why"].append(why)
        if (key, tuple(wanted)) in seen:
            continue
        seen.add((key, tuple(wanted)))
        optional = {canonical(m.group(1)) for e, deps in package.get("extras", {}).items() if canonical(e) in wanted
                    for m in (_NAME.match(d) for d in deps) if m}
        for dep, spec in package.get("dependencies", {}).items():
            queue += [(dep, c, "%s %s" % (key, package["version"])) for c in _constraints(spec)
                      if (not c.get("optional") or canonical(dep) in optional) and _applies(c, env, wanted)]
    return found, problems


def _compare_with_poetry(found, packages, chosen, env, extras):
    """Lock 2.1: the packages Poetry 2's installer picks (groups meet the chosen ones and the marker of
    one of those groups holds) must be the packages the walk found."""
    poetry = set()
    for package in packages:
        groups = {canonical(g) for g in package.get("groups", [])} & chosen
        markers = package.get("markers")
        per_group = {canonical(g): m for g, m in markers.items()} if isinstance(markers, dict) else {}
        if any(_applies({"markers": per_group.get(g, markers if isinstance(markers, str) else None)}, env, extras)
               for g in groups):
            poetry.add((canonical(package["name"]), package["version"]))
    walked = {(name, record["package"]["version"]) for name, record in found.items()}
    if poetry == walked:
        return []
    return ["poetry.lock's groups and markers pick %s for this target, its dependency graph picks %s: a lock "
            "Poetry did not write, or edited by hand. %s" % (_names(poetry - walked), _names(walked - poetry), _FIX)]


def _package_markers(package):
    """A 2.1 package's markers, one per group (None: any); lock 2.0 has none."""
    markers = package.get("markers")
    return list(markers.values()) or [None] if isinstance(markers, dict) else [markers]


def _names(pairs):
    return ", ".join("%s %s" % pair for pair in sorted(pairs)) or "nothing more"


def _entry(package, why):
    """An install entry, or a problem (text) when the package cannot be installed lock-exact."""
    name, version = canonical(package["name"]), package["version"]
    source = package.get("source") or {}
    kind = source.get("type")
    if kind in ("git", "directory", "file"):
        return ("%s %s comes from a %s source (%s), which has no hash to install it lock-exact. Publish it to an "
                "index (or pin a release URL) and run `poetry lock`, or use the poetry install strategy."
                % (name, version, kind, source.get("url")))
    hashes = sorted({m.group(1) for f in package.get("files", []) for m in [_SHA256.match(f.get("hash", ""))] if m})
    if not hashes:
        return ("%s %s has no sha256 hash in poetry.lock, so nothing proves the download is the file locked. "
                "%s" % (name, version, _FIX))
    entry = dict(name=name, version=version, hashes=hashes, why=why)
    if kind == "url":
        entry["url"] = source["url"]
    elif kind == "legacy":
        entry["index"] = source["url"]
    elif kind not in (None, "pypi"):
        return "%s %s comes from a source of type %r this reader does not know. %s" % (name, version, kind, _FIX)
    return entry


def render(entries):
    """Requirements text for `--require-hashes --no-deps`: each entry pinned, every allowed hash listed."""
    lines = ["--extra-index-url %s" % url for url in dict.fromkeys(e["index"] for e in entries if e.get("index"))]
    for entry in entries:
        head = "%s @ %s" % (entry["name"], entry["url"]) if entry.get("url") else "%s==%s" % (entry["name"], entry["version"])
        pins = ["--hash=sha256:" + digest for digest in entry["hashes"]]
        lines.append(" \\\n    ".join([head] + pins))
    return "\n".join(lines) + "\n" if lines else ""
