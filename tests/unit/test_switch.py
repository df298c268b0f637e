"""The switch (release_activate, release_rollback's second half) driven through its plan and its
executor on a scripted fake host (fakehost.py): no systemd, no gunicorn, no sleeping, so each case
takes milliseconds. The Molecule scenarios play the same cases on a real host."""

import time

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import switch_plan as sp
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_exec import Switch, observe

from fakehost import BIND, PATH, R1, R2, R3, SERVICE, SOCKET, FakeHost, Killed

UNIT = dict(path="/home/u/.config/systemd/user/app.service", content="[Service]\nExecStart=run\n", mode="0644",
            unit=True)
TRIAL = dict(args=["app.wsgi"], environment={"DJANGO_SETTINGS_MODULE": "app.settings"})


def options(**override):
    values = dict(path=PATH, service=SERVICE, socket=SOCKET, bind=BIND, mode="deploy", release=R2,
                  record=dict(sha="abc", ref="main"), trial=TRIAL, files=[UNIT], run="run-1", unlock=True)
    values.update(override)
    return sp.Options(**values)


def host_with_unit(**override):
    host = FakeHost(**override)
    host.files[UNIT["path"]] = (UNIT["content"], 0o644)
    return host


def run(host, check=False, **override):
    started = time.monotonic()
    outcome = Switch(host, options(**override), check).run()
    assert time.monotonic() - started < 0.5  # milliseconds: nothing waits for real
    return outcome


def plan_for(host, check=False, **override):
    opts = options(**override)
    return sp.plan(opts, observe(host, opts), {}, check)


# --- deploy: reload versus restart ---------------------------------------------------------

def test_a_code_only_deploy_reloads_the_running_master_after_its_trial_run():
    host = host_with_unit()
    plan = plan_for(host)
    assert plan.names() == ["trial", "intent", "record", "switch", "log", "reload", "prove", "clear intent"]
    outcome = run(host)
    assert outcome.failure is None
    r = outcome.result
    assert (r["live"], r["previous"], r["switched"], r["reloaded"], r["restarted"]) == (R2, R1, True, True, False)
    assert any("graceful reload" in reason for reason in r["restart_reasons"])
    assert ("hup", 100) in host.changes and not any(c[:2] == ("systemctl", "restart") for c in host.changes)
    assert host.pid == 100 and host.master == R2  # the same master, now in the new release
    # The intent before the record and the switch; cleared only once the release answered.
    assert host.names().index("intent") < host.names().index("record") < host.names().index("switch")
    assert host.intent is None and host.log == [("deploy", R2)] and r["unlocked"]


def test_a_deploy_with_another_venv_restarts_the_service():
    host = host_with_unit()
    host.tree[R2]["venv"] = "v2"
    assert "restart" in plan_for(host).names() and "reload" not in plan_for(host).names()
    outcome = run(host)
    assert outcome.failure is None and outcome.result["restarted"] and not outcome.result["reloaded"]
    assert host.pid == 101 and host.master_venv == "v2"


@pytest.mark.parametrize("why", ["unit file", "no trial", "reload off", "restart asked", "not running"])
def test_a_release_not_proven_or_a_service_that_changed_gets_a_restart(why):
    host = host_with_unit()
    override = {}
    if why == "unit file":
        host.files.clear()
    elif why == "no trial":
        override["trial"] = {}
    elif why == "reload off":
        override["reload"] = False
    elif why == "restart asked":
        override["restart"] = True  # shared files changed, or a killed run was undone
    else:
        host.service_active, host.master = False, None
    names = plan_for(host, **override).names()
    assert "restart" in names and "reload" not in names, names
    outcome = run(host, **override)
    assert outcome.failure is None and outcome.result["restarted"] and host.live == R2
    if why == "unit file":
        assert outcome.result["files_changed"] == [UNIT["path"]] and ("systemctl", "daemon-reload") in host.changes


def test_the_reload_decision_itself():
    observed = sp.Observed(live=R1, master_pid=7, master_release="/r/1", master_venv="/v/1", venvs={R2: "/v/1"})
    opts = options()
    assert sp.service_action(opts, observed, R2, False, "", True).kind == "reload"
    assert sp.service_action(opts, observed, R2, False, "", False).kind == "restart"  # no trial run passed
    assert sp.service_action(options(mode="rollback"), observed, R2, False, "", False).kind == "reload"
    other = sp.Observed(live=R1, master_pid=7, master_release="/r/1", master_venv="/v/1", venvs={R2: "/v/2"})
    assert sp.service_action(opts, other, R2, False, "", True).kind == "restart"
    assert sp.service_action(opts, observed, R2, True, "", True).kind == "restart"
    assert sp.service_action(opts, observed, R2, False, "starting app.socket", True).kind == "restart"


