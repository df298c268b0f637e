#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: releases_info
short_description: List the releases of a Capistrano-style deploy, which is live and where a rollback goes
version_added: "2.0.0"
description:
  - Reads C(releases/), the C(current) link, the completion records and C(revisions.log) under
    O(path) and reports every release with its state, commit, subject, ref and deployer, which
    one is live and which one a rollback would go to. Also the lock (holder, purpose, true age)
    and a switch left half done by a killed run. Changes nothing.
  - A release counts as good only when its completion record says it was finished; anything
    else in C(releases/) with a release name is V(unfinished) (incomplete).
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path; a leading C(~) is the user's home.
    type: str
    required: true
  service:
    description: The user unit to report on (state, since when, the release its process runs); empty - none.
    type: str
    default: ""
  bind:
    description: With O(health_path), where to ask the app whether it answers now.
    type: str
    default: ""
  health_path:
    description: Path to GET through O(bind) (read only); empty - no request.
    type: str
    default: ""
  health_host:
    description: Host header of that request.
    type: str
    default: localhost
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: hknweb.deploy.releases
"""

EXAMPLES = r"""
- name: List releases
  hknweb.deploy.releases_info:
    path: ~/hknweb/prod
  register: found
"""

RETURN = r"""
releases:
  description: >-
    Every release, oldest first - name, path, revision, state, live, rollback_target, ref, subject,
    deployer, time, venv.
  returned: always
  type: list
  elements: dict
live:
  description: The live release, or V(null).
  returned: always
  type: str
rollback_target:
  description: Where a rollback without a name would go, or V(null).
  returned: always
  type: str
lock:
  description: The lock (holder, purpose, since, age_seconds) or V(null) when free.
  returned: always
  type: dict
intent:
  description: A switch a killed run left half done, or V(null).
  returned: always
  type: dict
log_tail:
  description: The last lines of C(revisions.log).
  returned: always
  type: list
problem:
  description: Why C(current) does not name a release, or V(null).
  returned: always
  type: str
backups:
  description: The database backups in C(shared/backups/) (name, release - the release whose migrate it
    preceded, time, kind, bytes), oldest first.
  returned: always
  type: list
  elements: dict
service:
  description: With O(service) - active, sub, since, pid, runs (the release its master process runs, from its
    working folder), health (a sentence) and health_status (the HTTP status, V(null) when nothing answered).
  returned: when O(service) is given
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import intent, lock, release_policy, releases_disk, revlog
from ansible_collections.hknweb.deploy.plugins.module_utils import backups
from ansible_collections.hknweb.deploy.plugins.module_utils.host import http_get, process_release, unit_state


def service_state(params):
    """(Optionally) health, then the unit as systemd sees it and which release its master runs.
    The health request comes first: behind a socket it starts a stopped service, and the unit
    read after it names the process that answered."""
    found = {}
    if params["health_path"] and params["bind"]:
        status, answer = http_get(params["bind"], params["health_path"], params["health_host"])
        found["health"] = "GET %s answered %s" % (params["health_path"], status) if status else answer
        found["health_status"] = status
    state = unit_state(params["service"])
    pid = int(state.get("MainPID") or 0)
    runs = process_release(pid) if pid else None
    found.update(active=state.get("ActiveState"), sub=state.get("SubState"), pid=pid,
                 since=state.get("ActiveEnterTimestamp"), runs=os.path.basename(runs) if runs else None)
    return found


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="str", required=True),
        service=dict(type="str", default=""),
        bind=dict(type="str", default=""),
        health_path=dict(type="str", default=""),
        health_host=dict(type="str", default="localhost"),
    ), supports_check_mode=True)
    path = os.path.abspath(os.path.expanduser(module.params["path"]))
    service = service_state(module.params) if module.params["service"] else None
    if not os.path.isdir(path):
        module.exit_json(changed=False, deploy_path=path, releases=[], live=None, rollback_target=None, service=service,
                         lock=None, intent=None, log_tail=[], backups=[],
                         problem="%s does not exist yet (nothing deployed)" % path)
    try:
        inventory = releases_disk.scan(path)
    except release_policy.ReleaseError as error:
        module.fail_json(msg=str(error))
    module.exit_json(
        changed=False, deploy_path=path,
        releases=release_policy.describe(path, inventory.releases, inventory.live, inventory.log),
        live=inventory.live, rollback_target=release_policy.rollback_target(inventory.releases, inventory.live),
        lock=lock.read_lock(path), intent=intent.read_intent(path), log_tail=revlog.log_tail(path),
        problem=inventory.current_problem, service=service, backups=backups.listing(path))


if __name__ == "__main__":
    main()
