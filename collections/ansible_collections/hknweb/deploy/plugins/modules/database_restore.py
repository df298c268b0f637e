#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: database_restore
short_description: Restore a named database backup into the environment's database, the service stopped meanwhile
version_added: "2.2.0"
description:
  - Restores one of the backups the Django stage made (C(<path>/shared/backups/<name>), see
    M(hknweb.deploy.django_manage)) into the database the live release's settings name, read
    by the app's own Django with O(environment) (credentials never printed).
  - Takes C(deploy.lock), stops the socket and the service (requests are refused meanwhile, none
    reaches a half-restored database), restores (MySQL/MariaDB through the C(mysql) client with
    the settings' credentials in a private 0600 file; sqlite through its backup API), starts them
    again and proves the site healthy, then gives the lock back. A failed restore still starts the
    service again and says the database may be partly restored.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (absolute or C(~/...)).
    type: str
    required: true
  backup:
    description: The backup's file name, as C(releases.yml) lists it.
    type: str
    required: true
  environment:
    description: The service's environment variables (its settings choose the database).
    type: dict
    default: {}
  run:
    description: This run's id (the lock carries it).
    type: str
    required: true
  holder:
    description: Who runs it (the lock).
    type: str
    default: unknown
  service:
    description: The user unit that runs the app.
    type: str
    required: true
  socket:
    description: Its socket unit (empty - the service binds itself).
    type: str
    default: ""
  bind:
    description: Where the app answers - C(unix:/path.sock) or C(HOST:PORT).
    type: str
    required: true
  health_path:
    description: Path that must answer 200 after the restore.
    type: str
    default: /
  health_host:
    description: Host header of the health request.
    type: str
    default: localhost
  health_timeout:
    description: Seconds to wait for a healthy answer.
    type: int
    default: 60
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Checks the backup and the live release and says what it would do; stops nothing, writes nothing.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Restore a backup into prod's database
  hknweb.deploy.database_restore:
    path: ~/hknweb/prod
    backup: 20261204T010000Z-20261204T010203Z.sql.gz
    environment: {HKNWEB_MODE: prod}
    run: "20261204T020000Z-4242"
    service: hknweb.service
    socket: hknweb.socket
    bind: unix:/srv/apps/hkn/hkn.sock
    health_host: hkn.eecs.berkeley.edu
"""

RETURN = r"""
restored:
  description: The backup restored (C(path), C(seconds)), empty in check mode.
  returned: success
  type: dict
would:
  description: What the restore does (or would do, in check mode), in words.
  returned: always
  type: str
health:
  description: The health answer after the restore.
  returned: success
  type: str
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import backups, layout
from ansible_collections.hknweb.deploy.plugins.module_utils import django_run
from ansible_collections.hknweb.deploy.plugins.module_utils import django_settings as ds
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.host import http_get, systemctl, tail, user_environment


def restore_in(release, order, environment):
    """Run the driver in the live release with the restore order; (ok, cause or result)."""
    state = {}

    def plan(_):
        state["order"] = dict(order, database=ds.database_identity(
            state["report"], ds.read_option_file(state["option"], state["report"].get("option_group"))
            if state["option"] else None).get("name") or "",
            option_file=os.path.realpath(state["option"]) if state["option"] and os.path.isfile(state["option"]) else "")
        if order["family"] == "sqlite":
            state["order"]["database"] = ds.database_identity(state["report"])["name"]
        return dict(restore=state["order"])

    def decide(report):
        state["report"], state["option"] = report, ds.option_file_path(report)
        return ds.family(report.get("engine")) == order["family"]

    done, report = django_run.session([layout.venv_program(release, "python"), "-c", django_run.DRIVER, "[]"],
                                      release, user_environment({str(k): str(v) for k, v in environment.items()}),
                                      decide, plan)
    made = django_run.RESTORED.search(done.out or "")
    if made and done.rc == 0:
        return True, json.loads(made.group(1))
    failed = django_run.RESTORE_FAILED.search(done.out or "")
    if report and ds.family(report.get("engine")) != order["family"]:
        return False, "the backup is %s, the live release's database is %s" % (order["family"], ds.family(report.get("engine")))
    return False, json.loads(failed.group(1)) if failed else tail(done.err + "\n" + done.out, 10)


def healthy(p):
    deadline = time.monotonic() + p["health_timeout"]
    while True:
        status, answer = http_get(p["bind"], p["health_path"], p["health_host"])
        if status == 200 or time.monotonic() > deadline:
            return status, "GET %s answered %s" % (p["health_path"], status) if status else answer
        time.sleep(0.5)


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="str", required=True), backup=dict(type="str", required=True),
        environment=dict(type="dict", default={}), run=dict(type="str", required=True),
        holder=dict(type="str", default="unknown"), service=dict(type="str", required=True),
        socket=dict(type="str", default=""), bind=dict(type="str", required=True),
        health_path=dict(type="str", default="/"), health_host=dict(type="str", default="localhost"),
        health_timeout=dict(type="int", default=60),
    ), supports_check_mode=True)
    p = module.params
    path = os.path.abspath(os.path.expanduser(p["path"]))
    entry = backups.parse(p["backup"])
    found = [b["name"] for b in backups.listing(path)]
    if not entry or p["backup"] not in found:
        module.fail_json(msg="No backup named %r in %s (there: %s). Nothing was changed." % (
            p["backup"], backups.folder(path), ", ".join(found) or "none"), changed=False)
    release = os.path.realpath(layout.current_link(path))
    units = [u for u in (p["socket"], p["service"]) if u]
    would = ("stop %s, restore %s into the database the live release %s names, start them again, prove %s "
             "answers 200" % (" and ".join(units), p["backup"], os.path.basename(release), p["health_path"]))
    if module.check_mode:
        module.exit_json(changed=True, would="Would " + would, restored={})
    try:
        lock_.take_lock(path, p["holder"], "restore %s" % p["backup"], p["run"], 600)
    except lock_.LockError as error:
        module.fail_json(msg=str(error), changed=False, would=would)
    try:
        for unit in units:
            systemctl("stop", unit)
        ok, result = restore_in(release, dict(path=os.path.join(backups.folder(path), p["backup"]),
                                              family=entry["kind"]), p["environment"])
        for unit in reversed(units):
            systemctl("start", unit)
        status, health = healthy(p)
    finally:
        lock_.give_lock(path, p["run"])
    if not ok:
        module.fail_json(msg="Restore of %s failed: %s. The database may be partly restored; the service was "
                         "started again (%s). Run the restore again once the cause is fixed." % (
                             p["backup"], result, health), changed=True, would=would)
    if status != 200:
        module.fail_json(msg="Restored %s, but the site is not healthy: %s." % (p["backup"], health), changed=True,
                         restored=result, would=would, health=health)
    module.exit_json(changed=True, restored=result, would=would, health=health)


if __name__ == "__main__":
    main()
