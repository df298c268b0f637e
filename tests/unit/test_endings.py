"""The failure ending (issue 17, item 4): one row per failure path the Molecule suite produces, each
asserting the exact "Live now:" line (what the host read after the failure says runs and answers)
and the exact "Next:" line. None suggests a rollback while the previous release serves; every
suggested command carries -l. The JSON record names what was attempted and what is live (item 6)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COLLECTIONS

from ansible_collections.hknweb.deploy.plugins.action.deploy_summary import append_json
from ansible_collections.hknweb.deploy.plugins.module_utils import ending, story

R1, R2, R3 = "20260101T000000Z", "20260102T000000Z", "20260103T000000Z"
LISTING = [{"name": R1, "revision": "a" * 40, "subject": "Release r1", "ref": "r1", "state": "good"},
           {"name": R2, "revision": "b" * 40, "subject": "Release r2", "ref": "r2", "state": "good"}]
L1 = f'{R1} (aaaaaaaaaaaa, "Release r1", r1)'
L2 = f'{R2} (bbbbbbbbbbbb, "Release r2", r2)'
BEGIN = {"sha": "c" * 40, "subject": "Release r3", "needed": True, "deploy_path": "/srv/p",
         "live": dict(LISTING[1], name=R2), "releases": LISTING}
OK = "GET /health answered 200"


def seen(runs=R2, current=R2, status=200, health=OK, problem=None, releases=LISTING, target=R1, active="active"):
    """releases_info's answer after the failure."""
    return {"deploy_path": "/srv/p", "live": current, "problem": problem, "releases": releases,
            "rollback_target": target,
            "service": {"runs": runs, "active": active, "health_status": status, "health": health}}


KEPT = f"{R2} serves, as before this run (a rollback would go one release further back); "
AGAIN = "; then deploy again: ansible-playbook deploy.yml -l prod"
BUILD = "fix what the cause above names (in the commit, in the knob it names, or on the host)"
LOCK = ("wait for the run that holds the lock; if it was killed, the next ansible-playbook {0}.yml -l prod takes "
        "the lock over by itself once its lease has run out and no stage of it runs (ansible-playbook lock.yml "
        "-l prod shows the holder and the lease)")
OLD_LOCK = ("if the run that holds the lock is over (its lock, from an older version, has no lease): ansible-playbook "
            "lock.yml -l prod -e break=true removes it (ansible-playbook lock.yml -l prod shows it)")

