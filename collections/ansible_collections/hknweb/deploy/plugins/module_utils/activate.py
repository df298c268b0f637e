# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The last stage of a deploy or rollback on the host (release_activate, release_rollback):
service files, socket, trial run, completion record, intent record, switch, reload or restart,
health proof, revert, links, prune, unlock."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from ansible_collections.hknweb.deploy.plugins.module_utils import master_death
from ansible_collections.hknweb.deploy.plugins.module_utils import compat as rp
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.host import (child_releases, die_with_parent, http_get,
                                                                         journal_tail,
                                                                         process_release, systemctl, tail,
                                                                         unit_state, user_environment)


def argument_spec():
    """release_activate's options (release_rollback takes the service ones too)."""
    return dict(
        path=dict(type="path", required=True),
        mode=dict(type="str", default="deploy", choices=["deploy", "rollback", "ensure"]),
        release=dict(type="str"),
        record=dict(type="dict", default={}),
        mark_previous_bad=dict(type="bool", default=True),
        files=dict(type="list", elements="dict", default=[]),
        service=dict(type="str", required=True),
        socket=dict(type="str", default=""),
        bind=dict(type="str", required=True),
        health_path=dict(type="str", default="/"),
        health_host=dict(type="str", default="localhost"),
        health_timeout=dict(type="int", default=60),
        restart=dict(type="bool", default=False),
        trial=dict(type="dict", default={}),
        links=dict(type="list", elements="dict", default=[]),
        deployer=dict(type="str", default="unknown"),
        ref=dict(type="str", default=""),
        run=dict(type="str", default=""),
        prune=dict(type="bool", default=False),
        keep=dict(type="raw", default=5),
        unlock=dict(type="bool", default=False),
        lease=dict(type="dict", default=None),  # lock.LEASE_OPTION: renewed in release_activate's main
        reload=dict(type="bool", default=True),
    )


