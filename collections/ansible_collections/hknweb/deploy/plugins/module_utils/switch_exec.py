# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The switch's executor: reads what is on the host, asks switch_plan for the steps, and runs them
through one host object (switch_host.SwitchHost, or a scripted fake in the unit tests). Failures
come back as values (Outcome.failure); only the module's main turns them into fail_json."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from ansible_collections.hknweb.deploy.plugins.module_utils import switch_plan as sp
from ansible_collections.hknweb.deploy.plugins.module_utils import switch_proof as proof
from ansible_collections.hknweb.deploy.plugins.module_utils.host import tail
from ansible_collections.hknweb.deploy.plugins.module_utils.layout import HOME_MARK
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import ReleaseError


@dataclass
class Failure:
    msg: str
    extra: dict = field(default_factory=dict)  # stage, cause, journal, ...


@dataclass
class Outcome:
    result: dict
    failure: Failure | None = None


class Unhealthy(Exception):
    """A step found the release not answering (its health dict): a switch reverts, ensure fails."""

    def __init__(self, health):
        super().__init__(health["detail"])
        self.health = health


class Stop(Exception):
    """A step's failure, carried to the mode's method as a Failure."""

    def __init__(self, failure):
        super().__init__(failure.msg)
        self.failure = failure


def observe(host, opts):
    """What is on the host before the switch, read once."""
    if not host.isdir(opts.path):
        return sp.Observed(exists=False)
    live, releases = host.releases(opts.path)
    units = [u for u in (opts.socket, opts.service) if u]
    states = host.systemctl("is-enabled", *units).out.split()
    state = host.unit_state(opts.service)
    pid = int(state.get("MainPID") or 0)
    master = host.process_release(pid) if pid else None
    names = [name for name in (live, opts.release) if name and name in releases]
    dirs = {name: host.release_dir(opts.path, name) for name in names}
    return sp.Observed(
        live=live, releases=releases, files={f["path"]: host.read_file(f["path"]) for f in opts.files},
        enabled=len(states) == len(units) and all(s == "enabled" for s in states),
        socket_active=not opts.socket or host.unit_state(opts.socket).get("ActiveState") == "active",
        service_state=state.get("ActiveState") or "", service_sub=state.get("SubState") or "",
        master_pid=pid, master_release=master, master_venv=host.venv_of(master) if master else None,
        release_dirs=dirs, venvs={name: host.venv_of(folder) for name, folder in dirs.items()},
        links={path: host.link_state(path) for path in wanted_links(opts)})


def wanted_links(opts):
    return {os.path.expanduser(link["path"]): link["target"] for link in opts.links}


def with_home(opts, home):
    """Files rendered before the home was known (a rollback's one round trip) carry its mark."""
    files = [dict(item, path=item["path"].replace(HOME_MARK, home), content=item["content"].replace(HOME_MARK, home))
             for item in opts.files]
    return dataclasses.replace(opts, files=files)