# name: (data, "Live now: ...", "Next: ...")
TABLE = {
    "trial run fails": (
        dict(stage="health check", activate={"live": R2, "marked_bad": R3},
             cause=f"{R3} failed its trial run, so it never went live and {R2} still serves: gunicorn exited with 3 "
                   "before it answered. gunicorn's last lines:\nImportError: hknweb.urls is deliberately broken"),
        f"{L2}: hknweb.service runs it, {OK}",
        KEPT + "the trial run's output above is the cause (the release never served, so the unit's journal holds "
               "nothing of it); fix what it names" + AGAIN),
    "Host refused with 400": (
        dict(stage="health check", activate={"live": R2, "marked_bad": R3},
             cause=f"{R3} failed its trial run, so it never went live and {R2} still serves: GET /health with Host "
                   "example.invalid answered 400: Bad Request",
             seen=seen(status=400, health="GET /health answered 400")),
        # Asked with the same Host header, the live release refuses it too: said as it is.
        f"{L2}: hknweb.service runs it, GET /health answered 400",
        KEPT + "the trial run's output above is the cause (the release never served, so the unit's journal holds "
               "nothing of it); fix what it names" + AGAIN),
    "post-switch failure put back": (
        dict(stage="health check", activate={"live": R2, "previous": R2, "reverted": True, "marked_bad": R3},
             cause=f"{R3} failed its health check after 10s (of 10s allowed): no answer. {R2} is live again"),
        f"{L2}: hknweb.service runs it, {OK}",
        KEPT + "the unit's journal above is the cause (journalctl --user -u hknweb.service -n 100 on the host "
               "shows more); fix what it names" + AGAIN),
    "migrate fails": (
        dict(stage="django", cause="manage.py migrate --noinput failed (exit 1): RuntimeError: migration fails"),
        f"{L2}: hknweb.service runs it, {OK}",
        KEPT + BUILD + AGAIN),
    "install fails": (
        dict(stage="dependencies", cause="poetry install failed (exit 1): the lock file is broken"),
        f"{L2}: hknweb.service runs it, {OK}",
        KEPT + BUILD + AGAIN),
    "lock held": (
        dict(stage="lock", begin={}, cause="deploy.lock is held by alice, for deploy r9, taken 2 h 0 min ago"),
        f"{L2}: hknweb.service runs it, {OK}",
        LOCK.format("deploy")),
    "lock left by a killed run": (
        # Killed mid-switch: current already names the new release, the service still runs the old one.
        dict(stage="lock", begin={}, cause="deploy.lock is held by bob, for deploy r5, taken 4 s ago",
             seen=seen(current=R3, releases=LISTING + [{"name": R3, "revision": "c" * 40, "state": "bad"}])),
        f"{L2}: hknweb.service runs it, {OK}; current names {R3}",
        LOCK.format("deploy")),
    "lock of an older version (no lease)": (
        dict(stage="lock", begin={}, cause="another deploy or rollback holds deploy.lock: carol, for deploy r5, taken "
             "3 h 0 min ago; it carries no lease (taken by an older version). If that run is still going, wait"),
        f"{L2}: hknweb.service runs it, {OK}",
        OLD_LOCK),
    "disk full": (
        dict(stage="Extract the commit r3 into releases/" + R3,
             cause="OSError: [Errno 28] No space left on device: '/srv/p/releases/%s/hknweb'" % R3),
        f"{L2}: hknweb.service runs it, {OK}",
        "free space on the filesystem of /srv/p (df -h /srv/p on the host), then ansible-playbook deploy.yml -l prod "
        "(a deploy prunes what this run left)"),
    "current edited by hand": (
        dict(stage="begin", begin={}, cause="current points to /tmp/elsewhere, which is not a release (nothing was built)",
             seen=seen(current=None, problem="current points to /tmp/elsewhere, which is not a release")),
        f"{L2}: hknweb.service runs it, {OK}; current names no release (current points to /tmp/elsewhere, "
        "which is not a release)",
        f"current was changed by hand: put it back on the host (ln -sfn releases/{R2} /srv/p/current), then "
        "ansible-playbook status.yml -l prod"),
    # The failed release IS the one serving: the only case a rollback is suggested.
    "the live release no longer comes up (no-op deploy)": (
        dict(stage="health check", begin=dict(BEGIN, needed=False, sha="b" * 40),
             cause=f"hknweb.service does not come up on {R2}: no answer",
             seen=seen(status=None, health="ConnectionRefusedError: [Errno 111] Connection refused")),
        f"{L2}: hknweb.service runs it but it does not answer (ConnectionRefusedError: [Errno 111] Connection refused)",
        f"ansible-playbook rollback.yml -l prod puts {R1} back ({R2}, the release that failed, is the one serving); "
        "then fix the cause and deploy again"),
    "a rollback's target fails and is put back": (
        dict(action="rollback", stage="health check", activate={"live": R2, "reverted": True, "marked_bad": R1},
             begin={"live": dict(LISTING[1], name=R2), "target": dict(LISTING[0], name=R1)},
             cause=f"{R1} failed its health check after 5s (of 5s allowed): no answer. {R2} is live again"),
        f"{L2}: hknweb.service runs it, {OK}",
        f"{R2} serves, as before this run; the unit's journal above is the cause (journalctl --user -u hknweb.service "
        "-n 100 on the host shows more); fix what it names; or roll back to another release by name: "
        "ansible-playbook releases.yml -l prod lists them, ansible-playbook rollback.yml -l prod -e release=<name>"),
    # rollback_guard refused: the deploy the officer wants undone never went live (or was reverted by itself).
    "a rollback after a deploy that never went live": (
        dict(action="rollback", stage="begin", begin={"live": dict(LISTING[1], name=R2), "last_run": "deploy never live"},
             cause=f"the deploy of release {R3} (started 2026-01-03T00:00:00Z) never went live: {R2} has served all "
                   f"along, so a rollback now would undo that healthy release, not the deploy. Nothing was changed."),
        f"{L2}: hknweb.service runs it, {OK}",
        f"nothing to undo: {R2} has served all along; to finish that deploy, run it again: ansible-playbook deploy.yml "
        f"-l prod; only if {R2} itself is bad: ansible-playbook rollback.yml -l prod -e deploy_rollback_anyway=true"),
    "nothing serves after a failed first deploy": (
        dict(stage="django", begin=dict(BEGIN, live=None), cause="manage.py migrate failed",
             seen=seen(runs=None, current=None, status=None, health="FileNotFoundError: no socket", releases=[],
                       problem="/srv/p/current does not exist", target=None, active="inactive")),
        "nothing answers: current names no release (/srv/p/current does not exist); hknweb.service is inactive "
        "(FileNotFoundError: no socket)",
        BUILD + AGAIN),
    "the host could not be read": (
        dict(stage="django", cause="manage.py migrate failed", seen={"failed": True, "msg": "ssh: connection reset"}),
        "unknown: the host could not be read after the failure (ssh: connection reset)",
        "ansible-playbook status.yml -l prod shows what the host runs and answers; fix the cause above"),
}