def test_a_master_replaced_after_it_was_observed_is_restarted_not_signalled():
    host = host_with_unit()
    switch = Switch(host, options())
    _, plan = switch.plan()
    host.pid = 150  # systemd restarted it meanwhile (the trial run takes seconds)
    result = switch.report(plan)
    assert switch.deploy(plan, result) is None
    assert result["restarted"] and not result["reloaded"] and ("hup", 100) not in host.changes


# --- deploy: the trial run, the health check and the revert -------------------------------

def test_a_release_that_fails_its_trial_run_never_goes_live_and_changes_nothing_else():
    host = host_with_unit(trial_ok={R1})
    host.files.clear()
    outcome = run(host)
    assert outcome.failure.extra["stage"] == "health check"
    assert "failed its trial run, so it never went live and %s still serves" % R1 in outcome.failure.msg
    assert "ImportError: boom" in outcome.failure.msg
    assert host.live == R1 and host.tree[R2]["state"] == "bad" and outcome.result["marked_bad"] == R2
    assert host.names() == ["trial", "mark_bad", "give_lock"]  # no file written, nothing switched


def test_a_release_that_fails_its_health_check_is_put_back_and_marked_bad():
    host = host_with_unit(healthy={R1})
    host.tree[R2]["venv"] = "v2"
    outcome = run(host)
    r, msg = outcome.result, outcome.failure.msg
    assert outcome.failure.extra["stage"] == "health check" and "%s is live again" % R1 in msg
    assert "%s is marked bad" % R2 in msg and "answered 500" in msg
    assert host.live == R1 and host.master == R1 and host.tree[R2]["state"] == "bad"
    assert (r["live"], r["reverted"], r["marked_bad"]) == (R1, True, R2)
    assert not r["health"]["ok"] and r["health_after_revert"]["ok"]
    assert host.intent is None and host.log == [("deploy", R2), ("revert", R1)]


def test_a_release_that_crashes_on_start_is_put_back_without_waiting_for_the_timeout():
    host = host_with_unit(crashes={R2})
    host.tree[R2]["venv"] = "v2"
    outcome = run(host, health_timeout=600)
    assert "the service exited after it started" in outcome.failure.msg and host.live == R1
    assert outcome.result["health"]["seconds"] < 1


def test_the_first_release_that_fails_stays_current_marked_bad():
    host = host_with_unit(live=None, master=None, service_active=False, healthy=set())
    outcome = run(host, trial={})
    assert "It was the first release; there is nothing to go back to" in outcome.failure.msg
    assert outcome.failure.extra["live"] == R2 and host.live == R2 and host.tree[R2]["state"] == "bad"
    assert host.intent is None


def test_a_health_check_that_never_answers_gives_up_at_the_timeout_on_the_fake_clock():
    host = host_with_unit()
    host.tree[R2]["venv"] = "v2"
    host.http_get = lambda *a, **k: (None, "timed out")
    outcome = run(host, health_timeout=30, trial={})
    assert outcome.result["health"]["seconds"] >= 30 and "is live again" in outcome.failure.msg


# --- the socket -----------------------------------------------------------------------------

def test_a_socket_held_by_another_program_stops_the_switch_before_anything_goes_live():
    host = host_with_unit(socket_active=False, socket_taken=True)
    outcome = run(host)
    assert outcome.failure.extra["stage"] == "socket" and "could not take %s" % BIND in outcome.failure.msg
    assert "Nothing was switched" in outcome.failure.msg and host.live == R1 and "switch" not in host.names()


def test_a_service_moving_to_socket_activation_is_stopped_then_restarted_behind_its_socket():
    host = host_with_unit(socket_active=False)
    plan = plan_for(host)
    assert "moving %s to socket activation" % SERVICE in plan.socket_note
    assert plan.names().index("socket") < plan.names().index("switch") and "restart" in plan.names()
    outcome = run(host)
    assert outcome.failure is None and ("systemctl", "stop", SERVICE) in host.changes
    assert host.socket_active and host.master == R2


# --- rollback ---------------------------------------------------------------------------------

def test_a_rollback_reloads_marks_the_release_left_bad_and_clears_its_target():
    host = host_with_unit(live=R2, master=R2)
    host.tree[R1]["state"] = "bad"
    outcome = run(host, mode="rollback", release=R1, record={}, trial={})
    r = outcome.result
    assert outcome.failure is None and r["reloaded"] and r["marked_bad"] == R2 and host.live == R1
    assert host.tree[R1]["state"] == "good" and host.tree[R2]["state"] == "bad" and host.log == [("rollback", R1)]
    assert "record" not in host.names() and "trial" not in host.names()


