#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_activate
short_description: Make a release live and prove it - service files, socket, switch, restart, health, revert
version_added: "2.0.0"
description:
  - Writes the service's files (user unit, socket unit, run script) when they changed, keeps
    the socket unit running (systemd holds the listening socket, so a restart of the service
    refuses no connection), then switches C(current) atomically, restarts the service and
    proves the release healthy - the unit is active, its main process runs in that release
    and O(health_path) answers 200 through the socket.
  - If the release does not come up, the release that was live before is switched back,
    restarted and checked, the failed one is marked bad, and the task fails with the cause
    (health answer, the unit's journal) and what is live now.
  - A small intent record (C(.deploy-intent)) is written before the switch and removed once
    the outcome is proven, so a run killed in between is undone by the next one
    (M(hknweb.deploy.deploy_begin)).
  - With O(mode=ensure) nothing is switched - the files are kept up to date and the service
    is restarted only when it must be (its files changed, O(restart), it is not running, or it
    runs another release than C(current)); then it is proven healthy.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (absolute).
    type: path
    required: true
  mode:
    description: V(deploy) (a new release), V(rollback) (an earlier or named one) or V(ensure).
    type: str
    choices: [deploy, rollback, ensure]
    default: deploy
  release:
    description: The release to make live (not with O(mode=ensure)).
    type: str
  record:
    description: With O(mode=deploy), the completion record written into the release just
      before it goes live (sha, ref, subject, deployer, venv ...).
    type: dict
    default: {}
  mark_previous_bad:
    description: With O(mode=rollback), mark the release left behind bad (a rollback back; a
      rollback forward by name keeps it good).
    type: bool
    default: true
  files:
    description: Files to keep up to date - C(path), C(content), C(mode); C(unit) true for systemd units.
    type: list
    elements: dict
    default: []
  trial:
    description:
      - With O(mode=deploy), a trial run of the new release before it goes live - C(args) (the
        gunicorn arguments after the executable, without a bind) and C(environment). The release's
        own C(venv/bin/gunicorn) is started with one worker on a private unix socket and must answer
        O(health_path) with 200; a release that does not is never switched to, so no request ever
        reaches it. Empty - no trial.
    type: dict
    default: {}
  links:
    description:
      - Symlinks to keep pointing through C(current) - C(path) (absolute, or C(~/...)) and
        C(target) - e.g. the public static folder to C(<deploy_path>/current/staticfiles). A real
        file or folder at C(path) is never replaced - the task fails before anything is switched.
    type: list
    elements: dict
    default: []
  service:
    description: The user unit that runs the app, e.g. C(hknweb.service).
    type: str
    required: true
  socket:
    description: The socket unit that holds its listening socket (empty - the service binds itself).
    type: str
    default: ""
  bind:
    description: Where the app answers - C(unix:/path.sock) or C(HOST:PORT).
    type: str
    required: true
  health_path:
    description: Path that must answer 200 (empty - only the unit and its release are checked).
    type: str
    default: /
  health_host:
    description: Host header of the health request (must be in the app's ALLOWED_HOSTS).
    type: str
    default: localhost
  health_timeout:
    description: Seconds to wait for a healthy answer after a restart.
    type: int
    default: 60
  restart:
    description: Restart even when nothing else asks for it (shared files changed, a killed run was undone).
    type: bool
    default: false
  deployer:
    description: Who runs it, for C(revisions.log).
    type: str
    default: unknown
  ref:
    description: The ref deployed, for C(revisions.log).
    type: str
    default: ""
  run:
    description: This run's id (written into the intent record; with O(unlock), the lock it gives back).
    type: str
    default: ""
  prune:
    description: After a proven switch, prune as M(hknweb.deploy.deploy_finish) does, keeping O(keep) good releases.
    type: bool
    default: false
  keep:
    description: Good releases to keep when pruning.
    type: raw
    default: 5
  unlock:
    description: Give C(deploy.lock) back at the end, whatever happened (this run's lock only).
    type: bool
    default: false
  reload:
    description:
      - When the release going live uses the venv the running gunicorn master was started from and
        the service's files are unchanged, send the master C(HUP) instead of restarting the
        service - it stays, cds through C(current) again and replaces its workers. Faster, and no
        request waits for a master to boot. The release counts as live once the master and every
        worker run in it and the health path answers 200.
      - V(false) - always restart the service.
    type: bool
    default: true
  lease:
    description:
      - The run's lock lease as M(hknweb.deploy.deploy_begin) returned it (C(path), C(run), C(seconds)).
      - Renewed when the stage starts; when the lock is no longer this run's (taken over after its lease
        ran out) the stage stops before it switches anything, so it never switches over another run's work.
        Empty - nothing to renew.
    type: dict
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Writes nothing, switches nothing, restarts nothing; reports each of them it would do.
  diff_mode:
    support: full
    details: Shows the service files and the target of C(current) before and after.
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Switch to the new release and prove it
  hknweb.deploy.release_activate:
    path: /home/hkn/hknweb/prod
    release: "20261126T120000Z"
    record: {sha: 0123abc, ref: master}
    service: hknweb.service
    socket: hknweb.socket
    bind: unix:/srv/apps/hkn/hkn.sock
    health_path: /
    health_host: hkn.studentorg.berkeley.edu
"""

RETURN = r"""
live:
  description: The release live when the task ends (after a revert, the earlier one).
  returned: always
  type: str
previous:
  description: The release live before the task.
  returned: always
  type: str
switched:
  description: Whether C(current) moved (and stayed).
  returned: always
  type: bool
restarted:
  description: Whether the service was restarted.
  returned: always
  type: bool
reloaded:
  description: Whether gunicorn was reloaded (C(HUP)) instead, see O(reload).
  returned: always
  type: bool
restart_reasons:
  description: Why it was (or, in check mode, would be) restarted.
  returned: always
  type: list
files_changed:
  description: Paths of service files written.
  returned: always
  type: list
socket_note:
  description: What happened to the socket unit, when anything did.
  returned: always
  type: str
health:
  description: The health check - ok, seconds, status, detail, pid.
  returned: always
  type: dict
reverted:
  description: Whether a failed release was put back by the earlier one.
  returned: always
  type: bool
marked_bad:
  description: The release marked bad by this task, or V(null).
  returned: always
  type: str
links_changed:
  description: Paths of O(links) created or repointed.
  returned: always
  type: list
removed:
  description: Releases pruned (with O(prune)).
  returned: always
  type: list
removed_venvs:
  description: Venvs pruned (with O(prune)).
  returned: always
  type: list
unlocked:
  description: Whether the lock was given back (with O(unlock)).
  returned: always
  type: bool
steps:
  description: The switch's plan - each step (C(step)) with its C(reason), in order; in check mode what
    would run, else what was planned (a failure stops it; a revert runs its own steps).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.activate import argument_spec
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_exec import Switch
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_host import SwitchHost
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_plan import Options


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("mode", "deploy", ["release"]), ("mode", "rollback", ["release"])])
    lost = None if module.check_mode else lock_.renew(module.params["lease"])
    if lost:
        # Taken over after its lease ran out: another run owns the environment now. Stop before the switch.
        module.fail_json(msg=lost, stage="lock", changed=False, unlocked=False)
    outcome = Switch(SwitchHost(), Options.from_params(module.params), module.check_mode).run()
    result = outcome.result
    if not module._diff:
        result.pop("diff", None)
    if outcome.failure:
        module.fail_json(msg=outcome.failure.msg, **dict(result, **outcome.failure.extra))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
