#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_begin
short_description: Start a deploy or rollback in one round trip - layout, lock, recovery, repository, plan
version_added: "2.0.0"
description:
  - The first stage of every deploy and rollback. In one call it checks the shared entries,
    creates the layout (C(releases/), C(shared/), C(venvs/)), takes C(deploy.lock), finishes
    what a killed run left (see O(mode)), brings shared files written by the deploy up to date,
    fetches the repository mirror, resolves O(ref) to a commit and decides whether the commit
    needs a new release.
  - It returns what the later stages need, so the play gathers no facts - the user's home and
    uid, the commit's subject, files of the commit and what the interpreters on the host are.
  - A switch that a killed run left half done (C(.deploy-intent)) is undone first - the
    release it moved away from is made current again and a deploy's unproven release is
    marked bad - and RV(restart_required) tells the run to restart and prove the service.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path; a leading C(~) is the deploy user's home.
    type: str
    required: true
  mode:
    description:
      - V(deploy) fetches and resolves O(ref); V(rollback) chooses the release to go back to.
      - V(doctor) changes nothing and checks what a deploy needs from the host - lingering and the
        user manager, git, free disk, the repository and the ref, shared files, the socket folder,
        the bind - and reports every problem with its fix in RV(checks) instead of stopping.
    type: str
    choices: [deploy, rollback, doctor]
    default: deploy
  bind:
    description:
      - The app's bind (C(unix:/path) or C(HOST:PORT)), proven usable before anything is written -
        not another environment's of the account (their registry records and every socket unit the
        user manager knows or has a file for), the port free or ours, the socket folder present and
        writable, the path free or ours. A refusal names C(app_service_bind) and the fix.
      - When O(socket_unit) says it holds O(bind) but nothing answers there (its path was removed
        or taken over), a deploy restarts it and the service. O(mode=doctor) reports the same check.
      - After the check, the environment's unit, socket unit and bind are recorded in the account's
        registry (C(~/.local/state/hknweb-deploy/environments/)). Empty - not checked.
    type: str
    default: ""
  socket_unit:
    description: The socket unit of this environment (the one that may already hold O(bind)).
    type: str
    default: ""
  unit:
    description: The service unit of this environment; refused when another environment's unit file
      of that name runs another deploy path, or another environment's record names it.
    type: str
    default: ""
  environment:
    description: The environment's name (inventory group), recorded in the registry for messages.
    type: str
    default: ""
  repo_url:
    description: The git URL the host clones from. Never printed; credentials in it are
      cut out of every message, and the mirror is private to the user (mode 0700).
    type: str
  ref:
    description: Branch, tag or commit to deploy.
    type: str
  force:
    description: Make a new release even when the live one runs the commit already.
    type: bool
    default: false
  run:
    description: This run's id; the lock and the intent record carry it.
    type: str
    required: true
  holder:
    description: Who runs it (written into the lock).
    type: str
    default: unknown
  purpose:
    description: What the run does (written into the lock).
    type: str
    default: deploy
  writes:
    description:
      - Paths later stages write (the static link), each checked here before the first change like the home
        and shared templates - never the environment's own C(current) or inside C(current), C(releases/),
        C(repo/), C(venvs/).
    type: list
    elements: dict
    default: []
    suboptions:
      variable:
        description: The variable that sets it (named in a refusal).
        type: str
        required: true
      path:
        description: The path (absolute or C(~/...)).
        type: str
        required: true
  break_lock:
    description:
      - Remove a lock without lease (taken by an older version) before taking it. The answer names whose it was.
      - A lock with a lease is never broken while its run is alive; once its lease has run out and no stage
        of its run runs on the host, it is taken over without this.
    type: bool
    default: false
  lease:
    description:
      - Seconds the lock stays this run's after a host stage last renewed it (each later stage renews it in
        its own call; a stage's running process keeps it alive too). V(0) - no lease (never taken over).
    type: int
    default: 300
  rollback_anyway:
    description:
      - With O(mode=rollback) and no O(release), roll back even when the last run makes a plain rollback harmful -
        the last rollback already completed (the rerun of a killed one would go one further), or the last deploy never
        went live (the live release has served all along). Without it the first stays and proves the live release,
        the second is refused before any change.
    type: bool
    default: false
  lock_wait:
    description:
      - Seconds to wait for the lock when a live run (one with a lease) holds it, trying again every second;
        V(0) - refuse at once. A hold (C(lock.yml -e hold=...)) or a lock without lease is never waited for.
    type: int
    default: 0
  shared_dirs:
    description: Folders under C(shared/) linked into every release; created when missing.
    type: list
    elements: str
    default: []
  shared_files:
    description: Files under C(shared/) linked into every release; they must exist.
    type: list
    elements: str
    default: []
  shared_files_create:
    description: Files under C(shared/) linked into every release and created empty (mode 0600)
      when missing, never overwritten (a SQLite database).
    type: list
    elements: str
    default: []
  shared_templates:
    description: Files the deploy writes under C(shared/) (secrets) - C(path), C(content), C(mode).
      Brought up to date on every run; only their paths are ever reported.
    type: list
    elements: dict
    default: []
  home_templates:
    description: Files the deploy writes under the deploy user's home (C(~/.my.cnf)) - C(path)
      relative to the home, C(content), C(mode). Brought up to date on every run (a change
      restarts the service); only their paths are ever reported.
    type: list
    elements: dict
    default: []
  commit_files:
    description: Files of the commit to read (text for C(.toml) and C(.txt) files, a digest for every one).
    type: list
    elements: str
    default: []
  interpreters:
    description: Python interpreters to probe on the host (name on PATH or absolute path).
    type: list
    elements: str
    default: []
  release:
    description: With O(mode=rollback), the release to go to (default - the newest good one before the live one).
    type: str
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: Writes nothing on the host - no layout, no lock, no mirror; the ref is resolved with
      C(git ls-remote) (and in the mirror when there is one).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: hknweb.deploy.release_build
  - module: hknweb.deploy.release_activate
  - module: hknweb.deploy.deploy_finish
