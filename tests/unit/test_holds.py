"""An environment held on purpose, and waiting for a live run's lock (issue 20, item 6): a hold is the
lock with a message and no lease; a deploy's attempt to lock is refused with the message (also with
deploy_break_lock), lock.yml -e break=true does not remove it, only a lift does, and a lift never removes a
run's lock; the ending's Next: says how to lift it. Waiting: a live run's lock is retried until free or the
wait is over (a fake clock: milliseconds); a hold or a lease-less lock is never waited for."""

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import ending, holds, lock_wait
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import report_lines


@pytest.fixture
def env(tmp_path):
    (tmp_path / "releases").mkdir()
    return tmp_path


def test_a_hold_refuses_every_run_with_its_message_and_cannot_be_broken(env):
    held = holds.take(str(env), "alice", "career fair until Friday")
    assert held["hold"] and held["message"] == "career fair until Friday" and held.get("lease_until") is None
    for break_stale in (False, True):
        with pytest.raises(lock_.LockHeld) as refused:
            lock_.take_lock(str(env), "bob", "deploy r2", "run-1", lease=300, break_stale=break_stale)
        text = str(refused.value)
        assert 'is held on purpose by alice' in text and '"career fair until Friday"' in text
        assert text.endswith("Nothing was changed.")
    with pytest.raises(lock_.LockHeld):
        lock_.break_lock(str(env))
    assert lock_.read_lock(str(env))["message"] == "career fair until Friday"


def test_a_lift_removes_a_hold_and_never_a_runs_lock(env):
    holds.take(str(env), "alice", "freeze")
    assert holds.lift(str(env))["message"] == "freeze" and lock_.read_lock(str(env)) is None
    assert holds.lift(str(env)) is None
    lock_.take_lock(str(env), "bob", "deploy r2", "run-1", lease=300)
    with pytest.raises(holds.HoldError, match="is a run's lock"):
        holds.lift(str(env))
    assert lock_.read_lock(str(env))["run"] == "run-1"


def test_a_hold_needs_a_message_a_deployed_environment_and_a_free_lock(env, tmp_path):
    with pytest.raises(holds.HoldError, match="needs a message"):
        holds.take(str(env), "alice", "  ")
    with pytest.raises(holds.HoldError, match="does not exist"):
        holds.take(str(tmp_path / "never"), "alice", "x")
    lock_.take_lock(str(env), "bob", "deploy r2", "run-1", lease=300)
    with pytest.raises(holds.HoldError, match="taken already: bob, for deploy r2"):
        holds.take(str(env), "alice", "x")


def test_the_ending_says_how_to_lift_it_and_the_lock_line_shows_the_message(env):
    holds.take(str(env), "alice", "freeze")
    try:
        lock_.take_lock(str(env), "bob", "deploy", "run-1", lease=300)
    except lock_.LockHeld as refused:
        cause = str(refused)
    live = {"ok": True}
    assert ending.kind_of({"stage": "lock", "cause": cause}, live) == "held"
    step = ending.next_step({"kind": "held", "environment": "prod", "action": "deploy"})
    assert "ansible-playbook lock.yml -l prod -e unhold=true" in step and "break" not in step
    line = report_lines.lock_line({"deploy_path": str(env), "lock": lock_.read_lock(str(env))}, "prod")
    assert '"freeze"' in line and "lock.yml -l prod -e unhold=true" in line


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def live_run_lock(free_after, clock):
    def attempt():
        if clock.now < free_after:
            raise lock_.LockHeld("another deploy or rollback holds it. Nothing was changed.",
                                 {"holder": "carol", "lease_until": 10 ** 10})
        return None
    return attempt


def test_a_waiting_run_takes_the_lock_once_a_live_run_gives_it_back():
    clock = Clock()
    taken, waited = lock_wait.take(live_run_lock(5, clock), 30, clock=clock, sleep=clock.sleep)
    assert taken is None and waited == 5.0


def test_a_wait_that_runs_out_is_refused_saying_how_long_it_waited():
    clock = Clock()
    with pytest.raises(lock_.LockHeld, match=r"waited 10 s of deploy_lock_wait=10"):
        lock_wait.take(live_run_lock(100, clock), 10, clock=clock, sleep=clock.sleep)
    assert clock.now <= 10


@pytest.mark.parametrize("holder", [{"holder": "alice", "hold": True, "message": "freeze"},
                                    {"holder": "old", "lease_until": None}])
def test_a_hold_or_a_lease_less_lock_is_never_waited_for(holder):
    clock = Clock()

    def attempt():
        raise lock_.LockHeld("held", holder)
    with pytest.raises(lock_.LockHeld):
        lock_wait.take(attempt, 60, clock=clock, sleep=clock.sleep)
    assert clock.now == 0


def test_no_wait_refuses_at_once():
    clock = Clock()
    with pytest.raises(lock_.LockHeld):
        lock_wait.take(live_run_lock(5, clock), 0, clock=clock, sleep=clock.sleep)
    assert clock.now == 0
