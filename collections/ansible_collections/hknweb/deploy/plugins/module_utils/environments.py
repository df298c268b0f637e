# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The environments of one account, as the host knows them (not as one run's inventory says).

Every deploy path on the account keeps one small JSON record in the account's registry folder
(`~/.local/state/hknweb-deploy/environments/`): its deploy path, unit, socket unit and bind, and
what its Django settings resolve to (database identity, static root). A run compares its own with
the others' records *on the host*, so two environments that are never in the same play still cannot
share a socket, a static root or (unless declared) a database.

Pure parts (`clashes`, `record_name`) apart from the file I/O (`read_all`, `update`); each writer
merges only its own fields, so the service stage and the Django stage can both record.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import write_atomic

REGISTRY_DIR = os.path.join(".local", "state", "hknweb-deploy", "environments")
RECORD_LIMIT = 65536

# Fields of a record, and who writes them:
#   deploy_path, environment, updated         every writer
#   unit, socket_unit, bind                   the service side (begin / activate)
#   database {engine, host, port, name}       the Django stage
#   static_root                               the Django stage
#   shared_database_ok                        the Django stage (the knob that allows a shared database)


def registry(home=None):
    return os.path.join(home or os.path.expanduser("~"), REGISTRY_DIR)


def record_name(deploy_path):
    """The file name of a deploy path's record: stable, one per real path."""
    real = os.path.realpath(os.path.expanduser(deploy_path))
    return hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16] + ".json"


def _read(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(RECORD_LIMIT + 1)
    if len(data) > RECORD_LIMIT:
        return None
    try:
        value = json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("deploy_path"), str) else None


def read_all(home=None):
    """Every record whose deploy path still exists (a removed environment clashes with nothing)."""
    folder = registry(home)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(".json"):
            continue
        record = _read(os.path.join(folder, name))
        if record and os.path.isdir(record["deploy_path"]):
            found.append(record)
    return found


def others(deploy_path, home=None):
    """The records of the account's other environments."""
    mine = os.path.realpath(os.path.expanduser(deploy_path))
    return [r for r in read_all(home) if os.path.realpath(r["deploy_path"]) != mine]


def own(deploy_path, home=None):
    return _read(os.path.join(registry(home), record_name(deploy_path))) or {}


def update(deploy_path, fields, home=None):
    """Merge `fields` into this deploy path's record (written aside, then renamed: whole or absent).
    Returns True when the record changed."""
    folder = registry(home)
    os.makedirs(folder, 0o700, exist_ok=True)
    path = os.path.join(folder, record_name(deploy_path))
    old = _read(path) or {}
    new = dict(old)
    new.update(fields)
    new["deploy_path"] = os.path.realpath(os.path.expanduser(deploy_path))
    if {k: v for k, v in new.items() if k != "updated"} == {k: v for k, v in old.items() if k != "updated"}:
        return False
    new["updated"] = int(time.time())
    write_atomic(path, json.dumps(new, sort_keys=True) + "\n", 0o600)
    return True


# --- pure decisions ------------------------------------------------------------------------


def same_database(a, b):
    """Two database identities ({engine, host, port, name}) name the same data. sqlite: the same
    file; a server: same engine family, host, port and database name."""
    if not a or not b:
        return False
    engine_a, engine_b = engine_family(a.get("engine")), engine_family(b.get("engine"))
    if engine_a != engine_b:
        return False
    if engine_a == "sqlite":
        return bool(a.get("name")) and os.path.normpath(str(a.get("name"))) == os.path.normpath(str(b.get("name")))
    return (_host(a.get("host")), str(a.get("port") or ""), a.get("name")) == \
        (_host(b.get("host")), str(b.get("port") or ""), b.get("name"))


def engine_family(engine):
    """'mysql' from 'django.db.backends.mysql' (or a third-party backend naming it): one word a database
    identity is compared by."""
    engine = str(engine or "")
    for family in ("sqlite", "mysql", "postgresql", "oracle"):
        if family in engine:
            return family
    return engine


def _host(host):
    host = str(host or "").lower()
    return "localhost" if host in ("", "127.0.0.1", "::1", "localhost") else host


def _same_path(a, b):
    return bool(a) and bool(b) and os.path.normpath(a) == os.path.normpath(b)


def clashes(mine, records, shared_database_ok=False):
    """What this environment (`mine`, a partial record) shares with the account's others: a list of
    (field, other record, text), empty when nothing. Only the fields `mine` carries are compared, so
    the service side and the Django side each check what they know, when they know it."""
    found = []
    for other in records:
        where = "%s (%s)" % (other.get("environment") or "another environment", other.get("deploy_path"))
        if mine.get("bind") and mine.get("bind") == other.get("bind"):
            found.append(("bind", other, "the bind %s is %s's" % (mine["bind"], where)))
        for field in ("unit", "socket_unit"):
            if mine.get(field) and mine.get(field) == other.get(field):
                found.append((field, other, "the unit %s is %s's" % (mine[field], where)))
        if _same_path(mine.get("static_root"), other.get("static_root")):
            found.append(("static_root", other, "STATIC_ROOT %s is %s's (collectstatic would overwrite its "
                                                "files)" % (mine["static_root"], where)))
        if same_database(mine.get("database"), other.get("database")) and not shared_database_ok:
            db = mine["database"]
            found.append(("database", other, "the database %s %s%s is %s's" % (
                engine_family(db.get("engine")), db.get("name"), (" on " + db["host"]) if db.get("host") else "", where)))
    return found
