"""Begin (deploy_begin, release_rollback's first half) driven step by step through a scripted fake host:
the policy (deploy and rollback stop at the first failure, the doctor collects every failure), the lock
taken or refused, the rollback's target checks, `current` edited by hand, writes into the environment
refused, and check mode writing nothing. Milliseconds each; Molecule plays the same on real hosts."""

import os

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import begin_options, begin_steps, binds, env_paths, layout, stages
from ansible_collections.hknweb.deploy.plugins.module_utils.begin import COLLECT_ALL, STOP_AT_FIRST, Begin, run_steps
from ansible_collections.hknweb.deploy.plugins.module_utils.begin_steps import Refusal
from ansible_collections.hknweb.deploy.plugins.module_utils.lock import LockHeld
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import BAD, GOOD, Inventory, Release

PATH = "/srv/apps/hkn/prod"
SHA, OLD = "a" * 40, "b" * 40
D1, D2, D3 = "20240101T000000Z", "20240102T000000Z", "20240103T000000Z"
# Every call that changes the host; check mode and refusals before the lock must make none of them.
WRITES = {"makedirs", "chmod", "undo", "take_lock", "repair_socket", "record_environment", "write_private",
          "create_empty", "clone_mirror", "sweep_trials"}
WRITING_GIT = {"fetch", "clone", "remote"}


class Done:
    def __init__(self, rc=0, out="", err=""):
        self.rc, self.out, self.err = rc, out, err

    @property
    def ok(self):
        return self.rc == 0


class FakeHost:
    """The host as a script: what exists, what each program answers; every call is recorded."""

    home, uid, user = "/home/hkn", 1000, "hkn"

    def __init__(self, tree=None, linger=True, manager=None, lock=None, intent=None, files=(), git_ok=True,
                 verdict=None, free=10000, log=""):
        self.tree, self.linger, self.manager, self.lock, self.intent = tree, linger, manager or Done(), lock, intent
        self.log = log  # revisions.log's text
        self.dirs = {PATH, layout.mirror_dir(PATH)} if tree is not None else set()
        self.files = set(files) | ({os.path.join(layout.mirror_dir(PATH), "HEAD")} if tree is not None else set())
        self.git_ok, self.verdict, self.free, self.calls = git_ok, verdict or binds.Verdict(True, "ours"), free, []

    def _call(self, name, *args):
        self.calls.append((name,) + args)

    def writes(self):
        git = [c for c in self.calls if c[0] == "run" and c[1][0] == "git" and WRITING_GIT & set(c[1])]
        return [c for c in self.calls if c[0] in WRITES] + git

    def run(self, argv, cwd=None):
        self._call("run", argv)
        if argv[0] != "git":
            return Done(1, err="%s: not found" % argv[0])
        if not self.git_ok:
            return Done(128, err="fatal: could not read from remote repository")
        answers = {"rev-parse": SHA, "ls-remote": "%s\trefs/heads/master" % SHA, "log": "Add a page", "--version": "git 2.39"}
        word = next((a for a in argv[1:] if a in answers or a in ("cat-file", "fetch", "config", "clone")), None)
        return Done(1) if word == "cat-file" else Done(0, answers.get(word, ""))

    def user_manager(self):
        return self.manager

    def lingering(self, user):
        return self.linger

    def is_dir(self, path):
        return path in self.dirs

    def lexists(self, path):
        return path in self.files or path in self.dirs

    exists = lexists

    def scan(self, path):
        self._call("scan", path)
        return self.tree

    def read_intent(self, path):
        return self.intent

    def read_lock(self, path):
        return None

    def history(self, path):
        return self.log

    def lock_alive(self, record):
        return True

    def take_lock(self, path, holder, purpose, run, lease, break_stale):
        self._call("take_lock", run)
        if self.lock:
            raise LockHeld("%s/deploy.lock is held by %s" % (path, self.lock["holder"]), self.lock)
        return None

    def lease_of(self, path, run, lease):
        return {"until": "later"}

    def bind_verdict(self, bind, unit, socket_unit, path, user):
        return self.verdict

    def check_writes(self, path, home_templates, shared_templates, writes, venvs):
        # The real rule (env_paths.write_problem) over paths the fake resolves as given (no links).
        found = [env_paths.write_problem(w["variable"], w["path"], {"where": w["path"], "symlinks": []}, path)
                 for w in writes]
        return [p for p in found if p]

    def venv_keys(self, path):
        return []

    def free_mib(self, path):
        return self.free

    def same_file(self, path, content, mode):
        return False

    def undo(self, path, op, restore, bad):
        self._call("undo", op, restore, bad)

    def clone_mirror(self, git, url, mirror):
        self._call("clone_mirror", url)

    def __getattr__(self, name):  # the remaining writes: recorded, and they succeed
        if name in WRITES:
            return lambda *args, **kwargs: self._call(name, *args)
        raise AttributeError(name)


def release(name, state=GOOD, sha=SHA):
    return Release(name=name, state=state, revision=sha)