def ending_of(data):
    full = dict(action="deploy", environment="prod", host="h", failed=True, unit="hknweb.service",
                release=R3, ref="r3", begin=BEGIN, seen=seen(), started=1767225600, ended=1767225642.5,
                hints=[{"match": " answered 400", "say": "set deploy_healthcheck_host"}])
    full.update(data)
    return story.failure_ending(full)


@pytest.mark.parametrize("name", TABLE)
def test_every_failure_path_ends_with_what_the_host_runs_and_a_safe_next_step(name):
    data, live, step = TABLE[name]
    message, out, _ = ending_of(data)
    lines = message.splitlines()
    assert "Live now: " + live in lines, message
    assert "Next: " + step in lines, message
    assert out["next"] == step


@pytest.mark.parametrize("name", TABLE)
def test_no_rollback_while_the_previous_release_serves_and_every_command_is_scoped(name):
    data, _, step = TABLE[name]
    _, out, _ = ending_of(data)
    if "rollback.yml -l prod puts" in step:
        assert out["live"]["release"] == out["attempted"]["release"], "a rollback only for the release that failed"
    elif (data.get("action") or "deploy") == "deploy":
        assert "rollback.yml" not in step
    commands = re.findall(r"ansible-playbook \S+", step)
    assert len(re.findall(r"ansible-playbook \S+\.yml -l prod\b", step)) == len(commands) >= 1 or \
        not commands and "ln -sfn" in step, step


def test_the_hint_still_comes_from_data():
    message, _, _ = ending_of(TABLE["Host refused with 400"][0])
    assert "Hint: set deploy_healthcheck_host" in message.splitlines()


def test_the_record_of_a_failed_deploy_names_what_was_attempted_and_what_is_live_with_times():
    _, out, _ = ending_of(TABLE["trial run fails"][0])
    assert out["result"] == "failed"
    assert out["attempted"] == {"ref": "r3", "commit": "c" * 40, "subject": "Release r3", "release": R3}
    assert (out["release"], out["commit"], out["ref"]) == (R2, "b" * 40, "r2"), "top level: what is live"
    assert out["live"]["release"] == R2 and out["live"]["answers"] and out["live"]["read_from_host"]
    assert (out["started"], out["ended"]) == ("2026-01-01T00:00:00Z", "2026-01-01T00:00:42Z")
    json.dumps(out)


def test_the_record_of_a_good_deploy_names_the_same_attempt_and_live_release():
    activate = {"live": R3, "previous": R2, "health": {"ok": True, "detail": OK}}
    out, _ = story.summary(dict(action="deploy", environment="prod", begin=BEGIN, activate=activate, release=R3,
                                ref="r3", started=1767225600, ended=1767225601))
    assert out["attempted"]["release"] == out["live"]["release"] == out["release"] == R3
    assert out["attempted"]["commit"] == out["commit"] == "c" * 40 and out["live"]["answers"] is True


def test_a_rollback_says_which_commit_it_leaves_and_which_it_lands_on():
    begin = {"live": dict(LISTING[1], name=R2), "target": dict(LISTING[0], name=R1), "direction": "back",
             "releases": LISTING}
    out, lines = story.summary(dict(action="rollback", environment="prod", begin=begin,
                                    activate={"live": R1, "previous": R2, "marked_bad": R2}))
    assert "  commits:   leaves bbbbbbbbbbbb, lands on aaaaaaaaaaaa" in lines
    assert out["attempted"] == {"ref": "r1", "commit": "a" * 40, "subject": "Release r1", "release": R1}


