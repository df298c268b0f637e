#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_rollback
short_description: Roll back in one round trip - lock, choose and check the target, switch, reload, prove, unlock
version_added: "2.1.0"
description:
  - What M(hknweb.deploy.deploy_begin) with O(hknweb.deploy.deploy_begin#module:mode=rollback) and
    M(hknweb.deploy.release_activate) with O(hknweb.deploy.release_activate#module:mode=rollback) do,
    in one module call - a rollback is what an officer runs when the site is broken, so it pays
    one SSH round trip, not two.
  - Checks lingering and the user manager, refuses bad shared entries, takes C(deploy.lock), undoes
    what a killed run left (C(.deploy-intent)), brings shared and home files up to date, chooses
    the target (O(release), or the newest good release before the live one) and checks it (a
    complete release with its venv and run entry point).
  - Then keeps the service files up to date, switches C(current), reloads gunicorn (same venv and
    service files) or restarts the service, and proves the target healthy; a target that does not
    come up is undone - the release it left is switched back and restarted. The release left
    behind is marked bad when the rollback goes back (not when it goes forward by name).
  - The lock is given back whatever happened (this run's lock only).
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (absolute or C(~/...)).
    type: str
    required: true
  release:
    description: The release to go to (default - the newest good one before the live one).
    type: str
  run:
    description: This run's id (the lock and the intent record carry it).
    type: str
    required: true
  holder:
    description: Who runs it (lock, C(revisions.log), the bad mark).
    type: str
    default: unknown
  purpose:
    description: What the run does (written into the lock).
    type: str
    default: rollback
  break_lock:
    description: Remove a lock without lease (an older version's) before taking it; a live run's lock is never broken.
    type: bool
    default: false
  lock_wait:
    description: Seconds to wait for a lock a live run holds (as M(hknweb.deploy.deploy_begin)); 0 - refuse at once.
    type: int
    default: 0
  lease:
    description: Seconds of the lock's lease (as M(hknweb.deploy.deploy_begin)); the rollback holds it in one process.
    type: int
    default: 300
  rollback_anyway:
    description:
      - Roll back even when the last run makes a plain rollback harmful - the last rollback already completed (a
        rerun after a killed controller would go one further), or the last deploy never went live (the live release
        has served all along). Without it the first stays at the live release and proves it, the second is refused
        before any change. Not needed with O(release).
    type: bool
    default: false
  shared_dirs:
    description: As M(hknweb.deploy.deploy_begin) (checked; created when missing).
    type: list
    elements: str
    default: []
  shared_files:
    description: As M(hknweb.deploy.deploy_begin) (they must exist).
    type: list
    elements: str
    default: []
  shared_files_create:
    description: As M(hknweb.deploy.deploy_begin) (created empty when missing).
    type: list
    elements: str
    default: []
  shared_templates:
    description: As M(hknweb.deploy.deploy_begin) - written when they differ, content never shown.
    type: list
    elements: dict
    default: []
  home_templates:
    description: As M(hknweb.deploy.deploy_begin) - files under the home, written when they differ.
    type: list
    elements: dict
    default: []
  files:
    description: The service files (C(path), C(content), C(mode), C(unit)), as
      M(hknweb.deploy.release_activate) takes them; C(@@HOME@@) in a path or content stands for
      the deploy user's home.
    type: list
    elements: dict
    default: []
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
    description: Path that must answer 200 (empty - only the unit and its release are checked).
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
  reload:
    description: Reload gunicorn (C(HUP)) instead of a restart when the target uses the running venv
      and the service files are unchanged (see M(hknweb.deploy.release_activate)).
    type: bool
    default: true
  migrations:
    description:
      - When the database has applied migrations the target release's code does not know (from the
        releases' schema records, see M(hknweb.deploy.django_manage)) - V(refuse) (before any change,
        listing them), V(code-only) (switch anyway, the schema stays), or V(unapply) (after a fresh
        backup, C(migrate <app> <target's leaf>) with the newer release's code, then the switch;
        a migration that cannot be reversed is refused before any change).
      - No schema difference, or releases without records - the rollback runs no Django at all.
    type: str
    choices: [refuse, code-only, unapply]
    default: refuse
  environment:
    description: The service's environment variables, for the unapply's C(manage.py migrate).
    type: dict
    default: {}
  environment_name:
    description: The environment's name, for the refusal's commands (C(-l <name>)).
    type: str
    default: ''
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Chooses and checks the target and reports what would change; writes nothing, switches
      nothing, restarts nothing, takes no lock.
  diff_mode:
    support: full
    details: Shows the service files and the target of C(current) before and after.
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Roll back to the newest good release before the live one
  hknweb.deploy.release_rollback:
    path: ~/hknweb/prod
    run: "20261126T120000Z-4242"
    holder: alice
    service: hknweb.service
    socket: hknweb.socket
    bind: unix:/srv/apps/hkn/hkn.sock
    health_host: hkn.eecs.berkeley.edu
  register: rolled
"""

RETURN = r"""
begin:
  description: What M(hknweb.deploy.deploy_begin) returns for a rollback - live, target, direction,
    releases, recovered, shared_changed, lock_broken, stayed (why the live release was kept) ...
  returned: always
  type: dict
activate:
  description: What M(hknweb.deploy.release_activate) returns - live, previous, switched, reloaded,
    restarted, health, reverted, marked_bad, unlocked ...
  returned: when the target was chosen
  type: dict
schema:
  description: The schema step - C(verdict) (V(switch), V(refuse), V(unapply)), C(unknown) (app, name
    applied but unknown to the target), C(newer) (the release whose code knows them), C(commands)
    and C(backup) of an unapply.
  returned: when the target was chosen
  type: dict
activated:
  description: On a failure, V(true) when it came from the second half (switch, reload or restart,
    health); the failure's other keys are then those of RV(activate).
  returned: on failure after the target was chosen
  type: bool
"""

from collections import namedtuple

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import ReleaseError
from ansible_collections.hknweb.deploy.plugins.module_utils import activate as activate_
from ansible_collections.hknweb.deploy.plugins.module_utils import begin as begin_
from ansible_collections.hknweb.deploy.plugins.module_utils import begin_options
from ansible_collections.hknweb.deploy.plugins.module_utils import rollback_schema, stages
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_exec import Switch
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_host import SwitchHost
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_plan import Options

BEGIN_OPTIONS = ("path", "release", "run", "holder", "purpose", "break_lock", "lease", "rollback_anyway", "lock_wait",
                 "shared_dirs", "shared_files", "shared_files_create", "shared_templates", "home_templates", "bind")

# The first half's inputs, as Begin reads them (its params and whether this is a dry run).
BeginInputs = namedtuple("BeginInputs", "params check_mode")


def argument_spec():
    spec = {name: option for name, option in begin_options.argument_spec().items() if name in BEGIN_OPTIONS}
    spec.update(activate_.service_spec())
    spec.update(path=dict(type="str", required=True), run=dict(type="str", required=True),
                purpose=dict(type="str", default="rollback"),
                migrations=dict(type="str", default="refuse", choices=["refuse", "code-only", "unapply"]),
                environment=dict(type="dict", default={}), environment_name=dict(type="str", default=""))
    return spec


def begin_params(p):
    params = {name: option.get("default") for name, option in begin_options.argument_spec().items()}
    params.update({name: p[name] for name in BEGIN_OPTIONS}, mode="rollback", socket_unit=p["socket"], unit=p["service"])
    return params


def switch_options(p, begun):
    """The second half's typed inputs: the service options given, and what the first half chose."""
    return Options.from_params(p, path=begun["deploy_path"], mode="rollback", release=begun["target"]["name"],
                               mark_previous_bad=begun.get("direction", "back") == "back",
                               restart=begun["restart_required"], deployer=p["holder"], unlock=True)


def schema_step(module, p, begin, begun):
    """Issue 21: migrations the target does not know - refused, or unapplied (rollback_schema.py)."""
    try:
        return rollback_schema.step(begun["deploy_path"], [r["name"] for r in begun.get("releases") or []],
                                    (begun.get("live") or {}).get("name"), begun["target"]["name"], p["migrations"],
                                    p["environment"], p["environment_name"], module.check_mode)
    except (rollback_schema.Refused, OSError) as error:
        if begin.result.get("locked"):
            lock_.give_lock(begin.path, p["run"])
        module.fail_json(msg=str(error), stage=stages.SCHEMA, begin=begun, changed=False,
                         schema=getattr(error, "result", {}), refused=isinstance(error, rollback_schema.Refused))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    begin = begin_.Begin(BeginInputs(begin_params(p), module.check_mode))
    try:
        begun = begin()
    except lock_.LockHeld as error:
        module.fail_json(msg=str(error), lock=error.holder, stage="lock", locked=False, begin=begin.result)
    except (begin_.Refusal, ReleaseError, lock_.LockError, OSError) as error:
        if begin.result.get("locked"):
            lock_.give_lock(begin.path, p["run"])
        text = str(error) if not isinstance(error, OSError) else "%s: %s" % (type(error).__name__, error)
        module.fail_json(msg=begin.clean(text), stage="begin", begin=begin.result)
    schema = schema_step(module, p, begin, begun)
    outcome = Switch(SwitchHost(), switch_options(p, begun), module.check_mode).run()
    result = outcome.result
    if not module._diff:
        result.pop("diff", None)
    if outcome.failure:
        # A failure of this half carries both halves' results (activated: the summary reads it as activate's).
        module.fail_json(msg=outcome.failure.msg, begin=begun, activated=True, schema=schema,
                         **dict(result, **outcome.failure.extra))
    module.exit_json(changed=bool(begun.get("changed") or result.get("changed") or schema.get("changed")),
                     begin=begun, activate=result, schema=schema, diff=result.get("diff", []))


if __name__ == "__main__":
    main()