class Switch:
    """Runs one plan. `run()` returns an Outcome; nothing here ends the process."""

    def __init__(self, host, opts, check=False):
        self.host, self.check = host, check
        self.opts = with_home(opts, host.home())

    def plan(self):
        observed = observe(self.host, self.opts)
        return observed, sp.plan(self.opts, observed, wanted_links(self.opts), self.check)

    def run(self):
        try:
            observed, plan = self.plan()
        except (ReleaseError, OSError) as error:
            return self.finish(self.report(sp.Plan()), Failure("%s: %s" % (type(error).__name__, error),
                                                               dict(stage="switch")))
        result = self.report(plan)
        if plan.refusal:
            return self.finish(result, Failure(plan.refusal["msg"], dict(stage=plan.refusal["stage"])))
        if self.check:
            return self.preview(plan, result)
        mode = {"deploy": self.deploy, "rollback": self.rollback, "ensure": self.ensure}[self.opts.mode]
        try:
            failure = mode(plan, result) if plan.switched else self.ensure(plan, result)
        except (ReleaseError, OSError) as error:
            failure = Failure("%s: %s" % (type(error).__name__, error), dict(stage="switch"))
        return self.finish(result, failure)

    def report(self, plan):
        return dict(changed=plan.changed, switched=plan.switched, restarted=False, reloaded=False,
                    restart_reasons=list(plan.restart_reasons), files_changed=list(plan.files_changed),
                    socket_note=plan.socket_note, reverted=False, marked_bad=None, health=None,
                    diff=list(plan.diff), removed=[], removed_venvs=[], unlocked=False,
                    links_changed=list(plan.links_changed), previous=plan.previous, live=plan.previous,
                    steps=[step.describe() for step in plan.steps])

    def finish(self, result, failure=None):
        """Give the lock back (when asked), whatever happened."""
        if self.opts.unlock and not self.check:
            result["unlocked"] = self.host.give_lock(self.opts.path, self.opts.run)
        return Outcome(result, failure)

    # --- one method per mode --------------------------------------------------------------

    def preview(self, plan, result):
        """Check mode: the plan, and what prune would remove; nothing runs."""
        result["live"] = plan.live_after
        if "prune" in plan.names() and self.host.isdir(self.opts.path):
            result["removed"], result["removed_venvs"] = self.host.prune(self.opts.path, self.opts.keep, True)
            result["changed"] = result["changed"] or bool(result["removed"] or result["removed_venvs"])
        return Outcome(result)

    def deploy(self, plan, result):
        return self.go_live(plan, result)

    def rollback(self, plan, result):
        return self.go_live(plan, result)

    def ensure(self, plan, result):
        """Stay on the live release: files, socket, a restart when something asks for one, proof."""
        return self.attempt(plan.steps, result, lambda health: self.not_up(plan, health))

    def go_live(self, plan, result):
        failure = self.attempt(plan.steps, result, lambda health: self.revert(plan, result, health))
        if failure is None:
            result["live"] = plan.live_after
        return failure

    def attempt(self, steps, result, unhealthy):
        """Run the steps: a Stop is its failure; a release that does not answer goes to `unhealthy`."""
        try:
            self.steps(steps, result)
        except Stop as stop:
            return stop.failure
        except Unhealthy as bad:
            return unhealthy(bad.health)
        return None

    def not_up(self, plan, health):
        """ensure has nothing to go back to: the failure names the release and its journal."""
        journal = self.host.journal(self.opts.service)
        return Failure("%s does not come up on %s: %s.\nIts journal:\n%s" % (
            self.opts.service, plan.previous, health["detail"], journal), dict(stage="health check", journal=journal))

    def revert(self, plan, result, health):
        target, previous, opts = plan.live_after, plan.previous, self.opts
        journal = self.host.journal(opts.service)
        cause = "%s failed its health check after %ss (of %ss allowed): %s" % (
            target, health["seconds"], opts.health_timeout, health["detail"])
        steps = sp.revert_steps(opts, target, previous, result["marked_bad"] == previous and previous is not None)
        back = None
        try:
            self.steps(steps, result, reason="failed its health check: " + health["detail"])
        except Unhealthy as again:
            back = again.health
            self.host.clear_intent(opts.path)
        back = back or result["health"]
        result.update(reverted=bool(previous), marked_bad=target, live=previous or target, health=health)
        if not previous:
            return Failure("%s. It was the first release; there is nothing to go back to, so it stays "
                           "current, marked bad.\nThe unit's journal:\n%s" % (cause, journal),
                           dict(stage="health check", journal=journal, live=target))
        result["health_after_revert"] = back
        return Failure("%s. %s is live again%s; %s is marked bad and kept for inspection.\n"
                       "The unit's journal:\n%s" % (
                           cause, previous, "" if back["ok"] else " but does not answer either (%s)" % back["detail"],
                           target, journal), dict(stage="health check", journal=journal, cause=cause))

    # --- the steps ------------------------------------------------------------------------

    def steps(self, steps, result, reason=None):
        for step in steps:
            getattr(self, "do_" + step.name.replace(" ", "_").replace("-", "_"))(step, result, reason)

    def must(self, done, what):
        if not done.ok:
            raise Stop(Failure("%s failed: %s" % (what, tail(done.err or done.out, 6)), dict(stage="service files")))

    def do_trial(self, step, result, reason):
        failure = self.trial(step.args["release"])
        if failure:
            self.host.mark_bad(self.opts.path, step.args["release"], "failed its trial run before going live")
            result.update(marked_bad=step.args["release"], changed=True)
            raise Stop(Failure("%s failed its trial run, so it never went live and %s still serves: %s" % (
                step.args["release"], result["previous"] or "nothing", failure),
                dict(stage="health check", cause=failure)))

    def do_write_files(self, step, result, reason):
        for item in step.args["files"]:
            self.host.write_file(item["path"], item["content"], sp.file_mode(item))

    def do_daemon_reload(self, step, result, reason):
        self.must(self.host.systemctl("daemon-reload"), "systemctl --user daemon-reload")

    def do_enable(self, step, result, reason):
        units = [u for u in (self.opts.socket, self.opts.service) if u]
        self.must(self.host.systemctl("enable", "--quiet", *units), "systemctl --user enable")

    def do_socket(self, step, result, reason):
        if step.args["stop_service"]:
            self.host.systemctl("stop", self.opts.service)
        done = self.host.systemctl("restart" if step.args["restart"] else "start", self.opts.socket)
        if not done.ok:
            raise Stop(Failure(
                "%s could not take %s: %s. Something else holds that address (another environment "
                "or app?); give this environment its own bind (app_service_bind). Nothing was switched."
                % (self.opts.socket, self.opts.bind, tail(self.host.journal(self.opts.socket, 8) or done.err, 8)),
                dict(stage="socket")))

    def do_intent(self, step, result, reason):
        self.host.write_intent(self.opts.path, step.args["op"], step.args["previous"], step.args["target"],
                               self.opts.run)

    def do_record(self, step, result, reason):
        self.host.write_record(self.opts.path, step.args["release"], step.args["record"])

    def do_switch(self, step, result, reason):
        self.host.switch_current(self.opts.path, step.args["release"])

    def do_clear_bad(self, step, result, reason):
        self.host.clear_bad(self.opts.path, step.args["release"])

    def do_mark_bad(self, step, result, reason):
        self.host.mark_bad(self.opts.path, step.args["release"], reason or step.reason)
        result["marked_bad"] = step.args["release"]

    def do_log(self, step, result, reason):
        a = step.args
        self.host.append_log(self.opts.path, a["event"], a["release"], a["sha"], a["ref"], self.opts.deployer)

    def do_clear_intent(self, step, result, reason):
        self.host.clear_intent(self.opts.path)

    def do_reload(self, step, result, reason):
        # The master may have been replaced since it was observed (the trial takes seconds): HUP
        # only the master that is still the unit's, else restart.
        pid = step.args["pid"]
        if int(self.host.unit_state(self.opts.service).get("MainPID") or 0) == pid and self.host.hup(pid):
            result["reloaded"] = True
            return
        result["reloaded"] = False
        self.do_restart(step, result, reason)

    def do_restart(self, step, result, reason):
        # A release that crash-loops (Restart=on-failure) can hit systemd's start limit, and then
        # the socket unit fails with it (service-start-limit-hit) and refuses every connection:
        # clear both, and have the socket listening again, before this restart.
        units = [u for u in (self.opts.service, self.opts.socket) if u]
        self.host.systemctl("reset-failed", *units)
        if self.opts.socket and self.host.unit_state(self.opts.socket).get("ActiveState") != "active":
            self.host.systemctl("start", self.opts.socket)
        done = self.host.systemctl("restart", self.opts.service)
        result["restarted"] = True
        if not done.ok:
            health = dict(ok=False, seconds=0, status=None, pid=0, detail="systemctl --user restart %s failed: %s" % (
                self.opts.service, tail(done.err, 4)))
            result["health"] = health
            raise Unhealthy(health)

    def do_prove(self, step, result, reason):
        health = proof.prove(self.host, self.opts, step.args["release"])
        result["health"] = health
        if not health["ok"]:
            raise Unhealthy(health)

    def do_links(self, step, result, reason):
        for path, target in step.args["links"].items():
            self.host.make_link(path, target)

    def do_prune(self, step, result, reason):
        if self.host.isdir(self.opts.path):
            result["removed"], result["removed_venvs"] = self.host.prune(self.opts.path, step.args["keep"], False)
            result["changed"] = result["changed"] or bool(result["removed"] or result["removed_venvs"])

    def trial(self, release):
        return proof.trial(self.host, self.opts, release)
