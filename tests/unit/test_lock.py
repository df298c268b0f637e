"""The deploy lock (module_utils/lock.py) and the ref check (module_utils/refs.py): a lock is whole or
absent, read whatever its size, alive while its lease runs or its stage runs, taken over only when
its run is proven dead, never broken while alive; a ref that cannot be a git ref is refused."""

import errno
import json
import os

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import lock, processes
from ansible_collections.hknweb.deploy.plugins.module_utils.refs import ref_problem, shown

SHA = "0123456789abcdef0123456789abcdef01234567"


def never_running(pid, start):
    return False


# --- refs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["master", "v1.2.3", "feature/x-y", SHA, "release+1", "a@b", "x" * 255])
def test_names_git_accepts_pass(ref):
    assert ref_problem(ref) is None


@pytest.mark.parametrize("ref,words", [
    ("x" * 256, "256 bytes long"), ("x" * 4096, "4096 bytes long"), ("é" * 128, "256 bytes long"),
    ("main\nevil", "control character"), ("a\tb", "control character"), ("a\x1b[31m", "control character"),
    ("a b", "' '"), ("a~1", "'~'"), ("a^", "'^'"), ("a:b", "':'"), ("a..b", ".."), ("a//b", "//"),
    ("@", "is @"), ("a@{1}", "@{"), ("-x", "starts with -"), ("/x", "starts with /"), ("x/", "ends with"),
    ("x.", "ends with"), ("x/.y", "starts with ."), ("x.lock", ".lock"), ("", "empty"), (None, "empty"),
])
def test_what_cannot_be_a_ref_is_refused_and_says_why(ref, words):
    assert words in ref_problem(ref)


def test_a_long_ref_is_shown_cut():
    assert shown("x" * 4096).endswith("... (4096 characters)") and len(shown("x" * 4096)) < 100


# --- whole or absent ----------------------------------------------------------------------------


def test_the_lock_is_built_aside_and_leaves_no_temporary(tmp_path):
    assert lock.take_lock(str(tmp_path), "alice", "deploy x", "run-a", lease=60, now=1000) is None
    assert sorted(os.listdir(tmp_path)) == ["deploy.lock"]
    record = json.loads((tmp_path / "deploy.lock" / "holder").read_text())
    assert (record["run"], record["lease_until"], record["pid"]) == ("run-a", 1060, os.getpid())


def test_a_full_disk_leaves_no_lock_and_says_nothing_changed(tmp_path, monkeypatch):
    def full(path, record):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(lock, "_write_record", full)
    with pytest.raises(lock.LockError, match="no space left.*no lock was left behind.*Nothing was changed"):
        lock.take_lock(str(tmp_path), "alice", "deploy", "run-a")
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    assert lock.take_lock(str(tmp_path), "alice", "deploy", "run-a") is None  # once space exists: works
    assert lock.give_lock(str(tmp_path), "run-a") and os.listdir(tmp_path) == []


def test_an_empty_lock_folder_of_an_older_version_is_replaced(tmp_path):
    os.mkdir(tmp_path / "deploy.lock")
    assert lock.take_lock(str(tmp_path), "bob", "deploy", "run-b") is None
    assert lock.read_lock(str(tmp_path))["run"] == "run-b"


def test_a_huge_record_is_read_whole_and_given_back(tmp_path):
    os.mkdir(tmp_path / "deploy.lock")
    (tmp_path / "deploy.lock" / "holder").write_text(json.dumps({"holder": "a", "purpose": "deploy " + "x" * 9000,
                                                                  "run": "run-a", "epoch": 5}))
    info = lock.read_lock(str(tmp_path), now=10)
    assert info["run"] == "run-a" and info["age_seconds"] == 5 and len(info["purpose"]) <= lock.FIELD_LIMIT
    assert lock.give_lock(str(tmp_path), "run-a") is True and os.listdir(tmp_path) == []


def test_the_record_is_bounded_when_written(tmp_path):
    lock.take_lock(str(tmp_path), "h" * 5000, "deploy " + "x" * 5000, "run-a")
    assert os.path.getsize(tmp_path / "deploy.lock" / "holder") < 1000