def test_an_unwritable_summary_file_is_a_warning_not_a_failure(tmp_path):
    assert append_json(str(tmp_path / "s.jsonl"), {"a": 1}) is None
    assert json.loads((tmp_path / "s.jsonl").read_text()) == {"a": 1}
    warning = append_json(str(tmp_path / "missing" / "s.jsonl"), {"a": 1})
    assert warning.startswith("the summary was not written to DEPLOY_SUMMARY_JSON=") and "No such file" in warning


def test_serving_prefers_the_process_over_the_link():
    facts = ending.serving(seen(runs=R1, current=R2))
    assert (facts["release"], facts["current"]) == (R1, R2)
    assert ending.serving(seen(runs=None, status=200))["release"] is None, "an answer alone names no release"
    text, _ = ending.live_now(seen(runs=None, status=200, active="inactive"), "hknweb.service")
    assert text == f"no release: hknweb.service runs nothing, yet {OK} (another program on its address?); " \
                   f"current names {L2}"
    assert ending.serving(seen(runs=None, status=None))["release"] is None
    assert ending.serving({})["ok"] is False
    # The rescue reads with failed_when: false, which turns "failed" off: the missing answer tells.
    assert ending.serving({"failed": False, "failed_when_result": False, "msg": "boom"})["ok"] is False


PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


@pytest.mark.skipif(not PLAYBOOK.exists(), reason=f"no ansible-playbook next to {sys.executable}")
def test_a_good_run_with_an_unwritable_summary_file_still_succeeds(tmp_path):
    """Through the real action plugin: the summary task warns and the play ends ok (rc 0)."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{"hknweb.deploy.deploy_summary": {
        "action": "rollback", "environment": "prod", "host": "localhost",
        "begin": {"live": dict(LISTING[1], name=R2), "target": dict(LISTING[0], name=R1)},
        "activate": {"live": R1, "previous": R2, "marked_bad": R2}, "started": 1767225600}}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               DEPLOY_SUMMARY_JSON=str(tmp_path / "no-such-folder" / "summary.jsonl"))
    done = subprocess.run([str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the summary was not written to DEPLOY_SUMMARY_JSON=" in " ".join((done.stdout + done.stderr).split())


def test_a_rollback_that_stays_says_why_and_claims_no_switch():
    begin = {"live": dict(LISTING[1], name=R2), "target": dict(LISTING[1], name=R2), "direction": "none",
             "releases": LISTING, "stayed": "the last rollback already completed: %s went live at T (by bob)" % R2}
    out, lines = story.summary(dict(action="rollback", environment="prod", host="h", begin=begin,
                                    activate={"live": R2, "previous": R2, "health": {"ok": True, "detail": OK}}))
    assert lines[0].startswith("Rollback kept the live release of prod on h")
    assert any(line.startswith("  what:      stay at %s: the last rollback already completed" % L2) for line in lines), lines
    assert not any(line.startswith("  commits:") for line in lines)
    assert out["stayed"] == begin["stayed"] and out["release"] == R2 and not out["marked_bad"]


def test_the_hints_of_the_deploy_role_reach_the_ending():
    import yaml
    hints = yaml.safe_load((Path(COLLECTIONS).parent / "roles/deploy/vars/main.yml").read_text())["__deploy_hints"]
    assert len(hints) >= 4
    for hint in hints:
        message, _, _ = ending_of(dict(stage="health check", cause="it failed:%s here" % hint["match"], hints=hints))
        assert "Hint: " + " ".join(hint["say"].split()) in " ".join(message.split()), message


def test_a_rescue_keeps_the_stage_the_module_named_or_the_task():
    kept = ending.failure_of({"msg": "boom", "stage": "switch", "begin": {"x": 1}}, "2. Roll back")
    assert kept == {"stage": "switch", "cause": "boom", "result": {"msg": "boom", "stage": "switch", "begin": {"x": 1}}}
    assert ending.failure_of({}, "3. Release") == {"stage": "3. Release", "cause": "unknown", "result": {}}
