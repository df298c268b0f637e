# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The first stage of a run on the host (deploy_begin, and release_rollback's first half):
linger and user-manager checks, layout, lock, undo of a killed run, shared and home files, mirror,
ref, commit files, interpreter probes; or, for a rollback, the choice and check of the target."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import stat
import uuid

from ansible_collections.hknweb.deploy.plugins.module_utils import env_paths, lock_wait, pending
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import binds, environments
from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils.refs import ref_problem, shown
from ansible_collections.hknweb.deploy.plugins.module_utils.host import redact_url, run, sweep_trials, tail
from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import PROBE


TEXT_LIMIT = 512 * 1024


class Refusal(Exception):
    """Stop the run: the message says what and how to fix it."""


def _template_options():
    return dict(path=dict(type="str", required=True),
                content=dict(type="str", required=True, no_log=True),
                mode=dict(type="str", default="0600"))


def argument_spec():
    return dict(
        path=dict(type="str", required=True),
        mode=dict(type="str", default="deploy", choices=["deploy", "rollback", "status", "doctor"]),
        bind=dict(type="str", default=""),
        socket_unit=dict(type="str", default=""),
        unit=dict(type="str", default=""),
        environment=dict(type="str", default=""),
        repo_url=dict(type="str", no_log=True),
        ref=dict(type="str"),
        force=dict(type="bool", default=False),
        run=dict(type="str", required=True),
        holder=dict(type="str", default="unknown"),
        purpose=dict(type="str", default="deploy"),
        break_lock=dict(type="bool", default=False),
        lease=dict(type="int", default=300),
        lock_wait=dict(type="int", default=0),
        shared_dirs=dict(type="list", elements="str", default=[]),
        shared_files=dict(type="list", elements="str", default=[]),
        shared_files_create=dict(type="list", elements="str", default=[]),
        # Only the content is secret: the paths are linked into releases and reported.
        shared_templates=dict(type="list", elements="dict", default=[], options=_template_options()),
        home_templates=dict(type="list", elements="dict", default=[], options=_template_options()),
        commit_files=dict(type="list", elements="str", default=[]),
        # Paths later stages write (app_static_link): resolved and checked here, before the first change.
        writes=dict(type="list", elements="dict", default=[], options=dict(variable=dict(type="str", required=True),
                                                                          path=dict(type="str", required=True))),
        interpreters=dict(type="list", elements="str", default=[]),
        release=dict(type="str"),
    )


