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
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import backups
from ansible_collections.hknweb.deploy.plugins.module_utils import django_settings as ds
from ansible_collections.hknweb.deploy.plugins.module_utils import environments
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import schema
from ansible_collections.hknweb.deploy.plugins.module_utils.host import Result, run, tail, user_environment

NOTHING_DONE = {
    "migrate": re.compile(r"No migrations to apply"),
    "collectstatic": re.compile(r"^0 static files? copied", re.M),
}

# Runs every command in ONE Python process (Django starts once, not once per command). manage.py
# runs as a script, so it still decides the settings module (with or without a main()); the
# driver takes the place of Django's execute_from_command_line, which every manage.py calls. It
# first prints what the settings resolve to and waits for "go" on stdin (the module checks the
# account's other environments meanwhile); then it runs each command, framed by markers so a
# failure names its command and its own lines.
DRIVER = r"""
import json, os, sys
commands = json.loads(sys.argv[1])
import django.core.management as management
real = management.execute_from_command_line
called = []

def report():
    from django.conf import settings
    db = dict(settings.DATABASES.get("default") or {})
    options = db.get("OPTIONS") or {}
    text = lambda value: "" if value is None else str(value)
    found = dict(engine=text(db.get("ENGINE")), name=text(db.get("NAME")), host=text(db.get("HOST")),
                 port=text(db.get("PORT")), option_file=text(options.get("read_default_file")),
                 option_group=text(options.get("read_default_group")),
                 static_root=text(getattr(settings, "STATIC_ROOT", None)), cwd=os.getcwd())
    if any(c[:1] == ["migrate"] for c in commands):
        found["migrations"] = migrations()
    return found

def migrations():
    # Django's own view: every migration the code knows, each app's leaf, what the database has
    # applied and what migrate would apply (the executor migrate itself uses).
    try:
        from django.db import connections, DEFAULT_DB_ALIAS
        from django.db.migrations.executor import MigrationExecutor
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        graph = executor.loader.graph
        plan = executor.migration_plan(graph.leaf_nodes())
        return dict(known=sorted(list(k) for k in graph.nodes), leaves=sorted(list(k) for k in graph.leaf_nodes()),
                    applied=sorted(list(k) for k in executor.loader.applied_migrations),
                    plan=[[m.app_label, m.name] for m, backwards in plan if not backwards])
    except Exception as error:
        return dict(error="%s: %s" % (type(error).__name__, str(error).splitlines()[0] if str(error) else ""))

def applied_now():
    from django.db import connections, DEFAULT_DB_ALIAS
    from django.db.migrations.recorder import MigrationRecorder
    return sorted(list(k) for k in MigrationRecorder(connections[DEFAULT_DB_ALIAS]).applied_migrations())

def mysql_option_file(db, order, folder):
    # The settings' USER/PASSWORD/HOST/PORT over the app's own option file, as Django passes them
    # to the client: written 0600 in a private folder, so no credential is ever on argv.
    quote = lambda v: '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')
    lines = ["!include %s" % order["option_file"]] if order.get("option_file") else []
    lines.append("[client]")
    host = str(db.get("HOST") or "")
    for key, value in (("user", db.get("USER")), ("password", db.get("PASSWORD")),
                       ("socket" if host.startswith("/") else "host", host), ("port", db.get("PORT"))):
        if value not in (None, ""):
            lines.append("%s=%s" % (key, quote(value)))
    path = os.path.join(folder, "client.cnf")
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path

def dump(db, order, work, out):
    import shutil, subprocess
    if order["family"] == "sqlite":
        import sqlite3
        copy = os.path.join(work, "copy.sqlite3")
        source, target = sqlite3.connect(order["database"]), sqlite3.connect(copy)
        try:
            source.backup(target)  # the online backup API: a consistent copy while others write
        finally:
            target.close(); source.close()
        with open(copy, "rb") as handle:
            shutil.copyfileobj(handle, out)
        return
    argv = ["mysqldump", "--defaults-extra-file=" + mysql_option_file(db, order, work), "--single-transaction",
            "--quick", "--no-tablespaces", order["database"]]
    with open(os.path.join(work, "stderr"), "w+") as err:
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        except OSError as error:
            raise RuntimeError("mysqldump could not start (%s): install the MariaDB/MySQL client, or turn "
                               "backups off with app_django_backup: false" % error)
        shutil.copyfileobj(proc.stdout, out)
        if proc.wait() != 0:
            err.seek(0)
            raise RuntimeError("mysqldump exited %d: %s" % (proc.returncode, err.read()[-800:].strip()))

def backup(order):
    # Complete or absent: written under a dot-name beside the final one, fsynced, then renamed.
    import gzip, shutil, tempfile, time
    from django.conf import settings
    started = time.monotonic()
    final = order["path"]
    folder = os.path.dirname(final)
    os.makedirs(folder, 0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".backup-", dir=folder)
    partial = os.path.join(folder, "." + os.path.basename(final) + ".partial")
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as out:
                dump(settings.DATABASES["default"], order, work, out)
            raw.flush(); os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        os.rename(partial, final)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(path=final, bytes=os.path.getsize(final), seconds=round(time.monotonic() - started, 2))

def drive(argv=None):
    called.append(True)
    import django
    django.setup()
    sys.stdout.write("\n@@hknweb-deploy settings %s\n" % json.dumps(report())); sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    if answer.split(" ", 1)[0] != "go":
        sys.exit(96)
    order = json.loads(answer[2:].strip() or "{}")
    if order.get("backup"):
        try:
            made = backup(order["backup"])
        except Exception as error:
            sys.stdout.write("\n@@hknweb-deploy backup-failed %s\n" % json.dumps(str(error) or type(error).__name__))
            sys.stdout.flush()
            sys.exit(95)
        sys.stdout.write("\n@@hknweb-deploy backup %s\n" % json.dumps(made)); sys.stdout.flush()
    for args in commands:
        for stream in (sys.stdout, sys.stderr):
            stream.write("\n@@hknweb-deploy command %s\n" % json.dumps(args)); stream.flush()
        sys.argv = ["manage.py"] + args
        try:
            real(sys.argv)
        except SystemExit as exit:
            if exit.code not in (None, 0):
                sys.stdout.flush(); sys.stderr.flush()
                sys.exit(exit.code if isinstance(exit.code, int) else 1)
        except Exception as error:
            # Settings without STATIC_ROOT (hknweb's dev mode) have nothing to collect: say so.
            if args[0] != "collectstatic" or "STATIC_ROOT" not in str(error):
                raise
            sys.stdout.write("@@hknweb-deploy skipped: the settings have no STATIC_ROOT\n")
    if order.get("applied_after"):
        sys.stdout.write("\n@@hknweb-deploy applied %s\n" % json.dumps(applied_now())); sys.stdout.flush()

management.execute_from_command_line = drive
sys.argv = ["manage.py"]
import runpy
runpy.run_path("manage.py", run_name="__main__")
if not called:
    sys.exit(97)  # manage.py did not call execute_from_command_line: the caller runs each command alone
"""
SKIPPED = re.compile(r"^@@hknweb-deploy skipped: (.*)$", re.M)
BACKUP = re.compile(r"^@@hknweb-deploy backup (\{.*\})$", re.M)
BACKUP_FAILED = re.compile(r"^@@hknweb-deploy backup-failed (.*)$", re.M)
APPLIED = re.compile(r"^@@hknweb-deploy applied (\[.*\])$", re.M)
BACKUP_FAILED_RC = 95
MARKER = re.compile(r"^@@hknweb-deploy command (.*)$", re.M)
SETTINGS = re.compile(r"^@@hknweb-deploy settings (\{.*\})$")
REFUSED = 96