class Activate:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.path = self.p["path"]
        self.result = dict(changed=False, switched=False, restarted=False, restart_reasons=[],
                           files_changed=[], socket_note="", reverted=False, marked_bad=None,
                           health=None, diff=[], removed=[], removed_venvs=[], unlocked=False,
                           links_changed=[], reloaded=False)
        self.trial_passed = False
        # Rendered before the home was known (a rollback's one round trip): the mark stands for it.
        home = os.path.expanduser("~")
        self.files = [dict(item, path=item["path"].replace(rp.HOME_MARK, home),
                           content=item["content"].replace(rp.HOME_MARK, home)) for item in self.p["files"]]

    def release_path(self, name):
        return os.path.realpath(os.path.join(self.path, rp.RELEASES_DIR, name))

    # --- files, units and the socket ----------------------------------------------------

    def write_files(self):
        units = False
        for item in self.files:
            path, content = item["path"], item["content"]
            mode = int(str(item.get("mode") or "0644"), 8)
            try:
                with open(path, encoding="utf-8") as handle:
                    before = handle.read()
            except OSError:
                before = None
            same_mode = before is not None and (os.stat(path).st_mode & 0o7777) == mode
            if before == content and same_mode:
                continue
            self.result["files_changed"].append(path)
            self.result["diff"].append(dict(before_header=path, after_header=path,
                                            before=before or "", after=content))
            if item.get("unit"):
                units = True
            if not self.check:
                os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
                temp = path + ".tmp-deploy"
                with open(temp, "w", encoding="utf-8") as handle:
                    handle.write(content)
                os.chmod(temp, mode)
                os.rename(temp, path)
        if self.result["files_changed"]:
            self.result["changed"] = True
        if units and not self.check:
            self.must(systemctl("daemon-reload"), "systemctl --user daemon-reload")
        return units

    def must(self, done, what):
        if not done.ok:
            self.fail("%s failed: %s" % (what, tail(done.err or done.out, 6)), stage="service files")
        return done

    def enable(self):
        units = [u for u in (self.p["socket"], self.p["service"]) if u]
        states = systemctl("is-enabled", *units).out.split()
        if len(states) == len(units) and all(s == "enabled" for s in states):
            return
        if not self.check:
            self.must(systemctl("enable", "--quiet", *units), "systemctl --user enable")

    def ensure_socket(self, socket_changed):
        """The socket unit must hold the socket before anything goes live."""
        sock, service = self.p["socket"], self.p["service"]
        if not sock:
            return
        active = unit_state(sock).get("ActiveState") == "active"
        if active and not socket_changed:
            return
        if unit_state(service).get("ActiveState") in ("active", "activating", "reloading"):
            note = ("the socket's definition changed: restarting %s (connections are refused for a "
                    "moment, once)" % sock) if active else (
                "moving %s to socket activation: it is stopped so %s can take its socket (connections "
                "are refused for a moment, once; later restarts refuse none)" % (service, sock))
        else:
            note = "starting %s" % sock
        self.result["socket_note"] = note
        self.result["restart_reasons"].append(note)
        if self.check:
            return
        if not active:
            systemctl("stop", service)
        done = systemctl("restart" if active else "start", sock)
        if not done.ok:
            self.fail(
                "%s could not take %s: %s. Something else holds that address (another environment "
                "or app?); give this environment its own bind (app_service_bind). Nothing was switched."
                % (sock, self.p["bind"], tail(journal_tail(sock, 8) or done.err, 8)),
                stage="socket")

    # --- restart and proof -------------------------------------------------------------

    def restart(self):
        # A release that crash-loops (Restart=on-failure) can hit systemd's start limit, and then
        # the socket unit fails with it (service-start-limit-hit) and refuses every connection:
        # clear both, and have the socket listening again, before this restart.
        units = [u for u in (self.p["service"], self.p["socket"]) if u]
        systemctl("reset-failed", *units)
        if self.p["socket"] and unit_state(self.p["socket"]).get("ActiveState") != "active":
            systemctl("start", self.p["socket"])
        done = systemctl("restart", self.p["service"])
        self.result["restarted"] = True
        return done

    def reloadable(self, release):
        """gunicorn's master may stay and only its workers change (HUP) when nothing but the code
        changes: the service's files and environment are the same, the release proved it answers,
        and it uses the venv the running master was started from (same interpreter and packages).
        New workers then import the app through `current` (the master cds there again on a
        reload); no request waits for a master to boot. Returns the master's pid, or 0 when a
        restart is needed."""
        if not self.p["reload"] or self.p["restart"] or self.result["files_changed"] or self.result["socket_note"]:
            return 0
        # Only a release known to answer (its trial run, or, for a rollback, its time live) is
        # reloaded into the running master; an unproven one gets a full restart.
        if self.p["mode"] == "deploy" and not self.trial_passed:
            return 0
        state = unit_state(self.p["service"])
        pid = int(state.get("MainPID") or 0)
        running = process_release(pid) if pid and state.get("SubState") == "running" else None
        if not running:
            return 0
        same_venv = os.path.realpath(os.path.join(running, rp.VENV_LINK)) == \
            os.path.realpath(os.path.join(self.release_path(release), rp.VENV_LINK))
        return pid if same_venv else 0

    @staticmethod
    def died(state, pid=None):
        """Why the service will not answer (it started and exited, or its master was replaced
        since `pid` was asked), or None. A master killed from outside is not a bad release: the
        health check waits for systemd to start it again (module_utils/master_death.py)."""
        if master_death.killed_from_outside(state):
            return None
        if state.get("SubState") in ("auto-restart", "failed", "dead") or state.get("ActiveState") == "failed":
            return "the service exited after it started (%s/%s)" % (state.get("ActiveState"), state.get("SubState"))
        if pid and int(state.get("MainPID") or 0) not in (0, pid):
            return "the service exited after it started (its master %d was replaced by %s)" % (
                pid, state.get("MainPID"))
        return None

    def prove(self, release):
        """Poll until healthy or out of time; returns the health dict."""
        expected = self.release_path(release)
        deadline = time.monotonic() + max(1, int(self.p["health_timeout"]))
        started = time.monotonic()
        detail, status, delay, last_status = "not checked yet", None, 0.05, None
        while True:
            state = unit_state(self.p["service"])
            pid = int(state.get("MainPID") or 0)
            running = process_release(pid) if pid else None
            died = self.died(state)
            if died:
                # It started and died (a worker failed to boot): waiting longer only makes the
                # queued requests wait, so put the previous release back now.
                return dict(ok=False, seconds=round(time.monotonic() - started, 2), status=None, pid=pid,
                            detail=died)
            if state.get("ActiveState") != "active" or not pid:
                detail = "the unit is %s (%s)" % (state.get("ActiveState"), state.get("SubState"))
            elif running != expected:
                detail = "the running process (pid %d) is in %s, not in the release %s" % (pid, running, release)
            elif any(worker != expected for worker in child_releases(pid)):
                detail = "workers of the release before are still finishing their requests"
            elif not self.p["health_path"]:
                return dict(ok=True, seconds=round(time.monotonic() - started, 2), status=None,
                            detail="active, running %s" % release, pid=pid)
            else:
                # The question waits in the socket's queue while gunicorn boots; it must not
                # also wait there for a master that died meanwhile (a worker failed to boot).
                gone = []

                def give_up(pid=pid, gone=gone):
                    gone.append(self.died(unit_state(self.p["service"]), pid))
                    return gone[-1]

                status, answer = http_get(self.p["bind"], self.p["health_path"], self.p["health_host"],
                                          give_up=give_up)
                if gone and gone[-1]:
                    return dict(ok=False, seconds=round(time.monotonic() - started, 2), status=None, pid=pid,
                                detail=gone[-1])
                if status == 200:
                    # Ask the unit again: a worker that fails to boot makes the master exit.
                    again = unit_state(self.p["service"])
                    if again.get("ActiveState") == "active" and int(again.get("MainPID") or 0) == pid:
                        return dict(ok=True, seconds=round(time.monotonic() - started, 2), status=200,
                                    detail="GET %s answered 200 from %s (pid %d)" % (
                                        self.p["health_path"], release, pid), pid=pid)
                detail = ("GET %s with Host %s answered %s: %s" % (
                    self.p["health_path"], self.p["health_host"], status, " ".join(answer.split())[:200])
                    if status else "GET %s: %s" % (self.p["health_path"], answer))
                if status and status == last_status:
                    # The app itself answered, twice, and not 200: it will not get better by
                    # waiting, and meanwhile it answers real requests the same way.
                    return dict(ok=False, seconds=round(time.monotonic() - started, 2), status=status,
                                detail=detail, pid=pid)
                last_status = status
            if time.monotonic() >= deadline:
                return dict(ok=False, seconds=round(time.monotonic() - started, 2), status=status,
                            detail=detail, pid=pid)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.1)  # a restart takes about a second: look often

    def trial(self, release):
        """Boot the new release on a private socket and ask it; None when it answers 200, else why."""
        spec = self.p["trial"]
        if not spec or not self.p["health_path"]:
            return None
        folder = self.release_path(release)
        sock = layout.trial_socket(self.path, os.getpid())
        argv = [layout.venv_program(folder, "gunicorn")] + [str(a) for a in spec.get("args") or []] + [
            "--bind", "unix:" + sock, "--workers", "1"]
        env = user_environment({str(k): str(v) for k, v in (spec.get("environment") or {}).items()})
        deadline = time.monotonic() + max(1, int(self.p["health_timeout"]))
        detail = "it did not start"
        with tempfile.TemporaryFile() as log:
            # Its own session (a stop kills the whole group), and it dies with this module: a run
            # killed during its trial leaves no gunicorn behind (deploy_begin also sweeps leftovers).
            proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=log, stderr=log, preexec_fn=die_with_parent)
            try:
                delay = 0.05
                while time.monotonic() < deadline:
                    if proc.poll() is not None:
                        detail = "gunicorn exited with %s before it answered" % proc.returncode
                        break
                    if os.path.exists(sock):
                        status, answer = http_get("unix:" + sock, self.p["health_path"], self.p["health_host"])
                        if status == 200:
                            self.trial_passed = True
                            return None
                        if status:
                            detail = "GET %s with Host %s answered %s: %s" % (
                                self.p["health_path"], self.p["health_host"], status, " ".join(answer.split())[:200])
                            break
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.1)
                else:
                    detail = "no answer within %ss" % self.p["health_timeout"]
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()
                if os.path.exists(sock):
                    os.unlink(sock)
            log.seek(0)
            output = log.read().decode("utf-8", "replace")
        return "%s. gunicorn's last lines:\n%s" % (detail, tail(output, 20))

    def restart_and_prove(self, release, reload=False):
        pid = self.reloadable(release) if reload else 0
        if pid:
            try:
                os.kill(pid, signal.SIGHUP)
                self.result["reloaded"] = True
                self.result["restart_reasons"].append(
                    "graceful reload (gunicorn HUP): same venv and service files, so only the workers change")
                return self.prove(release)
            except ProcessLookupError:
                pass  # it just exited: restart it
        done = self.restart()
        if not done.ok:
            return dict(ok=False, seconds=0, status=None, pid=0,
                        detail="systemctl --user restart %s failed: %s" % (self.p["service"], tail(done.err, 4)))
        return self.prove(release)

    # --- the modes ------------------------------------------------------------------------

    def check_links(self):
        for link in self.p["links"]:
            path = os.path.expanduser(link["path"])
            if os.path.lexists(path) and not os.path.islink(path):
                self.fail("%s exists and is not a link (a shared STATIC_ROOT of an older deploy?). The deploy "
                          "never deletes it: move it away (mv %s %s.old) or drop the link setting. Nothing was "
                          "switched." % (path, path, path), stage="links")

    def make_links(self):
        for link in self.p["links"]:
            path = os.path.expanduser(link["path"])
            if os.path.islink(path) and os.readlink(path) == link["target"]:
                continue
            self.result["links_changed"].append(path)
            self.result["changed"] = True
            if self.check:
                continue
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            temp = "%s.tmp-deploy" % path
            if os.path.lexists(temp):
                os.unlink(temp)
            os.symlink(link["target"], temp)
            os.rename(temp, path)

    def needs_restart(self, live, files_changed_service):
        reasons = self.result["restart_reasons"]
        if self.p["restart"]:
            reasons.append("asked for (shared files changed, or a killed run was undone)")
        if files_changed_service:
            reasons.append("the service's files changed")
        state = unit_state(self.p["service"])
        pid = int(state.get("MainPID") or 0)
        if state.get("ActiveState") != "active" or not pid:
            reasons.append("the service is %s" % (state.get("ActiveState") or "not loaded"))
        elif live and process_release(pid) != self.release_path(live):
            reasons.append("it runs %s, not the live release %s" % (
                os.path.basename(process_release(pid) or "?"), live))
        return bool(reasons)

    def end(self):
        """Prune after a success (the caller asks), then give the lock back."""
        if self.check or not self.p["unlock"]:
            return
        self.result["unlocked"] = rp.give_lock(self.path, self.p["run"])

    def prune(self):
        if not self.p["prune"] or not os.path.isdir(self.path):
            return
        _, removed, venvs, _ = rp.prune(self.path, self.p["keep"], self.check)
        self.result["removed"], self.result["removed_venvs"] = removed, venvs
        if removed or venvs:
            self.result["changed"] = True

    def fail(self, msg, **extra):
        self.end()
        result = dict(self.result)
        result.update(extra)
        if not self.module._diff:
            result.pop("diff", None)
        self.module.fail_json(msg=msg, **result)

    def __call__(self):
        mode, target = self.p["mode"], self.p["release"]
        if self.check and not os.path.isdir(self.path):
            # A dry run before the first deploy: say what would happen, touch nothing.
            self.result.update(previous=None, live=target, switched=bool(target), changed=True,
                               files_changed=[f["path"] for f in self.files],
                               restart_reasons=["first deploy: %s would be created and started" % self.p["service"]])
            return self.result
        inventory = rp.scan(self.path)
        live = inventory.require_live()
        self.result["previous"] = live
        self.result["live"] = live
        self.check_links()
        if mode == "deploy" and not self.check and target != live:
            # Before anything the live service depends on changes (files, socket, current).
            failure = self.trial(target)
            if failure:
                rp.mark_bad(self.release_path(target), "failed its trial run before going live")
                self.result.update(live=live, marked_bad=target, changed=True)
                self.fail("%s failed its trial run, so it never went live and %s still serves: %s" % (
                    target, live or "nothing", failure), stage="health check", cause=failure)
        service_files = [f["path"] for f in self.files]
        self.write_files()
        socket_changed = any(p.endswith("/" + self.p["socket"]) for p in self.result["files_changed"]) \
            if self.p["socket"] else False
        self.enable()
        self.ensure_socket(socket_changed)
        if mode == "ensure" or target == live:
            changed_service = [p for p in self.result["files_changed"] if p in service_files]
            if not self.needs_restart(live, changed_service):
                health = self.prove(live) if (live and not self.check) else None
                self.result["health"] = health
                return self.finish_ensure(health, live)
            if self.check:
                return self.result
            health = self.restart_and_prove(live) if live else None
            self.result["health"] = health
            return self.finish_ensure(health, live)

        release = inventory.get(target)
        if release is None and not (self.check and mode == "deploy"):
            self.fail("%s is not a release in %s" % (target, self.path))
        self.result["switched"] = True
        self.result["changed"] = True
        self.result["restart_reasons"].append("%s goes live" % target)
        self.result["diff"].append(dict(before_header="current", after_header="current",
                                        before="current -> %s\n" % live, after="current -> %s\n" % target))
        if self.check:
            self.result["live"] = target
            return self.result
        # The intent first: a run that dies after the completion record is written finds an intent
        # record, so the next run marks that never-proven release bad instead of taking it as good.
        rp.write_intent(self.path, mode, live, target, "switching", self.p["run"])
        if mode == "deploy" and self.p["record"]:
            rp.write_record(self.release_path(target), self.p["record"])
        rp.switch_current(self.path, target)
        record = self.p["record"] or release.record or {}
        sha = record.get("sha") or release.revision
        if mode == "rollback":
            if release.state == rp.BAD:
                rp.clear_bad(self.release_path(target))
            if self.p["mark_previous_bad"] and live and live != target:
                rp.mark_bad(self.release_path(live), "rolled back by %s" % self.p["deployer"])
                self.result["marked_bad"] = live
        rp.append_log(self.path, rp.log_line(mode, target, sha, self.p["ref"] or record.get("ref"),
                                             self.p["deployer"]))
        health = self.restart_and_prove(target, reload=True)
        self.result["health"] = health
        if health["ok"]:
            rp.clear_intent(self.path)
            self.result["live"] = target
            return self.result
        return self.revert(target, live, health)

    def finish_ensure(self, health, live):
        if health is not None and not health["ok"]:
            self.fail("%s does not come up on %s: %s.\nIts journal:\n%s" % (
                self.p["service"], live, health["detail"], journal_tail(self.p["service"])),
                stage="health check", journal=journal_tail(self.p["service"]))
        return self.result

    def revert(self, target, previous, health):
        journal = journal_tail(self.p["service"])
        cause = "%s failed its health check after %ss (of %ss allowed): %s" % (
            target, health["seconds"], self.p["health_timeout"], health["detail"])
        self.result["reverted"] = bool(previous)
        previous_was_marked = previous is not None and self.result["marked_bad"] == previous
        rp.mark_bad(self.release_path(target), "failed its health check: " + health["detail"])
        self.result["marked_bad"] = target
        if not previous:
            rp.clear_intent(self.path)
            self.fail("%s. It was the first release; there is nothing to go back to, so it stays "
                      "current, marked bad.\nThe unit's journal:\n%s" % (cause, journal),
                      stage="health check", journal=journal, live=target)
        if previous_was_marked:
            rp.clear_bad(self.release_path(previous))  # the rollback's mark on it is undone
        rp.switch_current(self.path, previous)
        rp.append_log(self.path, rp.log_line("revert", previous, "", "", self.p["deployer"]))
        back = self.restart_and_prove(previous)
        rp.clear_intent(self.path)
        self.result["live"] = previous
        self.result["health_after_revert"] = back
        self.fail("%s. %s is live again%s; %s is marked bad and kept for inspection.\n"
                  "The unit's journal:\n%s" % (
                      cause, previous, "" if back["ok"] else
                      " but does not answer either (%s)" % back["detail"], target, journal),
                  stage="health check", journal=journal, cause=cause)


