# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""One Python process of the app that runs manage.py commands in a release (the Django stage, and a
rollback's unapply): the driver, which reports what the settings use and Django's migration plan
before any command and waits for the caller's word, and the session that talks to it."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time

from ansible_collections.hknweb.deploy.plugins.module_utils.host import Result

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
    return found

def targets_of(graph, args):
    # What `migrate [app [name|zero]]` aims at, as Django's migrate command reads its arguments.
    names = [a for a in args[1:] if not a.startswith("-")]
    if not names:
        return list(graph.leaf_nodes())
    if len(names) == 1:
        return [k for k in graph.leaf_nodes() if k[0] == names[0]]
    return [(names[0], None if names[1] == "zero" else names[1])]

def reversible(migration):
    return all(getattr(op, "reversible", True) for op in migration.operations)

def migrations():
    # Django's own view: every migration the code knows (and which cannot be reversed), each app's
    # leaf, what the database has applied, and what the migrate commands would apply or unapply
    # (the executor migrate itself uses).
    try:
        from django.db import connections, DEFAULT_DB_ALIAS
        from django.db.migrations.executor import MigrationExecutor
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        graph = executor.loader.graph
        plan = []
        for args in commands:
            if args[:1] == ["migrate"]:
                plan += executor.migration_plan(targets_of(graph, args))
        return dict(known=sorted(list(k) for k in graph.nodes), leaves=sorted(list(k) for k in graph.leaf_nodes()),
                    applied=sorted(list(k) for k in executor.loader.applied_migrations),
                    irreversible=sorted(list(k) for k, m in graph.nodes.items() if m is not None and not reversible(m)),
                    plan=[[m.app_label, m.name] for m, backwards in plan if not backwards],
                    unapply=[[m.app_label, m.name, reversible(m)] for m, backwards in plan if backwards])
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

def restore(order):
    # Into the database the live release's settings name: sqlite through the backup API (the copy
    # replaces the live file's content in one step), MySQL/MariaDB through the mysql client.
    import gzip, shutil, subprocess, tempfile, time
    from django.conf import settings
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix=".restore-", dir=os.path.dirname(order["path"]))
    try:
        if order["family"] == "sqlite":
            import sqlite3
            copy = os.path.join(work, "copy.sqlite3")
            with gzip.open(order["path"], "rb") as source, open(copy, "wb") as out:
                shutil.copyfileobj(source, out)
            source, target = sqlite3.connect(copy), sqlite3.connect(order["database"])
            try:
                source.backup(target)
            finally:
                target.close(); source.close()
        else:
            argv = ["mysql", "--defaults-extra-file=" + mysql_option_file(settings.DATABASES["default"], order, work),
                    order["database"]]
            with open(os.path.join(work, "stderr"), "w+") as err:
                proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=err, stderr=err)
                with gzip.open(order["path"], "rb") as source:
                    shutil.copyfileobj(source, proc.stdin)
                proc.stdin.close()
                if proc.wait() != 0:
                    err.seek(0)
                    raise RuntimeError("mysql exited %d: %s" % (proc.returncode, err.read()[-800:].strip()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dict(path=order["path"], seconds=round(time.monotonic() - started, 2))

def drive(argv=None):
    called.append(True)
    import django
    django.setup()
    sys.stdout.write("\n@@hknweb-deploy settings %s\n" % json.dumps(report())); sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    if answer.split(" ", 1)[0] != "go":
        sys.exit(96)
    order = {}
    if answer == "go plan":
        # Asked after the caller's checks (and its option-file link): the plan needs the database.
        sys.stdout.write("\n@@hknweb-deploy migrations %s\n" % json.dumps(migrations())); sys.stdout.flush()
        answer = sys.stdin.readline().strip()
        if answer.split(" ", 1)[0] != "go":
            sys.exit(96)
        order = json.loads(answer[2:].strip() or "{}")
    if order.get("restore"):
        try:
            done = restore(order["restore"])
        except Exception as error:
            sys.stdout.write("\n@@hknweb-deploy restore-failed %s\n" % json.dumps(str(error) or type(error).__name__))
            sys.stdout.flush()
            sys.exit(95)
        sys.stdout.write("\n@@hknweb-deploy restored %s\n" % json.dumps(done)); sys.stdout.flush()
    if order.get("backup"):
        try:
            made = backup(order["backup"])
        except Exception as error:
            sys.stdout.write("\n@@hknweb-deploy backup-failed %s\n" % json.dumps(str(error) or type(error).__name__))
            sys.stdout.flush()
            sys.exit(95)
        sys.stdout.write("\n@@hknweb-deploy backup %s\n" % json.dumps(made)); sys.stdout.flush()
    try:
        run_commands()
    finally:
        # What the database has applied now, also after a failed migrate (for the release's record).
        if order.get("applied_after"):
            try:
                sys.stdout.write("\n@@hknweb-deploy applied %s\n" % json.dumps(applied_now())); sys.stdout.flush()
            except Exception:
                pass

def run_commands():
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
RESTORED = re.compile(r"^@@hknweb-deploy restored (\{.*\})$", re.M)
RESTORE_FAILED = re.compile(r"^@@hknweb-deploy restore-failed (.*)$", re.M)
APPLIED = re.compile(r"^@@hknweb-deploy applied (\[.*\])$", re.M)
BACKUP_FAILED_RC = 95
MARKER = re.compile(r"^@@hknweb-deploy command (.*)$", re.M)
SETTINGS = re.compile(r"^@@hknweb-deploy settings (\{.*\})$")
MIGRATIONS = re.compile(r"^@@hknweb-deploy migrations (\{.*\})$")
REFUSED = 96


def split_output(text):
    """{command text: its output} from the driver's framed output."""
    parts, found = MARKER.split(text), {}
    for i in range(1, len(parts) - 1, 2):
        found[" ".join(json.loads(parts[i]))] = parts[i + 1]
    return found



def _ask(proc, head, marker):
    """The driver's next question (JSON after `marker`), the lines before it kept in `head`."""
    for line in iter(proc.stdout.readline, ""):
        found = marker.match(line.rstrip("\n"))
        if found:
            return json.loads(found.group(1))
        head.append(line)
    return None


def _answer(proc, callback, question, plan):
    try:
        verdict = callback(question)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    answer = "stop"
    if verdict or isinstance(verdict, dict):
        answer = "go %s" % json.dumps(verdict) if isinstance(verdict, dict) else ("go plan" if plan else "go")
    try:
        proc.stdin.write(answer + "\n")
        proc.stdin.flush()
    except OSError:  # the driver is gone already: its exit code tells
        pass
    return verdict


def session(argv, cwd, env, decide, plan=None):
    """Run the driver; when it reports the settings, answer "go" or "stop" from decide(report); with
    `plan`, the driver then reports Django's migration state (report["migrations"]) and plan(state)
    answers: False stops, a dict is the driver's order (backup, applied_after). Returns (Result,
    report or None). stderr goes to a file, so a chatty app cannot block it."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+", errors="replace") as err:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err, universal_newlines=True, errors="replace")
        except OSError as error:
            return Result(argv, 127, "", str(error), time.monotonic() - started), None
        head = []
        report = _ask(proc, head, SETTINGS)
        if report is not None and _answer(proc, decide, report, plan is not None) is True and plan is not None:
            state = _ask(proc, head, MIGRATIONS)
            if state is not None:
                report["migrations"] = state
                _answer(proc, plan, state, False)
        out, _ = proc.communicate()
        err.seek(0)
        return Result(argv, proc.returncode, "".join(head) + (out or ""), err.read(), time.monotonic() - started), report
