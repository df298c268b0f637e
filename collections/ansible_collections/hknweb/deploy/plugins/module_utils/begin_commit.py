# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The commit a deploy goes to, as steps of Begin: the mirror fetched (in check mode and for the doctor
the remote is asked instead), the ref resolved, the commit's files and the host's interpreters read.
Every message is cleaned of the repository's credentials."""

from __future__ import annotations

import os

from ansible_collections.hknweb.deploy.plugins.module_utils import begin_steps as decide
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_steps import Refusal
from ansible_collections.hknweb.deploy.plugins.module_utils.host import redact_url, tail
from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import PROBE


class CommitSteps:
    """Mixed into Begin: uses its params (p), check, host, mirror, inventory, sha and result."""

    # --- messages never carry the repository's credentials ----------------------------------------

    def clean(self, text):
        text = redact_url(text)
        return text.replace(self.secret, "***") if self.secret else text

    def git(self, *args, check=True):
        done = self.host.run(["git"] + list(args))
        if check and not done.ok:
            raise Refusal("git %s failed: %s" % (args[0] if args[0] != "-C" else args[2], self.clean(tail(done.err, 8))))
        return done

    def fetch(self):
        """Bring the mirror up to date (not in check mode); whether there is one to read the commit from."""
        url = self.p["repo_url"]
        has_mirror = self.host.exists(os.path.join(self.mirror, "HEAD"))
        if self.check:
            return has_mirror
        if not has_mirror:
            self.host.clone_mirror(self.git, url, self.mirror)
            self.result["changed"] = True
        else:
            # Fetch from the URL itself (the mirror's refspec), and record a changed URL only once
            # that worked: a wrong URL (or a token) given for one run never sticks in repo/config.
            self.git("-C", self.mirror, "fetch", "--prune", "--quiet", url, "+refs/*:refs/*")
            if self.git("-C", self.mirror, "config", "remote.origin.url", check=False).out.strip() != url:
                self.git("-C", self.mirror, "remote", "set-url", "origin", url)
        self.host.chmod(self.mirror, 0o700)  # the URL in the mirror's config may carry a token
        return True

    def resolve(self, has_mirror, ask_remote):
        """The commit `ref` names: from the mirror, or (`ask_remote`: check mode, the doctor) from the
        remote itself, the mirror not being fetched. Sets sha and subject; returns the sha when the
        mirror holds the commit (its files can be read), else None."""
        ref, sha = self.p["ref"], None
        if has_mirror:
            done = self.git("-C", self.mirror, "rev-parse", "--verify", "--quiet", "--end-of-options",
                            ref + "^{commit}", check=False)
            sha = done.out.strip() if done.ok else None
        if ask_remote:
            remote = self.git("ls-remote", "--", self.p["repo_url"], ref, "refs/tags/%s^{}" % ref, check=False)
            found = decide.remote_sha(remote.out)
            if not found and not remote.ok:
                raise Refusal("cannot reach the repository: %s" % self.clean(tail(remote.err, 5)))
            sha = found or sha
        if not sha:
            raise Refusal("the ref %r is not a branch, tag or commit of the repository %s. Check the name "
                          "(-e revision=...), or push it first." % (ref, self.clean(self.p["repo_url"])))
        subject = self.git("-C", self.mirror, "log", "-1", "--format=%s", sha, check=False).out.strip() if has_mirror else ""
        self.result.update(sha=sha, subject=subject or "(commit not fetched yet)")
        return sha if has_mirror and subject else None

    def fetch_and_resolve(self):
        self.sha = self.resolve(self.fetch(), ask_remote=self.check)
        live = self.inventory.get(self.inventory.live) if self.inventory.live else None
        self.result["needed"] = decide.release_needed(self.p["force"], live, self.result["sha"])

    def commit_files(self):
        self.result["files"] = {name: decide.commit_file(name, self._blob(name)) for name in self.p["commit_files"]}
        self.result["files_known"] = bool(self.sha)

    def _blob(self, name):
        if not self.sha:
            return None
        done = self.host.run(["git", "-C", self.mirror, "cat-file", "blob", "%s:%s" % (self.sha, name)])
        return done.out if done.ok else None

    def probe(self):
        self.result["interpreters"] = {name: decide.probe_answer(self.host.run([name, "-c", PROBE]))
                                       for name in self.p["interpreters"]}
