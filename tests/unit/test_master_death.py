"""A gunicorn master killed from outside (kill -9) is not a bad release: the health check waits for
systemd to start it again instead of putting a healthy release back (module_utils/master_death.py,
used by release_activate's health check)."""

from ansible_collections.hknweb.deploy.plugins.module_utils import master_death
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_proof import died

KILLED = dict(ActiveState="activating", SubState="auto-restart", MainPID="0", ExecMainCode="2", ExecMainStatus="9")
BOOT_FAILED = dict(ActiveState="activating", SubState="auto-restart", MainPID="0", ExecMainCode="1",
                   ExecMainStatus="3")


def test_a_master_killed_by_a_signal_is_waited_for_and_one_that_exited_is_a_failed_release():
    assert master_death.killed_from_outside(KILLED)
    assert died(KILLED) is None
    assert not master_death.killed_from_outside(BOOT_FAILED)
    assert died(BOOT_FAILED).startswith("the service exited after it started")


def test_a_master_replaced_by_systemd_after_a_kill_is_not_taken_for_a_crash():
    restarted = dict(ActiveState="active", SubState="running", MainPID="4242", ExecMainCode="2", ExecMainStatus="9")
    assert died(restarted, pid=4100) is None
    replaced = dict(restarted, ExecMainCode="1", ExecMainStatus="3")
    assert "was replaced" in died(replaced, pid=4100)