def split_output(text):
    """{command text: its output} from the driver's framed output."""
    parts, found = MARKER.split(text), {}
    for i in range(1, len(parts) - 1, 2):
        found[" ".join(json.loads(parts[i]))] = parts[i + 1]
    return found


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


def session(argv, cwd, env, decide):
    """Run the driver; when it reports the settings, answer "go" or "stop" from decide(report).
    Returns (Result, report or None). stderr goes to a file, so a chatty app cannot block it."""
    started = time.monotonic()
    report = None
    with tempfile.TemporaryFile("w+", errors="replace") as err:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err, universal_newlines=True, errors="replace")
        except OSError as error:
            return Result(argv, 127, "", str(error), time.monotonic() - started), None
        head = []
        for line in iter(proc.stdout.readline, ""):
            found = SETTINGS.match(line.rstrip("\n"))
            if found:
                report = json.loads(found.group(1))
                break
            head.append(line)
        if report is not None:
            try:
                verdict = decide(report)
            except BaseException:
                proc.kill()
                proc.communicate()
                raise
            answer = "stop"
            if verdict:
                answer = "go %s" % json.dumps(verdict) if isinstance(verdict, dict) else "go"
            try:
                proc.stdin.write(answer + "\n")
                proc.stdin.flush()
            except OSError:  # the driver is gone already: its exit code tells
                pass
        out, _ = proc.communicate()
        err.seek(0)
        return Result(argv, proc.returncode, "".join(head) + (out or ""), err.read(), time.monotonic() - started), report


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
        return self.order(report, identity, option_file)

    def order(self, report, identity, option_file):
        """What the driver does before the commands: a backup when migrate would apply something,
        and the applied set after them (for the release's schema record)."""
        p = self.p
        state = report.get("migrations")
        self.state = state if isinstance(state, dict) and "error" not in state else None
        plan = self.state.get("plan") if self.state else None
        family = ds.family(identity.get("engine"))
        go, why = backups.should_back_up(p["backup"] and bool(p["deploy_path"]), self.commands, plan, family)
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
    return dict(command="backup", changed=True, said="backup before migrate: %s (%d bytes, %.1f s)" % (
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
        module.fail_json(msg=lost, stage="lock", changed=False, ran=[])
    python = os.path.join(p["release"], "venv", "bin", "python")
    env = user_environment({str(k): str(v) for k, v in p["environment"].items()})
    try:
        done, report = session([python, "-c", DRIVER, json.dumps(commands)], p["release"], env, stage.decide)
    except OSError as error:  # the registry or the option-file link could not be written: nothing ran
        module.fail_json(msg="Refused before migrate: could not check or record this environment's settings "
                         "(%s). Nothing was changed: no command ran." % error, changed=False, ran=[], stage="django")
    if stage.refusal:
        module.fail_json(msg=stage.refusal, changed=False, ran=[], stage="django", refused=True, **stage.result)
    if done.rc == BACKUP_FAILED_RC:
        module.fail_json(msg=backup_failure(stage, done), changed=False, ran=[], stage="django", **stage.result)
    made = after_backup(stage, done.out)
    record_schema(stage, done.out)
    if done.rc == 97:
        ran, failure = run_each(python, p["release"], commands, env)
    else:
        outs, errs = split_output(done.out), split_output(done.err)
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
            changed=bool(ran), ran=head + [dict(command=e["command"]) for e in ran], stage="django",
            stderr_tail=tail(error, 20), hints=found, **stage.result)
    ran = head + outcome(ran)
    module.exit_json(changed=any(e["changed"] for e in ran), ran=ran, seconds=round(done.seconds, 1), **stage.result)


if __name__ == "__main__":
    main()