def tree(*releases, live=None, problem=None, kind="link"):
    return Inventory(deploy_path=PATH, releases=tuple(releases), live=live, current_problem=problem,
                     current_kind=kind if live or problem else "absent", current_target=None)


def params(**given):
    p = {name: option.get("default") for name, option in begin_options.argument_spec().items()}
    p.update(path=PATH, run="run-1", repo_url="https://token123@example.org/hkn.git", ref="master")
    p.update(given)
    return p


def begin(host, check=False, **given):
    return Begin(params(**given), check, host)


# --- the policy -----------------------------------------------------------------------------------


def test_stop_at_first_runs_nothing_after_a_failure_and_collect_all_runs_everything():
    ran = []

    def step(name, fails=False):
        def call():
            ran.append(name)
            if fails:
                raise Refusal("%s failed" % name)
        return (name, call)

    steps = [step("one"), step("two", fails=True), step("three", fails=True), step("four")]
    assert [f.step for f in run_steps(steps, STOP_AT_FIRST)] == ["two"] and ran == ["one", "two"]
    ran.clear()
    assert [f.step for f in run_steps(steps, COLLECT_ALL)] == ["two", "three"] and ran == ["one", "two", "three", "four"]


def test_a_good_deploy_runs_every_step_and_takes_the_lock():
    host = FakeHost(tree(release(D1, sha=OLD), live=D1))
    outcome = begin(host).run()
    assert outcome.failure is None
    assert outcome.result["sha"] == SHA and outcome.result["needed"] and outcome.result["locked"]
    assert ("take_lock", "run-1") in host.calls and outcome.result["live"]["name"] == D1


def test_the_live_commit_needs_no_release_unless_forced():
    live = release(D1)
    assert not begin_steps.release_needed(False, live, SHA)
    assert begin_steps.release_needed(True, live, SHA)
    assert begin_steps.release_needed(False, release(D1, BAD), SHA)
    assert begin_steps.release_needed(False, None, SHA)


def test_lingering_off_stops_the_deploy_before_any_write():
    host = FakeHost(tree(release(D1), live=D1), linger=False)
    outcome = begin(host).run()
    assert outcome.failure.step == "host_checks" and "loginctl enable-linger hkn" in outcome.failure.msg
    assert outcome.failure.stage == stages.BEGIN and outcome.failure.fields["locked"] is False
    assert host.writes() == []


def test_the_doctor_collects_every_failure_and_writes_nothing():
    host = FakeHost(tree(release(D1), live=D1), linger=False, git_ok=False, free=10,
                    verdict=binds.Verdict(False, problem="taken by test", fix="choose another"))
    outcome = begin(host, mode="doctor", shared_files=["db.sqlite3"], bind="unix:/run/hkn.sock").run()
    assert outcome.failure is None and outcome.result["ok"] is False
    failed = {c["name"]: c["fix"] for c in outcome.result["checks"] if not c["ok"]}
    assert set(failed) == {"linger and user manager", "git", "free disk", "repository and ref", "shared files", "bind"}
    assert "choose another" in failed["bind"] and "deploy_repo_url" in failed["repository and ref"]
    assert host.writes() == [] and "token123" not in repr(outcome.result)


def test_the_doctor_resolves_with_ls_remote_and_reports_ok():
    host = FakeHost(tree(release(D1), live=D1))
    outcome = begin(host, mode="doctor").run()
    assert outcome.result["ok"] and outcome.result["sha"] == SHA and host.writes() == []
    assert any(c[0] == "run" and "ls-remote" in c[1] for c in host.calls)


# --- the lock -------------------------------------------------------------------------------------


def test_a_held_lock_is_a_lock_failure_and_nothing_after_it_runs():
    host = FakeHost(tree(release(D1), live=D1), lock={"holder": "alice", "purpose": "deploy"})
    outcome = begin(host, bind="unix:/run/hkn.sock").run()
    assert outcome.failure.stage == stages.LOCK and outcome.failure.fields == {"lock": host.lock, "locked": False}
    assert not any(c[0] in ("record_environment", "sweep_trials", "write_private") for c in host.calls)


# --- the rollback's target -----------------------------------------------------------------------


def test_a_rollback_where_nothing_was_deployed_says_so_and_writes_nothing():
    host = FakeHost(None)
    outcome = begin(host, mode="rollback").run()
    assert "nothing was ever deployed" in outcome.failure.msg and host.writes() == []


def test_a_rollback_with_nothing_to_go_to_is_refused_before_the_lock():
    host = FakeHost(tree(release(D1), live=D1))
    outcome = begin(host, mode="rollback").run()
    assert outcome.failure.step == "check_rollback_target" and outcome.failure.msg.endswith("Nothing was changed.")
    assert host.writes() == []


def test_a_rollback_to_a_release_without_its_venv_is_refused():
    host = FakeHost(tree(release(D1, sha=OLD), release(D2), live=D2))
    outcome = begin(host, mode="rollback").run()
    assert outcome.failure.step == "choose_rollback" and "venv/bin/python" in outcome.failure.msg


