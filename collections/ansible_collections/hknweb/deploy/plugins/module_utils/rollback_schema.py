# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The rollback's schema step, inside its one module call, after the target is chosen and before
the switch: read the releases' schema records, refuse a rollback across migrations unless the user
said how (schema.rollback_decision), and for `unapply` run `migrate <app> <target's leaf>` with the
newer release's code (the only code that knows how to reverse them) after a fresh backup. Reading
the records costs no round trip; a rollback with no schema difference runs no Django at all."""

from __future__ import annotations

import json
import os

from ansible_collections.hknweb.deploy.plugins.module_utils import backups, layout
from ansible_collections.hknweb.deploy.plugins.module_utils import django_run
from ansible_collections.hknweb.deploy.plugins.module_utils import django_settings as ds
from ansible_collections.hknweb.deploy.plugins.module_utils import schema
from ansible_collections.hknweb.deploy.plugins.module_utils.host import tail, user_environment

RELEASES = "releases"


class Refused(Exception):
    def __init__(self, msg, result):
        super().__init__(msg)
        self.result = result


def _path(deploy_path, name):
    return os.path.join(deploy_path, RELEASES, name)


def _latest_backup(deploy_path):
    found = backups.listing(deploy_path)
    return found[-1]["name"] if found else ""


def step(deploy_path, names, live, target, choice, environment, environment_name, check_mode):
    """The schema result of this rollback ({} when no release has a record); raises Refused."""
    records = {name: schema.read(_path(deploy_path, name)) for name in names}
    _, record = schema.newest(records)  # the database as the engine last saw it
    verdict, unknown = schema.rollback_decision(record, records.get(target), choice)
    newer, record = schema.newest({k: v for k, v in records.items()
                                   if k != target and v and not schema.unknown_to(v, unknown)})
    result = dict(verdict=verdict, unknown=[list(p) for p in unknown], newer=newer or "")
    if verdict == "bad-choice":
        raise Refused("%s must be one of %s (got %r). Nothing was changed." % (
            schema.CHOICE_VAR, ", ".join(schema.CHOICES), choice), result)
    if verdict == "refuse":
        raise Refused(schema.refusal(unknown, newer or "a newer release", target, environment_name), result)
    if verdict != "unapply":
        return result
    if not newer:
        raise Refused("No release here has the code that knows %s, so none can unapply them. Nothing was "
                      "changed." % ", ".join("%s.%s" % p for p in unknown), result)
    cannot = schema.irreversible_among(unknown, record)
    if cannot:
        raise Refused(schema.irreversible_refusal(cannot, _latest_backup(deploy_path), newer, target), result)
    result["commands"] = [["migrate", app, leaf, "--noinput"]
                          for app, leaf in schema.targets(records[target], unknown).items()]
    if not check_mode:
        unapply(deploy_path, newer, result, environment)
    return result


def unapply(deploy_path, newer, result, environment):
    """Run the unapply commands in the newer release, a backup first; Refused on any failure."""
    release = _path(deploy_path, newer)
    state = {}

    def decide(report):
        state["report"] = report
        return True

    def plan(found):
        report = state["report"]
        if "error" in found:
            state["stop"] = "Django could not read the migration plan: %s" % found["error"]
            return False
        cannot = [(a, n) for a, n, ok in found.get("unapply") or [] if not ok]
        family = ds.family(report.get("engine"))
        if cannot or family not in backups.SUFFIXES:
            state["stop"] = ("%s cannot be unapplied" % ", ".join("%s.%s" % p for p in cannot) if cannot else
                             "the %s engine cannot be backed up first" % (family or "unknown"))
            return False
        state["migrations"] = found
        option_file = ds.option_file_path(report)
        name = backups.name_for(newer, backups.stamp(), family)
        return dict(applied_after=True, backup=dict(
            path=os.path.join(backups.folder(deploy_path), name), family=family,
            database=ds.database_identity(report, ds.read_option_file(option_file, report.get("option_group"))
                                          if option_file else None).get("name") or "",
            option_file=os.path.realpath(option_file) if option_file and os.path.isfile(option_file) else ""))

    python = layout.venv_program(release, "python")
    env = user_environment({str(k): str(v) for k, v in (environment or {}).items()})
    done, _ = django_run.session([python, "-c", django_run.DRIVER, json.dumps(result["commands"])], release, env,
                                 decide, plan)
    made = django_run.BACKUP.search(done.out or "")
    result["backup"] = json.loads(made.group(1)) if made else {}
    if state.get("stop") or done.rc in (django_run.REFUSED, django_run.BACKUP_FAILED_RC):
        failed = django_run.BACKUP_FAILED.search(done.out or "")
        cause = state.get("stop") or (json.loads(failed.group(1)) if failed else tail(done.err, 10))
        raise Refused("Refused before any change: %s. Nothing was changed." % cause, result)
    applied = django_run.APPLIED.search(done.out or "")
    if applied:  # the database as it is now, also after a failure (the next rollback reads it)
        schema.write(release, schema.record(state["migrations"], json.loads(applied.group(1))))
    if done.rc != 0 or not applied:
        raise Refused("Unapplying with %s's code failed (exit %d); its last lines:\n%s\nThe live release was not "
                      "switched; the database may be partly unapplied. The backup taken just before: %s." % (
                          newer, done.rc, tail(done.err + "\n" + done.out, 15),
                          result["backup"].get("path") or "none"), result)
    result["changed"] = True