def test_a_rollback_forward_by_name_keeps_the_release_left_good():
    host = host_with_unit()
    outcome = run(host, mode="rollback", release=R2, record={}, trial={}, mark_previous_bad=False)
    assert outcome.failure is None and outcome.result["marked_bad"] is None and host.tree[R1]["state"] == "good"


def test_a_rollback_whose_target_fails_puts_the_release_back_and_undoes_its_bad_mark():
    host = host_with_unit(live=R2, master=R2, healthy={R2})
    outcome = run(host, mode="rollback", release=R1, record={}, trial={})
    assert "%s is live again" % R2 in outcome.failure.msg and host.live == R2
    assert host.tree[R2]["state"] == "good" and host.tree[R1]["state"] == "bad"
    assert outcome.result["marked_bad"] == R1 and outcome.result["reverted"]


def test_a_rollback_to_a_name_that_is_not_a_release_is_refused_before_anything():
    host = host_with_unit()
    outcome = run(host, mode="rollback", release=R3, record={}, trial={})
    assert outcome.failure.msg == "%s is not a release in %s" % (R3, PATH)
    assert host.names() == ["give_lock"]


# --- ensure ---------------------------------------------------------------------------------

def test_ensure_with_nothing_changed_only_proves_the_live_release():
    host = host_with_unit()
    assert plan_for(host, mode="ensure", release=None).names() == ["prove"]
    outcome = run(host, mode="ensure", release=None)
    assert outcome.failure is None and not outcome.result["restarted"] and outcome.result["health"]["ok"]
    assert host.names() == ["give_lock"]


@pytest.mark.parametrize("state", ["stopped", "other release"])
def test_ensure_restarts_a_service_that_is_not_running_the_live_release(state):
    host = host_with_unit(master=R2) if state == "other release" else host_with_unit(service_active=False, master=None)
    outcome = run(host, mode="ensure", release=None)
    assert outcome.failure is None and outcome.result["restarted"] and host.master == R1
    reason = "it runs %s, not the live release %s" % (R2, R1) if state == "other release" else "the service is inactive"
    assert reason in outcome.result["restart_reasons"]


def test_ensure_says_when_the_live_release_does_not_come_up():
    host = host_with_unit(service_active=False, master=None, crashes={R1})
    outcome = run(host, mode="ensure", release=None)
    assert "%s does not come up on %s" % (SERVICE, R1) in outcome.failure.msg
    assert outcome.failure.extra["journal"] and host.live == R1


# --- a killed run, check mode, links -------------------------------------------------------

@pytest.mark.parametrize("at", ["record", "switch", "hup"])
def test_a_run_killed_after_the_intent_leaves_the_record_the_next_run_undoes(at):
    host = host_with_unit(kill_at=at)
    with pytest.raises(Killed):
        run(host)
    assert host.intent == dict(op="deploy", previous=R1, target=R2, run="run-1")


def test_check_mode_returns_the_plan_and_touches_nothing():
    host = host_with_unit()
    host.files.clear()
    outcome = run(host, check=True)
    r = outcome.result
    assert host.changes == [] and host.live == R1 and r["unlocked"] is False
    assert r["live"] == R2 and r["switched"] and r["changed"] and r["files_changed"] == [UNIT["path"]]
    assert [s["step"] for s in r["steps"]][:3] == ["trial", "write files", "daemon-reload"]
    assert any(d["before_header"] == "current" and d["after"] == "current -> %s\n" % R2 for d in r["diff"])


def test_a_dry_run_before_the_first_deploy_says_what_would_happen():
    host = FakeHost(exists=False, live=None, master=None)
    outcome = run(host, check=True, release=R1)
    r = outcome.result
    assert outcome.failure is None and host.changes == []
    assert (r["previous"], r["live"], r["switched"]) == (None, R1, True)
    assert r["restart_reasons"] == ["first deploy: %s would be created and started" % SERVICE]


def test_a_real_folder_where_a_link_goes_is_refused_before_anything():
    host = host_with_unit(links={"/home/u/public_html/static": "not a link"})
    outcome = run(host, links=[dict(path="/home/u/public_html/static", target=PATH + "/current/staticfiles")])
    assert outcome.failure.extra["stage"] == "links" and "is not a link" in outcome.failure.msg
    assert host.names() == ["give_lock"]


def test_links_are_made_after_a_proven_switch():
    link = dict(path="~/public_html/static", target=PATH + "/current/staticfiles")
    host = host_with_unit()
    outcome = run(host, links=[link])
    assert outcome.failure is None and host.names()[-2] == "link"
    assert outcome.result["links_changed"] and host.names().index("link") > host.names().index("clear_intent")