def test_a_rollback_chooses_the_previous_good_release():
    programs = layout.release_programs(layout.release_dir(PATH, D1)).values()
    host = FakeHost(tree(release(D1, sha=OLD), release(D2), live=D2), files=programs)
    outcome = begin(host, mode="rollback").run()
    assert outcome.failure is None and outcome.result["target"]["name"] == D1
    assert outcome.result["direction"] == "back"


def test_a_killed_run_is_undone_under_the_lock_before_the_target_is_chosen():
    programs = layout.release_programs(layout.release_dir(PATH, D2)).values()
    intent = {"op": "deploy", "from": D2, "to": D3}
    host = FakeHost(tree(release(D1, sha=OLD), release(D2), release(D3, sha="c" * 40), live=D3), intent=intent,
                    files=programs)
    outcome = begin(host).run()
    assert ("undo", "deploy", D2, D3) in host.calls and outcome.result["recovered"]["restored"] == D2
    assert outcome.result["restart_required"]


# --- `current` edited by hand, writes into the environment ---------------------------------------


@pytest.mark.parametrize("mode", ["deploy", "rollback"])
def test_current_edited_by_hand_stops_the_run_before_any_write(mode):
    host = FakeHost(tree(release(D1), problem="current points to '/tmp/x'", kind="link"))
    outcome = begin(host, mode=mode).run()
    assert outcome.failure.step == "check_current" and "ln -sfn" in outcome.failure.msg
    assert host.writes() == []


def test_a_write_into_the_environments_own_folders_is_refused_before_any_write():
    host = FakeHost(tree(release(D1), live=D1))
    outcome = begin(host, writes=[{"variable": "app_static_link", "path": PATH + "/current/static"}]).run()
    assert outcome.failure.step == "check_inputs" and "app_static_link" in outcome.failure.msg
    assert "Nothing was changed." in outcome.failure.msg and host.writes() == []


def test_a_shared_entry_escaping_shared_is_refused_before_any_write():
    host = FakeHost(tree(release(D1), live=D1))
    outcome = begin(host, shared_dirs=["../media"]).run()
    assert outcome.failure.step == "check_inputs" and "deploy_shared_dirs" in outcome.failure.msg
    assert host.writes() == []


# --- check mode -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fresh", [True, False])
def test_check_mode_changes_nothing(fresh):
    host = FakeHost(None if fresh else tree(release(D1, sha=OLD), live=D1),
                    intent=None if fresh else {"op": "deploy", "from": D1, "to": D2})
    templates = [{"path": ".env", "content": "SECRET=1", "mode": "0600"}]
    outcome = begin(host, check=True, shared_templates=templates, shared_files_create=["db.sqlite3"],
                    bind="unix:/run/hkn.sock").run()
    assert outcome.failure is None and outcome.result["check_mode"]
    # It says what it would change (changed, as Ansible's check mode does) and changes nothing.
    assert host.writes() == [] and outcome.result["changed"] and "locked" not in outcome.result
    assert outcome.result["shared_changed"] == [".env"] and outcome.result["shared_created"] == ["db.sqlite3"]
    assert any(c[0] == "run" and "ls-remote" in c[1] for c in host.calls)  # the remote is asked, not fetched


def test_messages_never_carry_the_repository_token():
    host = FakeHost(tree(release(D1), live=D1), git_ok=False)
    outcome = begin(host).run()
    assert outcome.failure and "token123" not in outcome.failure.msg


# --- what the last run was (rollback_guard, issue 18 item 7) ----------------------------------------


def logged(*events):
    return "".join("2024-01-0%dT12:00:00Z\t%s\t%s\tsha\tref\tann\n" % (day, kind, name) for day, kind, name in events)


def test_a_rollback_rerun_after_a_completed_rollback_stays_at_its_target_and_takes_nothing_further():
    programs = layout.release_programs(layout.release_dir(PATH, D1)).values()
    log = logged((1, "deploy", D1), (2, "deploy", D2), (3, "rollback", D1))
    host = FakeHost(tree(release(D1, sha=OLD), release(D2, state=BAD), live=D1), files=programs, log=log)
    outcome = begin(host, mode="rollback").run()
    assert outcome.failure is None and outcome.result["target"]["name"] == D1
    assert outcome.result["direction"] == "none" and "already completed" in outcome.result["stayed"]
    again = begin(FakeHost(tree(release(D1, sha=OLD), release(D2, state=BAD), live=D1), files=programs, log=log),
                  mode="rollback", rollback_anyway=True).run()
    assert again.result.get("stayed") is None and again.failure.step == "check_rollback_target"  # nothing older


def test_a_rollback_after_a_deploy_that_never_went_live_is_refused_before_the_lock():
    log = logged((1, "deploy", D1), (2, "deploy", D2))
    host = FakeHost(tree(release(D1, sha=OLD), release(D2), release(D3, state="unfinished"), live=D2), log=log)
    outcome = begin(host, mode="rollback").run()
    assert outcome.failure.step == "check_rollback_target" and "never went live" in outcome.failure.msg
    assert outcome.result["last_run"] == "deploy never live" and host.writes() == []