class Begin:
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.path = os.path.abspath(os.path.expanduser(self.p["path"]))
        self.mirror = os.path.join(self.path, "repo")
        self.result = dict(changed=False, deploy_path=self.path, home=os.path.expanduser("~"), check_mode=self.check,
                           uid=os.getuid(), user=pwd.getpwuid(os.getuid()).pw_name,
                           recovered=None, restart_required=False, shared_changed=[], shared_created=[],
                           lock=None, lock_broken=None, lease=None, venvs=[])
        self.secret = self._secret()

    # --- messages never carry the repository's credentials -------------------------------

    def _secret(self):
        match = re.match(r"[A-Za-z][A-Za-z0-9+.-]*://([^/@\s]+)@", self.p["repo_url"] or "")
        return match.group(1) if match else None

    def clean(self, text):
        text = redact_url(text)
        if self.secret:
            text = text.replace(self.secret, "***")
        return text

    def git(self, *args, check=True, cwd=None):
        done = run(["git"] + list(args), cwd=cwd)
        if check and not done.ok:
            raise Refusal("git %s failed: %s" % (args[0] if args[0] != "-C" else args[2],
                                                 self.clean(tail(done.err, 8))))
        return done

    # --- stages --------------------------------------------------------------------------

    def layout(self):
        if self.check or self.p["mode"] == "status":
            return
        for folder in (self.path, os.path.join(self.path, rp.RELEASES_DIR),
                       os.path.join(self.path, "shared"), os.path.join(self.path, rp.VENVS_DIR)):
            if not os.path.isdir(folder):
                os.makedirs(folder, 0o755, exist_ok=True)
                self.result["changed"] = True

    def lock(self):
        self.result["lock"] = lock_.read_lock(self.path) if os.path.isdir(self.path) else None
        if self.check or self.p["mode"] == "status":
            return
        self.result["lock_broken"], self.result["lock_waited"] = lock_wait.take(
            lambda: lock_.take_lock(self.path, self.p["holder"], self.p["purpose"], self.p["run"],
                                    lease=self.p["lease"], break_stale=self.p["break_lock"]), self.p["lock_wait"])
        self.result["lease"] = lock_.lease_of(self.path, self.p["run"], self.p["lease"])
        self.result["locked"] = True

    def recover(self, inventory):
        intent = rp.read_intent(self.path) if os.path.isdir(self.path) else None
        if not intent:
            return inventory
        restore, bad = rp.plan_recovery(intent, inventory.releases, inventory.live)
        done = dict(intent=intent, restored=restore, marked_bad=bad)
        if not self.check and self.p["mode"] != "status":
            if restore:
                rp.switch_current(self.path, restore)
                rp.append_log(self.path, rp.log_line("recover", restore, "", "",
                                                     "undo of an interrupted %s" % intent.get("op")))
            if bad:
                rp.mark_bad(os.path.join(self.path, rp.RELEASES_DIR, bad),
                            "an interrupted deploy switched to it; never proven healthy")
            rp.clear_intent(self.path)
            self.result["changed"] = True
        self.result["recovered"] = done
        self.result["restart_required"] = True
        return rp.scan(self.path) if not self.check else inventory

    def shared(self):
        self.result["shared_entries"] = self.check_inputs()
        shared = os.path.join(self.path, "shared")
        home = os.path.expanduser("~")
        for variable, folder, prefix in (("deploy_shared_templates", shared, ""), ("deploy_home_templates", home, "~/")):
            for template in self.p[variable[len("deploy_"):]]:
                if self._bring_up_to_date(variable, os.path.join(folder, template["path"]), template):
                    self.result["shared_changed"].append(prefix + template["path"])
        for folder in self.p["shared_dirs"]:
            if not os.path.isdir(os.path.join(shared, folder)) and not self.check:
                os.makedirs(os.path.join(shared, folder), 0o755, exist_ok=True)
        for name in self.p["shared_files_create"]:
            target = os.path.join(shared, name)
            if not os.path.lexists(target):
                self.result["shared_created"].append(name)
                if not self.check:
                    os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
                    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                    self.result["changed"] = True
        missing = [f for f in self.p["shared_files"] if not os.path.lexists(os.path.join(shared, f))]
        if missing:
            raise Refusal(
                "shared file(s) %s missing in %s. Put each there once, list it in deploy_shared_files_create "
                "when the deploy should create it empty (a SQLite database), or in deploy_shared_templates "
                "when the deploy should write it from a variable on every run." % (", ".join(missing), shared))
        if self.result["shared_changed"]:
            self.result["changed"] = True
            self.result["restart_required"] = True

    def check_inputs(self):
        """Every shared and home entry, refused before anything changes."""
        rp.check_home_templates(self.p["home_templates"])
        entries = rp.check_shared(self.p["shared_dirs"], self.p["shared_files"], self.p["shared_templates"],
                                  self.p["shared_files_create"])
        problems = env_paths.check_writes(self.path, self.result["home"], [t["path"] for t in self.p["home_templates"]],
                                          [t["path"] for t in self.p["shared_templates"]], self.p["writes"] or [],
                                          venvs=self.p["mode"] == "deploy")
        if problems:
            raise Refusal("; ".join(problems) + ". Nothing was changed.")
        return entries

    def _bring_up_to_date(self, variable, target, template):
        """Write one template when its content or mode differs; True when it did (or would)."""
        mode = int(str(template.get("mode") or "0600"), 8)
        content = template.get("content")
        if not isinstance(content, str):
            raise Refusal("%s entry %r has no text content" % (variable, template["path"]))
        if _same_file(target, content, mode):
            return False
        if not self.check:
            os.makedirs(os.path.dirname(target), 0o700, exist_ok=True)
            _write_private(target, content, mode)
        return True

    def fetch(self):
        url = self.p["repo_url"]
        has_mirror = os.path.exists(os.path.join(self.mirror, "HEAD"))
        if self.check:
            return has_mirror
        if not has_mirror:
            old = os.umask(0o077)
            try:
                self.git("clone", "--mirror", "--quiet", url, self.mirror)
            finally:
                os.umask(old)
            self.result["changed"] = True
        else:
            # Fetch from the URL itself (the mirror's refspec), and record a changed URL only once
            # that worked: a wrong URL (or a token) given for one run never sticks in repo/config.
            self.git("-C", self.mirror, "fetch", "--prune", "--quiet", url, "+refs/*:refs/*")
            if self.git("-C", self.mirror, "config", "remote.origin.url", check=False).out.strip() != url:
                self.git("-C", self.mirror, "remote", "set-url", "origin", url)
        os.chmod(self.mirror, 0o700)  # the URL in repo/config may carry a token
        return True

    def resolve(self, has_mirror):
        ref = self.p["ref"]
        sha = None
        if has_mirror:
            done = self.git("-C", self.mirror, "rev-parse", "--verify", "--quiet", "--end-of-options",
                            ref + "^{commit}", check=False)
            sha = done.out.strip() if done.ok else None
        if self.check:
            # The mirror is not fetched in check mode: ask the remote where the ref points now.
            remote = self.git("ls-remote", "--", self.p["repo_url"], ref, "refs/tags/%s^{}" % ref, check=False)
            found = [line.split("\t") for line in remote.out.splitlines() if "\t" in line]
            peeled = [sha_ for sha_, name in found if name.endswith("^{}")]
            if peeled or found:
                sha = (peeled or [found[0][0]])[0]
            elif not remote.ok:
                raise Refusal("cannot reach the repository: %s" % self.clean(tail(remote.err, 5)))
        if not sha:
            raise Refusal(
                "the ref %r is not a branch, tag or commit of the repository %s. Check the name "
                "(-e revision=...), or push it first." % (ref, self.clean(self.p["repo_url"])))
        self.result["sha"] = sha
        subject = ""
        if has_mirror:
            subject = self.git("-C", self.mirror, "log", "-1", "--format=%s", sha, check=False).out.strip()
        self.result["subject"] = subject or "(commit not fetched yet)"
        return sha if has_mirror and subject else None

    def commit_files(self, sha):
        files = {}
        for name in self.p["commit_files"]:
            entry = dict(exists=False, sha256=None, text=None)
            if sha:
                done = run(["git", "-C", self.mirror, "cat-file", "blob", "%s:%s" % (sha, name)])
                if done.ok:
                    data = done.out
                    entry.update(exists=True, sha256=hashlib.sha256(data.encode("utf-8", "replace")).hexdigest())
                    if name.endswith((".toml", ".txt", ".in")) and len(data) <= TEXT_LIMIT:
                        entry["text"] = data
            files[name] = entry
        self.result["files"] = files
        self.result["files_known"] = bool(sha)

    def probe(self):
        found = {}
        for name in self.p["interpreters"]:
            done = run([name, "-c", PROBE])
            entry = dict(found=False, error="", executable=None, version=None, environment={}, venv=False)
            if done.ok:
                try:
                    data = json.loads(done.out)
                    entry.update(found=True, executable=data["executable"], venv=data["venv"],
                                 environment=data["environment"],
                                 version=data["environment"]["python_full_version"])
                except (ValueError, KeyError):
                    entry["error"] = "unexpected answer: %s" % tail(done.out, 2)
            else:
                entry["error"] = tail(done.err, 3) or "exit %d" % done.rc
            found[name] = entry
        self.result["interpreters"] = found

    def choose_rollback(self, inventory):
        live = inventory.require_live()
        target = rp.choose_rollback(inventory.releases, live, self.p["release"])
        folder = os.path.join(self.path, rp.RELEASES_DIR, target)
        missing = [p for p in ("venv/bin/python", "venv/bin/gunicorn") if not os.path.exists(os.path.join(folder, p))]
        if missing:
            raise Refusal("release %s cannot run: %s missing (its venv was removed?). Choose another "
                          "with -e release=<name> (releases.yml lists them)." % (target, ", ".join(missing)))
        self.result["target"] = _describe_one(inventory, target)
        self.result["direction"] = "back" if target < live else ("none" if target == live else "forward")

    def host_checks(self):
        """What the host must offer before anything is written: lingering and the user manager."""
        user = self.result["user"]
        if not os.path.exists("/var/lib/systemd/linger/%s" % user):
            raise Refusal("lingering is off for %s: the app would stop when you log out and the deploy could "
                          "not manage it. Ask root to run once: sudo loginctl enable-linger %s (on apphost the "
                          "OCF does this). Nothing was changed." % (user, user))
        done = run(["systemctl", "--user", "show-environment"])
        if not done.ok:
            raise Refusal("systemctl --user does not reach %s's user manager (%s). It needs lingering and "
                          "XDG_RUNTIME_DIR=/run/user/%d. Nothing was changed." % (user, tail(done.err, 2), os.getuid()))

    def bind_verdict(self):
        return binds.check(self.p["bind"], self.p["unit"], self.p["socket_unit"], self.path, self.result["user"])

    def claim_bind(self, verdict):
        """Under the lock: mend our socket unit when it no longer owns its address, and record this
        environment's unit and bind in the account's registry (what the next run of any other
        environment checks against)."""
        self.result["bind"] = dict(detail=verdict.detail, repaired=False)
        if self.check:
            return
        if verdict.repair:
            error = binds.repair(self.p["socket_unit"])
            if error:
                raise Refusal("%s; restarting it failed: %s" % (verdict.detail, error))
            self.result["bind"]["repaired"] = True
            self.result.update(changed=True, restart_required=True)
        fields = dict(environment=self.p["environment"], unit=self.p["unit"], socket_unit=self.p["socket_unit"],
                      bind=self.p["bind"])
        environments.update(self.path, {name: value for name, value in fields.items() if value})

    def doctor(self):
        """Every check a deploy depends on, none of them stopping the others; nothing is written."""
        checks = self.result["checks"] = []

        def check(name, func):
            try:
                detail = func()
                checks.append(dict(name=name, ok=True, detail=detail or "ok", fix=""))
            except Refusal as problem:
                text, _, fix = str(problem).partition(" FIX: ")
                checks.append(dict(name=name, ok=False, detail=self.clean(text), fix=self.clean(fix)))

        def linger():
            self.host_checks()
            return "lingering on; the user manager answers"

        def git():
            done = run(["git", "--version"])
            if not done.ok:
                raise Refusal("git is not installed on the host FIX: ask root: sudo apt install git")
            return done.out.strip()

        def disk():
            where = self.path if os.path.isdir(self.path) else os.path.dirname(self.path.rstrip("/"))
            while where and not os.path.isdir(where):
                where = os.path.dirname(where)
            info = os.statvfs(where)
            free = info.f_bavail * info.f_frsize // (1024 * 1024)
            if free < 1024:
                raise Refusal("only %d MiB free under %s; a release with a new venv needs a few hundred FIX: free "
                              "space (e.g. deploy with a smaller deploy_keep_releases, remove old files)" % (free, where))
            return "%d MiB free under %s" % (free, where)

        def repository():
            self.check = True  # resolve with ls-remote / the mirror, write nothing
            has_mirror = os.path.exists(os.path.join(self.mirror, "HEAD"))
            try:
                self.doctor_sha = self.resolve(has_mirror)
            except Refusal as problem:
                raise Refusal("%s FIX: check deploy_repo_url (a deploy key the host can use) and the ref "
                              "(-e revision=...)" % problem) from None
            return "%s is %s (%s)" % (self.p["ref"], self.result["sha"][:12], self.result["subject"])

        def shared():
            shared_dir = os.path.join(self.path, "shared")
            written = [t["path"] for t in self.p["shared_templates"]] + self.p["shared_files_create"]
            missing = [f for f in self.p["shared_files"]
                       if f not in written and not os.path.lexists(os.path.join(shared_dir, f))]
            if missing:
                raise Refusal("missing in %s: %s FIX: put each there once, or list it in deploy_shared_files_create "
                              "(created empty: a database) or deploy_shared_templates (written from a variable)" % (
                                  shared_dir, ", ".join(missing)))
            return "%d shared files present or made by the deploy" % len(self.p["shared_files"] + written)

        def bind():
            if not self.p["bind"]:
                return "not checked (no bind given)"
            verdict = self.bind_verdict()  # the deploy's own check (module_utils/binds.py)
            if not verdict.ok or verdict.repair:
                raise Refusal("%s: %s FIX: %s" % (verdict.variable, verdict.problem or verdict.detail, verdict.fix))
            return verdict.detail

        for name, func in (("linger and user manager", linger), ("git", git), ("free disk", disk),
                           ("repository and ref", repository), ("shared files", shared), ("bind", bind)):
            check(name, func)
        self.commit_files(getattr(self, "doctor_sha", None))
        self.probe()
        self.result["ok"] = all(c["ok"] for c in checks)

    # --- the whole stage -----------------------------------------------------------------

    def check_ref(self):
        """A ref that cannot be a git ref is refused before anything (it goes into the lock and the log)."""
        why = ref_problem(self.p["ref"]) if self.p["mode"] in ("deploy", "doctor") else None
        if why:
            raise Refusal("the ref %s (-e revision=, deploy_ref) cannot be a branch, tag or commit: %s. Give a "
                          "branch, tag or commit sha, e.g. -e revision=master. Nothing was changed."
                          % (shown(self.p["ref"]), why))

    def check_current(self, inventory):
        """`current` edited by hand (pointing at /tmp, a real folder) stops the run here, before
        anything is written or built, with the command that fixes it (env_paths.current_refusal)."""
        if inventory is not None:
            why = env_paths.current_refusal(inventory)
            if why:
                raise Refusal(why)

    def check_rollback_target(self, inventory):
        """A rollback stays read-only until it knows it has a target: no deploy path, nothing live or
        nothing to go to stops it before any folder, lock or shared file is written."""
        if inventory is None:
            raise Refusal("nothing was ever deployed to %s, so there is no release to roll back to: deploy "
                          "first. Nothing was changed." % self.path)
        if rp.read_intent(self.path):
            return  # a killed run is undone first, under the lock; the target is chosen after that
        self.result["live"] = _describe_one(inventory, inventory.live) if inventory.live else None  # for the ending
        try:
            rp.choose_rollback(inventory.releases, inventory.live, self.p["release"])
        except rp.ReleaseError as error:
            raise Refusal("%s. Nothing was changed." % str(error).rstrip(".")) from None

    def __call__(self):
        mode = self.p["mode"]
        self.check_ref()
        if mode == "doctor":
            self.doctor()
            return self.result
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise Refusal("deploy_path %s exists and is not a folder. Nothing was changed." % self.path)
        # One read of the tree before anything is written, for the two checks that need it (the tree is
        # read again under the lock, where another run can no longer change it).
        before = rp.scan(self.path) if mode != "status" and os.path.isdir(self.path) else None
        if mode != "status":
            self.check_inputs()
            self.host_checks()
            self.check_current(before)
        if mode == "rollback":
            self.check_rollback_target(before)  # nothing to roll back to is the first thing to say
        verdict = self.bind_verdict() if mode != "status" and self.p["bind"] else None
        if verdict and not verdict.ok:
            raise Refusal(verdict.refusal())
        self.layout()
        self.lock()
        if mode != "status" and self.p["bind"]:
            self.claim_bind(verdict)
        inventory = rp.scan(self.path) if os.path.isdir(self.path) else rp.Inventory(deploy_path=self.path)
        self.result["live"] = _describe_one(inventory, inventory.live) if inventory.live else None
        inventory = self.recover(inventory)
        if mode != "status":
            if not self.check and os.path.isdir(self.path):
                self.result["swept_trials"] = sweep_trials(self.path)
            self.shared()
        self.result["venvs"] = rp.venv_keys(self.path, complete_only=True)
        if mode == "deploy":
            sha = self.resolve(self.fetch())
            live = inventory.get(inventory.live) if inventory.live else None
            self.result["needed"] = bool(self.p["force"] or live is None or live.revision != self.result["sha"]
                                         or live.state != rp.GOOD)
            self.commit_files(sha)
            self.probe()
            self.result["pending"] = pending.between(run, self.mirror, live.revision if live else None, self.result["sha"])
        elif mode == "rollback":
            self.choose_rollback(inventory)
            self.result["pending"] = pending.between(run, self.mirror, (self.result["live"] or {}).get("revision"),
                                                     self.result["target"].get("revision"))
        if mode == "status":
            self.result["intent"] = rp.read_intent(self.path) if os.path.isdir(self.path) else None
            self.result["log_tail"] = rp.log_tail(self.path) if os.path.isdir(self.path) else []
        self.result["live"] = _describe_one(inventory, inventory.live) if inventory.live else None
        self.result["releases"] = rp.describe(self.path, inventory.releases, inventory.live, inventory.log)
        self.result["rollback_target"] = rp.rollback_target(inventory.releases, inventory.live)
        return self.result


def _describe_one(inventory, name):
    for entry in rp.describe(inventory.deploy_path, inventory.releases, inventory.live, inventory.log):
        if entry["name"] == name:
            return entry
    return None


def _same_file(path, content, mode):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != mode:
        return False
    with open(path, "rb") as handle:
        return handle.read() == content.encode("utf-8")


def _write_private(path, content, mode):
    temp = "%s.tmp-%s" % (path, uuid.uuid4().hex)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(temp, mode)
    os.rename(temp, path)


