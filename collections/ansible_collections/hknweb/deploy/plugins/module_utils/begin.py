# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The first stage of a run on the host (deploy_begin, and release_rollback's first half), as ordered
lists of steps with a stated policy:

    deploy, rollback   stop at the first failure (nothing after a refusal may run: it could write)
    doctor             run every check and collect every failure (it writes nothing, so none can harm)

A step raises Refusal (or a ReleaseError, a LockError, an OSError) to stop; the runner turns it into a
Failure value, and only the module's main turns that into fail_json. Every read and write goes through
one host object (begin_host.Host), so tests/unit/test_begin_steps.py drives the steps through a
scripted fake. Check mode is fixed when Begin is made: a step asks `self.check`, nothing changes it."""

from __future__ import annotations

import os

from ansible_collections.hknweb.deploy.plugins.module_utils import env_paths, layout, lock_wait, pending, stages
from ansible_collections.hknweb.deploy.plugins.module_utils import begin_steps as decide
from ansible_collections.hknweb.deploy.plugins.module_utils import doctor
from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils import rollback_guard
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_commit import CommitSteps
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_host import Host
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_steps import Refusal
from ansible_collections.hknweb.deploy.plugins.module_utils.host import tail
from ansible_collections.hknweb.deploy.plugins.module_utils.refs import ref_problem, shown
from ansible_collections.hknweb.deploy.plugins.module_utils.shared_entries import check_home_templates, check_shared
from ansible_collections.hknweb.deploy.plugins.module_utils.step_runner import COLLECT_ALL, STOP_AT_FIRST, Outcome, run_steps

DEPLOY = ("check_ref", "check_path", "read_tree", "check_inputs", "host_checks", "check_current", "check_bind",
          "layout", "lock", "claim_bind", "read_inventory", "recover", "sweep", "shared", "venvs", "fetch_and_resolve",
          "commit_files", "probe", "pending", "describe")
ROLLBACK = ("check_path", "read_tree", "check_inputs", "host_checks", "check_current", "check_rollback_target",
            "check_bind", "layout", "lock", "claim_bind", "read_inventory", "recover", "sweep", "shared",
            "venvs", "choose_rollback", "pending", "describe")
# Which option holds each kind of template, the variable a refusal names, and where it is written.
TEMPLATES = (("shared_templates", "deploy_shared_templates", ""), ("home_templates", "deploy_home_templates", "~/"))


class Begin(CommitSteps):
    """`params` are deploy_begin's options (begin_options.argument_spec); `check` is check mode; `host` the host object."""

    def __init__(self, params, check=False, host=None):
        if not isinstance(params, dict):  # a module (or release_rollback's stand-in for one)
            params, check = params.params, params.check_mode
        self.p, self.check, self.host = params, bool(check), host or Host()
        self.path = os.path.abspath(os.path.expanduser(self.p["path"]))
        self.mirror = layout.mirror_dir(self.path)
        self.before = self.verdict = self.sha = None
        self.inventory = rp.Inventory(deploy_path=self.path)
        self.result = dict(changed=False, deploy_path=self.path, home=self.host.home, check_mode=self.check,
                           uid=self.host.uid, user=self.host.user, recovered=None, restart_required=False,
                           shared_changed=[], shared_created=[], lock=None, lock_broken=None, lease=None, venvs=[])
        self.secret = decide.url_secret(self.p.get("repo_url"))

    # --- entry points ---------------------------------------------------------------------------

    def run(self):
        """The mode's steps under its policy: an Outcome, whose failure (if any) main reports."""
        if self.p["mode"] == "doctor":
            return self.doctor()
        steps = DEPLOY if self.p["mode"] == "deploy" else ROLLBACK
        failures = run_steps([(name, getattr(self, name)) for name in steps], STOP_AT_FIRST)
        return Outcome(self.result, self._reported(failures[0]) if failures else None)

    def doctor(self):
        """Every check a deploy depends on, none stopping the others; nothing is written."""
        failures = run_steps([("check_ref", self.check_ref)], STOP_AT_FIRST)
        if failures:
            return Outcome(self.result, self._reported(failures[0]))
        details = {}  # check name -> what it found when it passed

        def step(name, check):
            return name, lambda: details.update({name: check(self)})

        found = run_steps([step(name, check) for name, check in doctor.CHECKS], COLLECT_ALL)
        failed = {f.step: f.msg.partition(" FIX: ") for f in found}
        self.result["checks"] = checks = [
            dict(name=name, ok=False, detail=self.clean(failed[name][0]), fix=self.clean(failed[name][2]))
            if name in failed else dict(name=name, ok=True, detail=details.get(name) or "ok", fix="")
            for name, _ in doctor.CHECKS]
        self.commit_files()
        self.probe()
        self.result["ok"] = all(c["ok"] for c in checks)
        return Outcome(self.result)

    def __call__(self):
        """The result, or the failure's error raised (for release_rollback, which composes the two halves)."""
        outcome = self.run()
        if outcome.failure:
            raise outcome.failure.error or Refusal(outcome.failure.msg)
        return outcome.result

    def _reported(self, failure):
        failure.msg = self.clean(failure.msg)
        if failure.stage == stages.LOCK:
            failure.fields.update(locked=False)
        else:
            failure.fields.update(locked=self.result.get("locked", False), deploy_path=self.path,
                                  recovered=self.result.get("recovered"), live=self.result.get("live"))
        return failure

    # --- checks before anything is written --------------------------------------------------------

    def check_ref(self):
        """A ref that cannot be a git ref is refused before anything (it goes into the lock and the log)."""
        why = ref_problem(self.p["ref"]) if self.p["mode"] in ("deploy", "doctor") else None
        if why:
            raise Refusal("the ref %s (-e revision=, deploy_ref) cannot be a branch, tag or commit: %s. Give a "
                          "branch, tag or commit sha, e.g. -e revision=master. Nothing was changed."
                          % (shown(self.p["ref"]), why))

    def check_path(self):
        if self.host.lexists(self.path) and not self.host.is_dir(self.path):
            raise Refusal("deploy_path %s exists and is not a folder. Nothing was changed." % self.path)

    def read_tree(self):
        """One read of the tree before anything is written, for the checks that need it (the tree is read
        again under the lock, where another run can no longer change it)."""
        self.before = self.host.scan(self.path) if self.host.is_dir(self.path) else None

    def check_inputs(self):
        """Every shared and home entry, and every path the run writes, refused before anything changes."""
        check_home_templates(self.p["home_templates"])
        self.result["shared_entries"] = check_shared(self.p["shared_dirs"], self.p["shared_files"],
                                                     self.p["shared_templates"], self.p["shared_files_create"])
        problems = self.host.check_writes(self.path, [t["path"] for t in self.p["home_templates"]],
                                          [t["path"] for t in self.p["shared_templates"]], self.p["writes"] or [],
                                          venvs=self.p["mode"] == "deploy")
        if problems:
            raise Refusal("; ".join(problems) + ". Nothing was changed.")

    def host_checks(self):
        """What the host must offer before anything is written: lingering and the user manager."""
        user = self.result["user"]
        if not self.host.lingering(user):
            raise Refusal("lingering is off for %s: the app would stop when you log out and the deploy could "
                          "not manage it. Ask root to run once: sudo loginctl enable-linger %s (on apphost the "
                          "OCF does this). Nothing was changed." % (user, user))
        done = self.host.user_manager()
        if not done.ok:
            raise Refusal("systemctl --user does not reach %s's user manager (%s). It needs lingering and "
                          "XDG_RUNTIME_DIR=/run/user/%d. Nothing was changed." % (user, tail(done.err, 2), self.result["uid"]))

    def check_current(self):
        """`current` edited by hand (pointing at /tmp, a real folder) stops the run here, before anything
        is written or built, with the command that fixes it (env_paths.current_refusal)."""
        why = env_paths.current_refusal(self.before) if self.before is not None else None
        if why:
            raise Refusal(why)

    def check_rollback_target(self):
        """A rollback stays read-only until it knows it has a target: no deploy path, nothing live or
        nothing to go to stops it before any folder, lock or shared file is written. Each rule is a pure
        function of what was read (begin_steps.rollback_refusal); add a rule there."""
        if self.before is None:
            raise Refusal(decide.never_deployed(self.path))
        if self.host.read_intent(self.path):
            return  # a killed run is undone first, under the lock; the target is chosen after that
        self.result["live"] = self.describe_one(self.before, self.before.live)  # for the ending
        if self.judge_last_run(self.before, self.host.read_lock(self.path)):
            return  # it stays at the live release: nothing to choose
        why = decide.rollback_refusal(self.before, self.p["release"])
        if why:
            raise Refusal(why)

    def judge_last_run(self, inventory, lock):
        """rollback_guard's verdict on the last run (`lock`: as found before this run took it). A refusal
        is raised; True when the rollback stays at the live release (the reason is in the result)."""
        recovered = self.result.get("recovered")
        if recovered:
            verdict = rollback_guard.after_recovery(recovered.get("intent"), self.p["release"],
                                                    self.p["rollback_anyway"])
        else:
            live = inventory.get(inventory.live) if inventory.live else None
            verdict = rollback_guard.judge(
                inventory.releases, inventory.live, bool(live and live.state == rp.GOOD),
                rollback_guard.events(self.host.history(self.path)), lock,
                self.host.lock_alive(lock) if lock else True, self.p["release"], self.p["rollback_anyway"])
        self.result["last_run"] = verdict.case if verdict else None
        if verdict and verdict.action == "refuse":
            raise Refusal(verdict.why + ".")  # before the lock: a dead deploy's lock stays as it was
        if verdict:
            self.result["stayed"] = verdict.why
        return bool(verdict)

    def check_bind(self):
        if self.p["bind"]:
            self.verdict = self.bind_verdict()
            if not self.verdict.ok:
                raise Refusal(self.verdict.refusal())

    def bind_verdict(self):
        return self.host.bind_verdict(self.p["bind"], self.p["unit"], self.p["socket_unit"], self.path,
                                      self.result["user"])

    # --- the writes, under the lock ---------------------------------------------------------------

    def layout(self):
        if self.check:
            return
        for folder in (self.path, layout.releases_dir(self.path), layout.shared_dir(self.path),
                       layout.venvs_dir(self.path)):
            if not self.host.is_dir(folder):
                self.host.makedirs(folder, 0o755)
                self.result["changed"] = True

    def lock(self):
        self.result["lock"] = self.host.read_lock(self.path) if self.host.is_dir(self.path) else None
        if self.check:
            return
        self.result["lock_broken"], self.result["lock_waited"] = lock_wait.take(
            lambda: self.host.take_lock(self.path, self.p["holder"], self.p["purpose"], self.p["run"], self.p["lease"],
                                        self.p["break_lock"]), self.p["lock_wait"])
        self.result["lease"] = self.host.lease_of(self.path, self.p["run"], self.p["lease"])
        self.result["locked"] = True

    def claim_bind(self):
        """Under the lock: mend our socket unit when it no longer owns its address, and record this
        environment's unit and bind in the account's registry (what the next run of any other
        environment checks against)."""
        if not self.p["bind"]:
            return
        self.result["bind"] = dict(detail=self.verdict.detail, repaired=False)
        if self.check:
            return
        if self.verdict.repair:
            error = self.host.repair_socket(self.p["socket_unit"])
            if error:
                raise Refusal("%s; restarting it failed: %s" % (self.verdict.detail, error))
            self.result["bind"]["repaired"] = True
            self.result.update(changed=True, restart_required=True)
        fields = dict(environment=self.p["environment"], unit=self.p["unit"], socket_unit=self.p["socket_unit"],
                      bind=self.p["bind"])
        self.host.record_environment(self.path, {name: value for name, value in fields.items() if value})

    def read_inventory(self):
        if self.host.is_dir(self.path):
            self.inventory = self.host.scan(self.path)
        self.result["live"] = self.describe_one(self.inventory, self.inventory.live)

    def recover(self):
        """Undo the switch a killed run left (plan_recovery decides what), then read the tree again."""
        intent = self.host.read_intent(self.path) if self.host.is_dir(self.path) else None
        if not intent:
            return
        restore, bad = rp.plan_recovery(intent, self.inventory.releases, self.inventory.live)
        self.result.update(recovered=dict(intent=intent, restored=restore, marked_bad=bad), restart_required=True)
        if self.check:
            return
        self.host.undo(self.path, intent.get("op"), restore, bad)
        self.result["changed"] = True
        self.inventory = self.host.scan(self.path)

    def sweep(self):
        if not self.check and self.host.is_dir(self.path):
            self.result["swept_trials"] = self.host.sweep_trials(self.path)

    def shared(self):
        shared = layout.shared_dir(self.path)
        for option, variable, prefix in TEMPLATES:
            folder = shared if option == "shared_templates" else self.host.home
            for template in self.p[option]:
                if self._bring_up_to_date(variable, os.path.join(folder, template["path"]), template):
                    self.result["shared_changed"].append(prefix + template["path"])
        for folder in self.p["shared_dirs"]:
            if not self.check and not self.host.is_dir(os.path.join(shared, folder)):
                self.host.makedirs(os.path.join(shared, folder), 0o755)
        for name in self.p["shared_files_create"]:
            if not self.host.lexists(os.path.join(shared, name)):
                self.result["shared_created"].append(name)
                if not self.check:
                    self.host.create_empty(os.path.join(shared, name))
                    self.result["changed"] = True
        missing = [f for f in self.p["shared_files"] if not self.host.lexists(os.path.join(shared, f))]
        if missing:
            raise Refusal(decide.shared_missing(missing, shared))
        if self.result["shared_changed"]:
            self.result.update(changed=True, restart_required=True)

    def venvs(self):
        self.result["venvs"] = self.host.venv_keys(self.path)

    def _bring_up_to_date(self, variable, target, template):
        """Write one template when its content or mode differs; True when it did (or would)."""
        mode = int(str(template.get("mode") or "0600"), 8)
        content = template.get("content")
        if not isinstance(content, str):
            raise Refusal("%s entry %r has no text content" % (variable, template["path"]))
        if self.host.same_file(target, content, mode):
            return False
        if not self.check:
            self.host.write_private(target, content, mode)
        return True

    # --- the rollback's target (the deploy's commit: begin_commit.py) -------------------------------

    def choose_rollback(self):
        live = self.inventory.require_live()
        stays = self.judge_last_run(self.inventory, self.result.get("lock"))
        target = live if stays else rp.choose_rollback(self.inventory.releases, live, self.p["release"])
        programs = layout.release_programs(layout.release_dir(self.path, target))
        missing = [p for p in programs.values() if not self.host.exists(p)]
        if missing:
            raise Refusal(decide.cannot_run(target, [os.path.relpath(p, layout.release_dir(self.path, target))
                                                     for p in missing]))
        self.result["target"] = self.describe_one(self.inventory, target)
        self.result["direction"] = decide.direction(live, target)

    def pending(self):
        """The commits going out (a deploy) or taken back (a rollback), read from the mirror (pending.py)."""
        live = self.inventory.get(self.inventory.live) if self.inventory.live else None
        new = self.sha if self.p["mode"] == "deploy" else (self.result.get("target") or {}).get("revision")
        self.result["pending"] = pending.between(self.host.run, self.mirror, live.revision if live else None, new)

    def describe(self):
        inventory = self.inventory
        self.result["live"] = self.describe_one(inventory, inventory.live)
        self.result["releases"] = rp.describe(self.path, inventory.releases, inventory.live, inventory.log)
        self.result["rollback_target"] = rp.rollback_target(inventory.releases, inventory.live)

    @staticmethod
    def describe_one(inventory, name):
        if not name:
            return None
        described = rp.describe(inventory.deploy_path, inventory.releases, inventory.live, inventory.log)
        return next((entry for entry in described if entry["name"] == name), None)