def test_a_temporary_folder_of_a_killed_run_is_swept(tmp_path):
    os.mkdir(tmp_path / "deploy.lock.tmp-old")
    os.utime(tmp_path / "deploy.lock.tmp-old", (0, 0))
    lock.take_lock(str(tmp_path), "alice", "deploy", "run-a")
    assert sorted(os.listdir(tmp_path)) == ["deploy.lock"]


# --- alive or dead --------------------------------------------------------------------------------


@pytest.mark.parametrize("record,now,running,expected,words", [
    ({"lease_until": 100}, 50, False, True, "runs out in 50 s"),
    ({"lease_until": 100, "pid": 7, "pid_start": "9"}, 150, True, True, "pid 7"),
    ({"lease_until": 100, "pid": 7, "pid_start": "9"}, 400, False, False, "ran out 5 min ago"),
    ({}, 10 ** 9, False, True, "no lease"),
])
def test_a_run_is_alive_while_its_lease_or_its_stage_runs(record, now, running, expected, words):
    is_alive, why = lock.alive(record, now, lambda pid, start: running)
    assert is_alive is expected and words in why


def test_this_process_is_seen_running_and_a_reused_pid_is_not():
    start = processes.process_start(os.getpid())
    assert processes.process_running(os.getpid(), start)
    assert not processes.process_running(os.getpid(), str(int(start) + 1))
    assert not processes.process_running(None, None)


def test_a_live_lock_is_refused_with_holder_purpose_age_and_lease(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy r9", "run-a", lease=300, now=1000)
    with pytest.raises(lock.LockHeld, match=r"alice, for deploy r9, taken 2 min ago; its lease runs out in 3 min"):
        lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", lease=300, now=1120, running=never_running)
    with pytest.raises(lock.LockHeld, match="It is not broken"):
        lock.break_lock(str(tmp_path), now=1120, running=never_running)
    # even when asked to break: a live lease is never broken
    with pytest.raises(lock.LockHeld):
        lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", lease=300, break_stale=True, now=1120,
                       running=never_running)
    assert lock.read_lock(str(tmp_path))["run"] == "run-a"


def test_a_dead_run_is_taken_over_without_a_manual_step(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy r9", "run-a", lease=60, now=1000)
    taken = lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", lease=60, now=1100, running=never_running)
    assert (taken["holder"], taken["run"], taken["alive"]) == ("alice", "run-a", False)
    assert "ran out 40 s ago" in taken["why"]
    assert lock.read_lock(str(tmp_path))["run"] == "run-b" and sorted(os.listdir(tmp_path)) == ["deploy.lock"]


def test_a_running_stage_keeps_the_lock_past_its_lease(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy", "run-a", lease=60, now=1000)
    with pytest.raises(lock.LockHeld, match="still runs on the host"):
        lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", lease=60, now=2000, running=lambda p, s: True)


def test_renewing_moves_the_lease_and_a_taken_over_run_must_stop(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy", "run-a", lease=60, now=1000)
    assert lock.renew_lock(str(tmp_path), "run-a", 60, now=1050)["lease_until"] == 1110
    assert lock.read_lock(str(tmp_path))["lease_until"] == 1110
    lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", lease=60, now=1200, running=never_running)
    with pytest.raises(lock.LockLost, match="now bob's.*taken over by another run"):
        lock.renew_lock(str(tmp_path), "run-a", 60, now=1201)
    assert lock.read_lock(str(tmp_path))["run"] == "run-b"


def test_a_lock_without_lease_is_broken_only_when_asked(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "rollback", "run-a", now=0)
    with pytest.raises(lock.LockHeld, match="deploy_break_lock=true"):
        lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", now=600, running=never_running)
    broken = lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", break_stale=True, now=600)
    assert (broken["holder"], broken["age_seconds"]) == ("alice", 600)


def test_only_the_run_that_took_the_lock_gives_it_back(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy", "run-a")
    assert lock.give_lock(str(tmp_path), "run-b") is False and lock.read_lock(str(tmp_path))
    assert lock.give_lock(str(tmp_path), "run-a") is True and lock.read_lock(str(tmp_path)) is None
