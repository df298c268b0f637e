#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: django_manage
short_description: Run Django management commands in a release, in order, in one round trip
version_added: "2.0.0"
description:
  - Runs C(python manage.py <command>) for each of O(commands) in the release with the
    release's venv and O(environment), and stops at the first one that fails, with that
    command's last output lines in the message, and a hint when the settings explain it (an
    option file given with C(~), a database host that does not resolve, a static root outside the
    deploy path).
  - Before the first command, reads what the release's settings resolve to with that environment
    (the C(default) database's engine, host, port and name, never its user or password, and
    C(STATIC_ROOT)). With O(deploy_path), it refuses, before any command runs, when another
    environment of the account (its registry under C(~/.local/state/hknweb-deploy/environments))
    uses the same static root, or the same database unless O(shared_database_ok); otherwise it
    records both in this environment's record.
  - With O(backup), dumps the database before a C(migrate) that would apply something (see O(backup)).
    When C(migrate) runs, writes the release's schema record C(.schema.json) (every migration its
    code knows, each app's leaf, what the database had applied before and after).
  - C(migrate) reports a change only when it applied a migration; C(collectstatic) when it
    copied a file. C(collectstatic) is skipped, and says so in RV(ran[].skipped), when the settings
    have no C(STATIC_ROOT) (hknweb's dev mode).
author:
  - hknweb maintainers
options:
  release:
    description: The release folder (it holds C(manage.py) and C(venv)).
    type: path
    required: true
  commands:
    description: Each a list of arguments after C(manage.py), e.g. V([migrate, --noinput]).
    type: list
    elements: list
    required: true
  environment:
    description: Environment variables for every command (the service's own).
    type: dict
    default: {}
  deploy_path:
    description: The environment's deploy path. When given, the settings are checked against the
      account's other environments and recorded for this one.
    type: path
  environment_name:
    description: This environment's name, for the registry and the messages (e.g. V(test)).
    type: str
    default: ''
  shared_database_ok:
    description: Another environment's database is shared on purpose (never a static root).
    type: bool
    default: false
  home_option_file:
    description: When the settings give the MySQL option file as C(~/<file>) (C(OPTIONS
      read_default_file)), which the client library opens relative to the release, link the
      release's C(~/<file>) to the home's C(<file>) before any command (when the home has it and
      the release has no C(~) of its own).
    type: bool
    default: false
  backup:
    description:
      - With O(deploy_path) and a C(migrate) among O(commands), asks Django's migration executor
        what C(migrate) would apply, before any command; when something would, dumps the
        C(default) database first into C(<deploy_path>/shared/backups/<release>-<UTC time>.sql.gz)
        (MySQL/MariaDB, C(mysqldump --single-transaction) with the settings' credentials over their
        option file, in a private 0600 file, never on the command line) or C(.sqlite3.gz) (sqlite's
        online backup API), mode 0600, written under a dot-name and renamed when whole. A backup
        that fails stops the stage before any command.
      - Nothing to migrate, nothing dumped.
    type: bool
    default: false
  backup_keep:
    description: After a new backup, the older ones beyond this many (newest first) are removed.
    type: int
    default: 5
extends_documentation_fragment:
  - action_common_attributes
  - hknweb.deploy.lease
attributes:
  check_mode:
    support: full
    details: Runs nothing; reports the commands a real run would run.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Migrate and collect static files
  hknweb.deploy.django_manage:
    release: /home/hkn/hknweb/prod/releases/20261126T120000Z
    commands: [[migrate, --noinput], [collectstatic, --noinput]]
    environment: {HKNWEB_MODE: prod}
    deploy_path: /home/hkn/hknweb/prod
    environment_name: prod
"""

RETURN = r"""
ran:
  description: Each command run, whether it changed anything, and C(skipped) (why) for a
    C(collectstatic) the settings give nothing to do. When the settings were read, the first
    entry is the settings (C(command=settings), C(said) what they use).
  returned: always
  type: list
  elements: dict
database:
  description: The C(default) database as the release's settings resolve it (C(engine), C(host),
    C(port), C(name); an option file's values where the settings leave them out). Empty when the
    settings were not read (check mode, a C(manage.py) that does not call Django's
    C(execute_from_command_line)).
  returned: always
  type: dict
static_root:
  description: The real path of C(STATIC_ROOT), empty when the settings have none.
  returned: always
  type: str
option_file_link:
  description: The link made by O(home_option_file), empty when none was made.
  returned: always
  type: str
backup:
  description: The backup made before C(migrate) (C(path), C(bytes), C(seconds)), empty when none.
  returned: always
  type: dict
backup_skipped:
  description: Why no backup was made (e.g. C(nothing to migrate)), empty when one was or the settings were not read.
  returned: always
  type: str
pruned_backups:
  description: Older backups removed after the new one (names).
  returned: always
  type: list
  elements: str
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import backups
from ansible_collections.hknweb.deploy.plugins.module_utils import django_settings as ds
from ansible_collections.hknweb.deploy.plugins.module_utils.django_run import (  # noqa: F401  (tests use them here)
    APPLIED, BACKUP, BACKUP_FAILED, BACKUP_FAILED_RC, DRIVER, MARKER, REFUSED, SETTINGS, SKIPPED, session, split_output)
from ansible_collections.hknweb.deploy.plugins.module_utils import environments, layout, stages
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import schema
from ansible_collections.hknweb.deploy.plugins.module_utils.host import run, tail, user_environment

NOTHING_DONE = {
    "migrate": re.compile(r"No migrations to apply"),
    "collectstatic": re.compile(r"^0 static files? copied", re.M),
}


def run_each(python, release, commands, env):
    """Fallback: one process per command. Returns (ran, failure)."""
    ran = []
    for args in commands:
        done = run([python, "manage.py"] + args, cwd=release, env=env)
        entry = dict(command=" ".join(args), seconds=round(done.seconds, 1), output=done.out)
        if not done.ok and args[0] == "collectstatic" and "STATIC_ROOT" in done.err:
            entry["output"] = "@@hknweb-deploy skipped: the settings have no STATIC_ROOT\n"
        elif not done.ok:
            return ran, (entry, done)
        ran.append(entry)
    return ran, None


class Stage:
    """The Django stage of one release: the settings check, then the commands."""

    def __init__(self, module):
        self.module, self.p = module, module.params
        self.home = os.path.expanduser("~")
        self.result = dict(database={}, static_root="", option_file_link="", backup={}, backup_skipped="",
                           pruned_backups=[])
        self.state = None
        self.refusal = None
        self.shown_root = ""

    def decide(self, report):
        """Check the settings against the other environments; only then link and record; True to go on."""
        p = self.p
        planned = ds.home_option_link(report, p["release"], self.home) if p["home_option_file"] else None
        option_file = planned[1] if planned else ds.option_file_path(report)
        identity = ds.database_identity(report, ds.read_option_file(option_file, report.get("option_group"))
                                        if option_file else None)
        root = ds.static_root(report)
        self.result.update(database=identity, static_root=root)
        self.shown_root = ds.shown_static_root(report)
        mine = dict(database=identity, static_root=root)
        if p["deploy_path"]:
            found = environments.clashes(mine, environments.others(p["deploy_path"], self.home),
                                         p["shared_database_ok"])
            if found:
                self.refusal = ds.refusal(found, p["environment_name"], p["shared_database_ok"])
                return False
        if planned:
            os.makedirs(os.path.dirname(planned[0]), 0o700, exist_ok=True)
            os.symlink(planned[1], planned[0])
            self.result["option_file_link"] = "%s -> %s" % (report["option_file"], planned[1])
        if p["deploy_path"]:
            environments.update(p["deploy_path"], dict(mine, environment=p["environment_name"],
                                                       shared_database_ok=p["shared_database_ok"]), self.home)
        self.identity, self.option_file = identity, option_file
        return True

    def order(self, state):
        """What the driver does before the commands: a backup when migrate would apply something,
        and the applied set after them (for the release's schema record)."""
        p, identity, option_file = self.p, self.identity, self.option_file
        self.state = state if isinstance(state, dict) and "error" not in state else None
        plan = (self.state.get("plan") or []) + (self.state.get("unapply") or []) if self.state else None
        family = ds.family(identity.get("engine"))
        go, why = backups.should_back_up(p["backup"] and bool(p["deploy_path"]), self.commands, plan, family,
                                         self.state.get("applied") if self.state else None)
        self.result["backup_skipped"] = "" if go else why
        order = dict(applied_after=bool(self.state))
        if go:
            name = backups.name_for(os.path.basename(os.path.normpath(p["release"])), backups.stamp(), family)
            order["backup"] = dict(path=os.path.join(backups.folder(p["deploy_path"]), name), family=family,
                                   database=identity.get("name") or "",
                                   option_file=os.path.realpath(option_file) if option_file and os.path.isfile(
                                       option_file) else "")
        return order

    def settings_entry(self):
        said = ds.describe(self.result["database"], self.shown_root, self.p["deploy_path"])
        if self.result["option_file_link"]:
            said += ", option file %s (linked: the client library does not expand ~)" % self.result["option_file_link"]
        return dict(command="settings", said=said, changed=bool(self.result["option_file_link"]))


def after_backup(stage, out):
    """The backup the driver made (from its output), then the older ones beyond the keep count pruned."""
    made = BACKUP.search(out or "")
    if not made:
        return None
    entry = json.loads(made.group(1))
    stage.result["backup"] = entry
    p = stage.p
    for name in backups.plan_prune(backups.listing(p["deploy_path"]), p["backup_keep"],
                                   protect=[os.path.basename(entry["path"])]):
        try:
            backups.remove(p["deploy_path"], name)
            stage.result["pruned_backups"].append(name)
        except OSError:
            pass  # the next deploy tries again
    return dict(command="backup", changed=True, said="backup before migrate: %s (%d bytes, %.2f s)" % (
        entry["path"], entry["bytes"], entry["seconds"]))


def record_schema(stage, out):
    """The release's schema record: what its code knows, what the database had applied before and after."""
    if not stage.state:
        return
    applied = APPLIED.search(out or "")
    try:
        schema.write(stage.p["release"], schema.record(stage.state, json.loads(applied.group(1)) if applied else None))
    except OSError:
        pass  # a record is an aid to rollback; the rollback says when a release has none


def backup_failure(stage, done):
    failed = BACKUP_FAILED.search(done.out or "")
    cause = json.loads(failed.group(1)) if failed else tail(done.err, 10)
    return ("Backup before migrate failed: %s. migrate did not run; the live release and the database are "
            "untouched. Fix the cause (space and permissions of %s, the database client and credentials), or "
            "deploy without a backup at your own risk with -e app_django_backup=false." % (
                cause, backups.folder(stage.p["deploy_path"])))


def outcome(ran):
    """Each command's changed/skipped from its output (the output itself is dropped)."""
    for entry in ran:
        quiet = NOTHING_DONE.get(entry["command"].split(" ")[0])
        output = entry.pop("output", "")
        skipped = SKIPPED.search(output)
        if skipped:
            entry["skipped"] = skipped.group(1)
        entry["changed"] = not (skipped or (quiet and quiet.search(output)))
    return ran


def main():
    module = AnsibleModule(argument_spec=dict(
        release=dict(type="path", required=True),
        commands=dict(type="list", elements="list", required=True),
        environment=dict(type="dict", default={}),
        lease=lock_.LEASE_OPTION,
        deploy_path=dict(type="path"),
        environment_name=dict(type="str", default=""),
        shared_database_ok=dict(type="bool", default=False),
        home_option_file=dict(type="bool", default=False),
        backup=dict(type="bool", default=False),
        backup_keep=dict(type="int", default=5),
    ), supports_check_mode=True)
    p = module.params
    commands = [[str(a) for a in c] for c in p["commands"]]
    stage = Stage(module)
    stage.commands = commands
    if module.check_mode:
        module.exit_json(changed=bool(commands), ran=[dict(command=" ".join(c)) for c in commands], **stage.result)
    lost = lock_.renew(p["lease"])
    if lost:
        module.fail_json(msg=lost, stage=stages.LOCK, changed=False, ran=[])
    python = layout.venv_program(p["release"], "python")
    env = user_environment({str(k): str(v) for k, v in p["environment"].items()})
    try:
        done, report = session([python, "-c", DRIVER, json.dumps(commands)], p["release"], env, stage.decide,
                               stage.order if any(c[:1] == ["migrate"] for c in commands) else None)
    except OSError as error:  # the registry or the option-file link could not be written: nothing ran
        module.fail_json(msg="Refused before migrate: could not check or record this environment's settings "
                         "(%s). Nothing was changed: no command ran." % error, changed=False, ran=[], stage=stages.DJANGO)
    if stage.refusal:
        module.fail_json(msg=stage.refusal, changed=False, ran=[], stage=stages.DJANGO, refused=True, **stage.result)
    if done.rc == BACKUP_FAILED_RC:
        module.fail_json(msg=backup_failure(stage, done), changed=False, ran=[], stage=stages.DJANGO, **stage.result)
    made = after_backup(stage, done.out)
    record_schema(stage, done.out)
    if done.rc == 97:
        ran, failure = run_each(python, p["release"], commands, env)
    else:
        outs, errs = split_output(APPLIED.sub("", done.out)), split_output(done.err)
        ran = [dict(command=" ".join(c), output=outs.get(" ".join(c), "")) for c in commands
               if " ".join(c) in outs]
        failure = None
        if not done.ok:
            failed = ran.pop() if ran else dict(command="(starting Django)", output=done.out)
            failed["error"] = errs.get(failed["command"], done.err)
            failure = (failed, done)
    head = ([stage.settings_entry()] if report else []) + ([made] if made else [])
    if failure:
        entry, result = failure
        error = entry.get("error", result.err)
        found = ds.hints(report or {}, error + "\n" + entry.get("output", ""), p["deploy_path"], stage.home,
                         entry["command"])
        module.fail_json(
            msg="manage.py %s failed (exit %d); its last lines:\n%s%s" % (
                entry["command"], result.rc, tail(error + "\n" + entry.get("output", ""), 20),
                "".join("\nHint: %s" % h for h in found)),
            changed=bool(ran), ran=head + [dict(command=e["command"]) for e in ran], stage=stages.DJANGO,
            stderr_tail=tail(error, 20), hints=found, **stage.result)
    ran = head + outcome(ran)
    module.exit_json(changed=any(e["changed"] for e in ran), ran=ran, seconds=round(done.seconds, 1), **stage.result)


if __name__ == "__main__":
    main()
