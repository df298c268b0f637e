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
    command's last output lines in the message.
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
"""

RETURN = r"""
ran:
  description: Each command run, whether it changed anything, and C(skipped) (why) for a
    C(collectstatic) the settings give nothing to do.
  returned: always
  type: list
  elements: dict
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.host import run, tail, user_environment

NOTHING_DONE = {
    "migrate": re.compile(r"No migrations to apply"),
    "collectstatic": re.compile(r"^0 static files? copied", re.M),
}

# Runs every command in ONE Python process (Django starts once, not once per command) through
# manage.py's own main(), so the app's manage.py still decides the settings module. Each
# command's output is framed by markers so a failure names its command and its own lines.
DRIVER = r"""
import json, runpy, sys, time
commands = json.loads(sys.argv[1])
namespace = runpy.run_path("manage.py", run_name="manage")
main = namespace.get("main")
if main is None:
    sys.exit(97)  # an old-style manage.py without main(): the caller runs each command alone
for args in commands:
    for stream in (sys.stdout, sys.stderr):
        stream.write("\n@@hknweb-deploy command %s\n" % json.dumps(args)); stream.flush()
    sys.argv = ["manage.py"] + args
    try:
        main()
    except SystemExit as exit:
        if exit.code not in (None, 0):
            sys.stdout.flush(); sys.stderr.flush()
            sys.exit(exit.code if isinstance(exit.code, int) else 1)
    except Exception as error:
        # Settings without STATIC_ROOT (hknweb's dev mode) have nothing to collect: say so.
        if args[0] != "collectstatic" or "STATIC_ROOT" not in str(error):
            raise
        sys.stdout.write("@@hknweb-deploy skipped: the settings have no STATIC_ROOT\n")
"""
SKIPPED = re.compile(r"^@@hknweb-deploy skipped: (.*)$", re.M)
MARKER = re.compile(r"^@@hknweb-deploy command (.*)$", re.M)


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


def main():
    module = AnsibleModule(argument_spec=dict(
        release=dict(type="path", required=True),
        commands=dict(type="list", elements="list", required=True),
        environment=dict(type="dict", default={}),
        lease=lock_.LEASE_OPTION,
    ), supports_check_mode=True)
    p = module.params
    commands = [[str(a) for a in c] for c in p["commands"]]
    if module.check_mode:
        module.exit_json(changed=bool(commands), ran=[dict(command=" ".join(c)) for c in commands])
    lost = lock_.renew(p["lease"])
    if lost:
        module.fail_json(msg=lost, stage="lock", changed=False, ran=[])
    python = os.path.join(p["release"], "venv", "bin", "python")
    env = user_environment({str(k): str(v) for k, v in p["environment"].items()})
    done = run([python, "-c", DRIVER, json.dumps(commands)], cwd=p["release"], env=env)
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
    if failure:
        entry, result = failure
        module.fail_json(
            msg="manage.py %s failed (exit %d); its last lines:\n%s" % (
                entry["command"], result.rc, tail(entry.get("error", result.err) + "\n" + entry.get("output", ""), 20)),
            changed=bool(ran), ran=[dict(command=e["command"]) for e in ran], stage="django",
            stderr_tail=tail(entry.get("error", result.err), 20))
    for entry in ran:
        quiet = NOTHING_DONE.get(entry["command"].split(" ")[0])
        output = entry.pop("output", "")
        skipped = SKIPPED.search(output)
        if skipped:
            entry["skipped"] = skipped.group(1)
        entry["changed"] = not (skipped or (quiet and quiet.search(output)))
    module.exit_json(changed=any(e["changed"] for e in ran), ran=ran, seconds=round(done.seconds, 1))


if __name__ == "__main__":
    main()
