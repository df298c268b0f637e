# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Whether the shared and home entries a run is given are plain relative paths that stay inside
shared/ (and the release) or the home, and do not clash (pure; refused before anything changes)."""

from __future__ import annotations

import re

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import ReleaseError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHARED = layout.SHARED_DIR + "/"


def check_shared(dirs, files, templates, created=()):
    """Refuse shared entries that could escape shared/ or the release, or clash (pure).

    Returns the paths to link into a release, in order: folders, files, files created empty
    when missing, written files. Raises ReleaseError listing every problem, each with the
    variable to fix.
    """
    problems, entries = [], []
    for variable, values in (("deploy_shared_dirs", dirs), ("deploy_shared_files", files),
                             ("deploy_shared_files_create", created),
                             ("deploy_shared_templates", [t.get("path") if isinstance(t, dict) else t
                                                          for t in templates])):
        for value in values or []:
            why = _shared_problem(value)
            if why:
                problems.append("%s entry %r %s" % (variable, value, why))
            else:
                entries.append((variable, value))
    seen = {}
    for variable, value in entries:
        if value in seen:
            problems.append("%r is listed twice (%s and %s)" % (value, seen[value], variable))
        seen.setdefault(value, variable)
    names = sorted(seen)
    for outer in names:
        for inner in names:
            if inner != outer and inner.startswith(outer + "/"):
                problems.append("%r lies inside %r; list only one of them" % (inner, outer))
    if problems:
        raise ReleaseError("Shared entries must be relative paths inside %s and the release: " % _SHARED
                           + "; ".join(problems) + ". Nothing was changed.")
    return [value for _, value in entries]


def check_home_templates(templates):
    """Refuse deploy_home_templates paths that are not plain relative paths under the home (pure).

    Returns the paths. Raises ReleaseError listing every problem.
    """
    problems, paths = [], []
    for template in templates or []:
        value = template.get("path") if isinstance(template, dict) else template
        why = _shared_problem(value, "the deploy user's home", ".my.cnf")
        if why:
            problems.append("deploy_home_templates entry %r %s" % (value, why))
        elif value in paths:
            problems.append("deploy_home_templates lists %r twice" % value)
        else:
            paths.append(value)
    if problems:
        raise ReleaseError("; ".join(problems) + ". Nothing was changed.")
    return paths


def _shared_problem(value, inside=_SHARED, example="media"):
    if not isinstance(value, str) or value == "":
        return "is empty (give a path relative to %s, e.g. %s)" % (inside, example)
    if _CONTROL.search(value):
        return "contains a line break or control character"
    if value.startswith("/") or value.startswith("~"):
        return "is absolute (give it relative to %s, e.g. %s)" % (inside, example)
    if value.endswith("/"):
        return "ends with / (drop the slash)"
    parts = value.split("/")
    if "" in parts:
        return "contains an empty path part (//)"
    if "." in parts or ".." in parts:
        return "contains . or .. (it must stay inside %s)" % ("%s and the release" % _SHARED if inside == _SHARED else inside)
    if parts[0] in layout.RELEASE_OWNED:
        return "would replace a part of the release the deploy owns"
    return None