"""

EXAMPLES = r"""
- name: Begin - lock, fetch, resolve
  hknweb.deploy.deploy_begin:
    path: ~/hknweb/prod
    repo_url: https://github.com/compserv/hknweb.git
    ref: master
    run: "{{ run_id }}"
    holder: alice
    shared_dirs: [media]
    commit_files: [pyproject.toml, poetry.lock, requirements.txt]
    interpreters: [python3]
  register: begun
"""

RETURN = r"""
deploy_path:
  description: The deploy path, absolute.
  returned: always
  type: str
  sample: /home/hkn/hknweb/prod
home:
  description: The deploy user's home.
  returned: always
  type: str
uid:
  description: The deploy user's uid (for C(XDG_RUNTIME_DIR)).
  returned: always
  type: int
sha:
  description: The commit O(ref) resolves to.
  returned: with O(mode=deploy)
  type: str
subject:
  description: That commit's subject line.
  returned: with O(mode=deploy)
  type: str
needed:
  description: Whether the commit needs a new release (it is not the live one, or O(force)).
  returned: with O(mode=deploy)
  type: bool
live:
  description: The live release (name, revision, subject, ref), or V(null).
  returned: always
  type: dict
pending:
  description:
    - With O(mode=deploy) or O(mode=rollback), the commits between the live commit and the one going live,
      read from the mirror - C(known), C(why) (when not known), C(out) (commits the new one adds) and C(back)
      (commits it takes away), each C(commits) (sha, short, author, subject; newest first, at most 10) and C(count).
  returned: deploy and rollback modes
  type: dict
target:
  description: With O(mode=rollback), the release the rollback makes live.
  returned: with O(mode=rollback)
  type: dict
stayed:
  description: With O(mode=rollback), why the rollback keeps the live release (its target is then the live release) -
    the last rollback already completed, or this run undid an interrupted deploy. See O(rollback_anyway).
  returned: with O(mode=rollback), when it stays
  type: str
releases:
  description: Every release, oldest first (as C(releases_info) returns them).
  returned: always
  type: list
  elements: dict
recovered:
  description: What a killed run left and what was done about it, or V(null).
  returned: always
  type: dict
restart_required:
  description: The service may not run what C(current) points to; restart and prove it.
  returned: always
  type: bool
shared_changed:
  description: Paths under C(shared/) and (as C(~/path)) under the home this run wrote (content never shown).
  returned: always
  type: list
shared_created:
  description: O(shared_files_create) entries this run created empty.
  returned: always
  type: list
files:
  description: For each O(commit_files) entry - exists, sha256, and text for small text files.
  returned: with O(mode=deploy)
  type: dict
interpreters:
  description: For each O(interpreters) entry - found, error, executable, version, environment (PEP 508 markers), venv.
  returned: with O(mode=deploy)
  type: dict
venvs:
  description: Keys of the finished venvs under C(venvs/).
  returned: always
  type: list
lock:
  description: The lock as found - holder, purpose, since, age_seconds - or V(null).
  returned: always
  type: dict
lock_waited:
  description: Seconds this run waited for the lock (O(lock_wait)).
  returned: when the lock was taken
  type: float
lock_broken:
  description: The record of a dead run's lock this run took over (with C(why)) or O(break_lock) removed, or V(null).
  returned: always
  type: dict
lease:
  description: What the later stages pass as their O(lease) option to renew this run's lock (path, run, seconds), or V(null).
  returned: always
  type: dict
bind:
  description: What the bind check found (C(detail)) and whether the socket unit was restarted (C(repaired)).
  returned: when O(bind) is given, except with O(mode=doctor)
  type: dict
checks:
  description: With O(mode=doctor), each check - name, ok, detail, fix.
  returned: with O(mode=doctor)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils.begin import Begin
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_options import argument_spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("mode", "deploy", ["repo_url", "ref"]), ("mode", "doctor", ["repo_url", "ref"])])
    outcome = Begin(module.params, module.check_mode).run()
    if outcome.failure:
        # A lock this run took is given back by the play's rescue (it knows the run id).
        module.fail_json(msg=outcome.failure.msg, stage=outcome.failure.stage, **outcome.failure.fields)
    module.exit_json(**outcome.result)


if __name__ == "__main__":
    main()
