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
"""

import json
import os
import re
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import django_settings as ds
from ansible_collections.hknweb.deploy.plugins.module_utils import environments, layout
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.host import Result, run, tail, user_environment
from ansible_collections.hknweb.deploy.plugins.module_utils import stages

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
    return dict(engine=text(db.get("ENGINE")), name=text(db.get("NAME")), host=text(db.get("HOST")),
                port=text(db.get("PORT")), option_file=text(options.get("read_default_file")),
                option_group=text(options.get("read_default_group")),
                static_root=text(getattr(settings, "STATIC_ROOT", None)), cwd=os.getcwd())

def drive(argv=None):
    called.append(True)
    import django
    django.setup()
    sys.stdout.write("\n@@hknweb-deploy settings %s\n" % json.dumps(report())); sys.stdout.flush()
    if sys.stdin.readline().strip() != "go":
        sys.exit(96)
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
            try:
                proc.stdin.write("go\n" if verdict else "stop\n")
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
        self.result = dict(database={}, static_root="", option_file_link="")
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
        return True

    def settings_entry(self):
        said = ds.describe(self.result["database"], self.shown_root, self.p["deploy_path"])
        if self.result["option_file_link"]:
            said += ", option file %s (linked: the client library does not expand ~)" % self.result["option_file_link"]
        return dict(command="settings", said=said, changed=bool(self.result["option_file_link"]))


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
    ), supports_check_mode=True)
    p = module.params
    commands = [[str(a) for a in c] for c in p["commands"]]
    stage = Stage(module)
    if module.check_mode:
        module.exit_json(changed=bool(commands), ran=[dict(command=" ".join(c)) for c in commands], **stage.result)
    lost = lock_.renew(p["lease"])
    if lost:
        module.fail_json(msg=lost, stage=stages.LOCK, changed=False, ran=[])
    python = layout.venv_program(p["release"], "python")
    env = user_environment({str(k): str(v) for k, v in p["environment"].items()})
    try:
        done, report = session([python, "-c", DRIVER, json.dumps(commands)], p["release"], env, stage.decide)
    except OSError as error:  # the registry or the option-file link could not be written: nothing ran
        module.fail_json(msg="Refused before migrate: could not check or record this environment's settings "
                         "(%s). Nothing was changed: no command ran." % error, changed=False, ran=[], stage=stages.DJANGO)
    if stage.refusal:
        module.fail_json(msg=stage.refusal, changed=False, ran=[], stage=stages.DJANGO, refused=True, **stage.result)
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
    head = [stage.settings_entry()] if report else []
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
