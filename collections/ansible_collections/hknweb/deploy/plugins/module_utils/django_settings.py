# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""What a release's Django settings resolve to, as the Django stage sees them before any command:
the database identity (engine, host, port, name; never the user or password) and STATIC_ROOT, the
refusal when another environment of the account uses the same, and the hints a failed command
gets when the settings point somewhere the engine can see is wrong (an option file given with '~',
a database host this machine cannot resolve, a static root outside the deploy path).

The settings are read inside the app's own Python by django_manage's driver, which prints one
`report` (settings' text only, see REPORT_FIELDS); everything here is pure but for reading the
option file and resolving paths, so it is unit tested directly.
"""

from __future__ import annotations

import os
import re

from ansible_collections.hknweb.deploy.plugins.module_utils import environments

# The driver's report: strings from settings.DATABASES["default"] and settings.STATIC_ROOT.
REPORT_FIELDS = ("engine", "name", "host", "port", "option_file", "option_group", "static_root", "cwd")
DEFAULT_PORTS = {"mysql": "3306", "postgresql": "5432"}
# Groups the MariaDB/MySQL client libraries read from an option file, before the one settings name.
CLIENT_GROUPS = ("client", "client-server", "client-mariadb")
OPTION_KEYS = {"host": "host", "port": "port", "database": "name"}


family = environments.engine_family


def option_file_path(report):
    """Where the client library opens the option file (OPTIONS read_default_file): as written,
    relative to the working folder. bullseye's libmariadb3 does not expand '~' (tried there:
    '~/.my.cnf' is a folder named '~' in the release, and a missing file is skipped in silence)."""
    given = report.get("option_file") or ""
    return os.path.join(report.get("cwd") or ".", given) if given else ""


def parse_option_file(text, group=""):
    """{host, port, name} from an option file's client groups (later groups win); never the user
    or the password, which are not read at all."""
    wanted = set(CLIENT_GROUPS) | ({group} if group else set())
    found, current = {}, None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        section = re.match(r"^\[([^\]]+)\]$", line)
        if section:
            current = section.group(1).strip()
            continue
        key, sep, value = line.partition("=")
        key = key.strip().replace("_", "-")
        if current in wanted and sep and key in OPTION_KEYS:
            found[OPTION_KEYS[key]] = value.strip().strip("'\"")
    return found


def read_option_file(path, group=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return parse_option_file(handle.read(65536), group)
    except OSError:
        return {}


def database_identity(report, from_option_file=None):
    """{engine, host, port, name}: the settings' own values, else the option file's (settings
    win, as they do when Django passes them to the client library). sqlite: name is the file's
    real path (a link into shared/ names the shared file)."""
    engine = report.get("engine") or ""
    kind = family(engine)
    if kind == "sqlite":
        name = report.get("name") or ""
        if name and name != ":memory:":
            name = os.path.realpath(os.path.join(report.get("cwd") or ".", name))
        return dict(engine=engine, host="", port="", name=name)
    extra = from_option_file or {}
    host = report.get("host") or extra.get("host") or "localhost"
    port = report.get("port") or extra.get("port") or DEFAULT_PORTS.get(kind, "")
    return dict(engine=engine, host=host, port=str(port), name=report.get("name") or extra.get("name") or "")


def static_root(report):
    """STATIC_ROOT's real path ('' when the settings have none), relative paths from the release."""
    value = report.get("static_root") or ""
    return os.path.realpath(os.path.join(report.get("cwd") or ".", value)) if value else ""


def shown_static_root(report):
    """STATIC_ROOT as the settings write it, made absolute (the summary shows this one)."""
    value = report.get("static_root") or ""
    return os.path.normpath(os.path.join(report.get("cwd") or ".", value)) if value else ""


def inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def describe(identity, root, deploy_path):
    """The summary's words for what the release's settings use."""
    db = identity or {}
    kind = family(db.get("engine"))
    if kind == "sqlite":
        words = ["database sqlite %s" % (db.get("name") or "?")]
    else:
        words = ["database %s %s on %s:%s" % (kind or "?", db.get("name") or "?", db.get("host") or "?",
                                              db.get("port") or "?")]
    if not root:
        words.append("no STATIC_ROOT")
    elif deploy_path and not inside(root, deploy_path):
        words.append("STATIC_ROOT %s (outside the deploy path: every release collects into it, before "
                     "its switch; a rollback does not put the files back)" % root)
    else:
        words.append("STATIC_ROOT %s" % root)
    return ", ".join(words)


def refusal(found, environment, shared_database_ok):
    """The message that stops the stage before any command, from environments.clashes()."""
    fields = sorted({field for field, _, _ in found})
    fixes = []
    if "static_root" in fields:
        fixes.append("give this environment its own STATIC_ROOT (for hknweb's test: HKNWEB_MODE=dev, which "
                     "has none)")
    if "database" in fields:
        fixes.append("its own database (HKNWEB_MODE=dev: sqlite in shared/), or set app_django_shared_database: "
                     "true if sharing it is deliberate")
    return ("Refused before migrate: %s shares what another environment of this account uses: %s. A static "
            "root is never shared%s; %s. Nothing was changed: no command ran, the live release and its data "
            "are untouched." % (
                environment or "this environment", "; ".join(text for _, _, text in found),
                "" if shared_database_ok else ", a database only with app_django_shared_database: true",
                "; ".join(fixes) or "fix the settings"))


def home_option_link(report, release, home):
    """(link, target) making the release's '~/<file>' the home's <file>, or None: only for an
    option file given as '~/...' that the release does not have and the home does."""
    given = report.get("option_file") or ""
    if not given.startswith("~/") or not home:
        return None
    link = os.path.join(release, given)
    target = os.path.join(home, given[2:])
    if os.path.lexists(os.path.join(release, "~")) or not os.path.isfile(target):
        return None
    return link, target


def hints(report, error, deploy_path, home, command):
    """Lines that name the settings' likely cause of a failed command."""
    found = []
    given = report.get("option_file") or ""
    if given.startswith("~") and not os.path.exists(option_file_path(report)):
        found.append(
            "the settings give the MySQL option file as %r (DATABASES OPTIONS read_default_file); the MariaDB "
            "client library opens it as written, relative to the release (%s is missing), and connects "
            "without it (no password). Expand it in the settings (os.path.expanduser), or set "
            "app_django_home_option_file: true to link it to the home's file%s." % (
                given, option_file_path(report),
                "" if home and os.path.isfile(os.path.join(home, given[2:])) else
                " (which is missing too: write it with deploy_home_templates)"))
    host = report.get("host") or ""
    if host and re.search(r"Unknown (MySQL|MariaDB) server host|could not translate host name|Name or service "
                          r"not known", error or ""):
        found.append("the settings name the database host %r (DATABASES HOST), which this machine cannot "
                      "resolve" % host)
    root = static_root(report)
    if command.startswith("collectstatic") and root and deploy_path and not inside(root, deploy_path):
        found.append("STATIC_ROOT %s lies outside the deploy path: it must exist or be creatable by the "
                     "deploy user, and every environment of the account that collects into it overwrites "
                     "the others' files" % root)
    return found
