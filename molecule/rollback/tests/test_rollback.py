"""Rollback on the real test host (prod alias): A, B, C deployed; roll back twice; forward by name.
The test alias keeps its single release for the refusal case. Tests run in file order."""
import re

import pytest

from deploytest import (current_release, env_name, env_of, flat, health, main_pid, marks, only_on, playbook,
                        recap, refs, release_names, state)

# Release names by the ref they were deployed from, filled as the tests go.
DEPLOYED = {}


def prod_only(host):
    only_on(host, "prod", "prod carries the A/B/C history; test keeps a single release")


def live_now_r3(live, health="GET /health answered 200"):
    """The "Live now:" line of a failure while the r3 release serves (read from the host after it)."""
    return f'Live now: {live} ({refs()["r3"][:12]}, "Release r3 (VERSION r3)", r3): hknweb.service runs it, {health}'


def next_of(out):
    """The "Next:" text of a failure ending (flattened output)."""
    return out.split("Next: ", 1)[1].split(" PLAY RECAP", 1)[0]


KEPT = "serves, as before this run (a rollback would go one release further back); "
AGAIN = "; then deploy again: ansible-playbook deploy.yml -l prod"


def test_single_release_rollback_is_refused_and_changes_nothing(host):
    if env_name(host) != "test":
        pytest.skip("test is the environment with a single release")
    before = state(host)
    done = playbook("rollback.yml", "hknweb-test")
    assert done.returncode != 0
    out = flat(done.output)
    assert "no good release older than the live release" in out, out[-2000:]
    live = current_release(host)
    assert f"Live now: {live} (" in out and f"{env_of(host)['unit']} runs it, GET /health answered 200" in out, out[-2000:]
    assert next_of(out).startswith(f"{live} serves, as before this run; fix what the cause above names (nothing was "
                                   "changed); or roll back to another release by name: ansible-playbook releases.yml "
                                   "-l test lists them, ansible-playbook rollback.yml -l test -e release=<name>"), out
    assert state(host) == before


def home_tree(host):
    """Every path under the home with its type and mtime (Ansible's own temporary folder aside)."""
    return host.run("cd ~ && find . -path ./.ansible -prune -o -printf '%y %T@ %p\\n' | sort").stdout


def test_rollback_on_an_environment_never_deployed_writes_nothing(host):
    # issue 18 item 5: it used to make the layout and write secrets.py before refusing.
    if env_name(host) != "test":
        pytest.skip("one alias is enough")
    before = home_tree(host)
    done = playbook("rollback.yml", "hknweb-test", "-e", "deploy_path=~/hknweb/never")
    assert done.returncode != 0
    out = flat(done.output)
    assert "nothing was ever deployed to /home/hkn/hknweb/never" in out and "Nothing was changed" in out, out[-2000:]
    assert home_tree(host) == before
    # a deploy path with a layout but nothing live: refused the same way, nothing written either
    host.run("mkdir -p ~/hknweb/never/releases")
    before = home_tree(host)
    done = playbook("rollback.yml", "hknweb-test", "-e", "deploy_path=~/hknweb/never")
    after = home_tree(host)
    host.run("rm -r ~/hknweb/never")
    assert done.returncode != 0
    assert "nothing is live (no current link)" in flat(done.output)
    assert after == before


def test_deploy_a_b_c(host):
    prod_only(host)
    for ref in ("r1", "r2", "r3"):
        done = playbook("deploy.yml", "hknweb-prod", "-e", f"revision={ref}")
        assert done.returncode == 0, done.output[-3000:]
        DEPLOYED[ref] = current_release(host)
        assert health(host)["revision"] == refs()[ref]
    assert len(set(DEPLOYED.values())) == 3


def test_rollback_goes_to_b_and_marks_c_bad(host):
    prod_only(host)
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == DEPLOYED["r2"]
    assert health(host)["revision"] == refs()["r2"]
    assert ".deploy-bad" in marks(host, DEPLOYED["r3"])
    assert DEPLOYED["r3"] in release_names(host), "the bad release is kept for inspection"
    log = host.file(env_of(host)["path"] + "/revisions.log").content_string.splitlines()[-1].split("\t")
    assert log[1:4] == ["rollback", DEPLOYED["r2"], refs()["r2"]]


def test_a_plain_rollback_right_after_a_rollback_stays_and_says_when_and_by_whom(host):
    # issue 18 item 7: what a rerun after a killed controller does when the rollback had completed.
    prod_only(host)
    before, pid = state(host), main_pid(host)
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert f"the last rollback already completed: {DEPLOYED['r2']} went live at " in out, out[-3000:]
    assert "-e deploy_rollback_anyway=true" in out and "Rollback kept the live release of prod" in out
    assert state(host) == before and main_pid(host) == pid and health(host)["revision"] == refs()["r2"]
    summary, = done.summaries
    assert summary["stayed"] and summary["release"] == DEPLOYED["r2"] and summary["marked_bad"] is None
    assert done.calls == {"hknweb-prod": 1}, done.calls


def test_second_rollback_goes_one_further_back_not_forth(host):
    prod_only(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", "deploy_rollback_anyway=true")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == DEPLOYED["r1"]
    assert health(host)["revision"] == refs()["r1"]
    assert ".deploy-bad" in marks(host, DEPLOYED["r2"])


def test_rollback_to_the_live_release_changes_nothing(host):
    prod_only(host)
    pid = main_pid(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", f"release={DEPLOYED['r1']}")
    assert done.returncode == 0, done.output[-3000:]
    assert recap(done, "hknweb-prod")["changed"] == 0
    assert current_release(host) == DEPLOYED["r1"] and main_pid(host) == pid


def test_rollback_forward_by_name_brings_c_back_and_keeps_what_it_leaves_good(host):
    prod_only(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", f"release={DEPLOYED['r3']}")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == DEPLOYED["r3"]
    assert health(host)["revision"] == refs()["r3"]
    assert ".deploy-bad" not in marks(host, DEPLOYED["r3"])
    # Forward, not back: the release it leaves (r1) is not judged bad, so nothing prunes it for that.
    assert ".deploy-bad" not in marks(host, DEPLOYED["r1"])
    summary, = done.summaries
    assert summary["marked_bad"] is None and summary["previous"] == DEPLOYED["r1"]
    assert "roll forward from " + DEPLOYED["r1"] in flat(done.output)


def test_unknown_release_name_lists_the_available_ones(host):
    prod_only(host)
    before = state(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", "release=20000101T000000Z")
    assert done.returncode != 0
    assert "20000101T000000Z" in done.output
    for name in DEPLOYED.values():
        assert name in done.output
    assert state(host) == before


def test_release_listing_has_headers_commit_subject_ref_and_state(host):
    prod_only(host)
    done = playbook("releases.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.stdout)
    assert "RELEASE STATE COMMIT REF BY TIME SUBJECT" in out
    sha = refs()["r3"][:12]
    assert re.search(DEPLOYED["r3"] + r" good LIVE " + sha + r" r3 .*?Release r3 \(VERSION r3\)", out), out[-3000:]
    assert re.search(DEPLOYED["r1"] + r" good <-back ", out) and re.search(DEPLOYED["r2"] + r" bad ", out)


def test_failed_migration_leaves_the_live_release_serving_and_says_why(host):
    prod_only(host)
    live = current_release(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=broken-migration")
    assert done.returncode != 0
    out = flat(done.output)
    assert "stage 'django'" in out and "manage.py migrate --noinput failed" in out
    assert "RuntimeError: migration 0002_broken fails on purpose" in out  # the cause, not a bare exit code
    assert live_now_r3(live) in out, out[-3000:]
    assert f"Next: {live} {KEPT}fix what the cause above names (in the commit, in the knob it names, or on the " \
           f"host){AGAIN}" in out, out[-3000:]
    assert current_release(host) == live
    assert health(host)["revision"] == refs()["r3"]
    newest = release_names(host)[-1]
    # No completion record: incomplete, never a rollback target, pruned by the next deploy.
    assert newest != live and ".deploy-complete" not in marks(host, newest)


def test_a_broken_import_fails_with_its_cause(host):
    prod_only(host)
    live = current_release(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=broken-import")
    assert done.returncode != 0
    out = flat(done.output)
    assert "ImportError: hknweb.urls is deliberately broken" in out, out[-3000:]
    assert live_now_r3(live) in out and "rollback.yml" not in next_of(out), out[-3000:]
    assert current_release(host) == live and health(host)["revision"] == refs()["r3"]


def test_a_release_that_fails_its_trial_run_never_goes_live(host):
    prod_only(host)
    live, pid = current_release(host), main_pid(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=broken-import",
                    "-e", "app_django_migrate=false", "-e", "app_django_collectstatic=false")
    assert done.returncode != 0
    out = flat(done.output)
    assert f"failed its trial run, so it never went live and {live} still serves" in out, out[-3000:]
    assert "ImportError: hknweb.urls is deliberately broken" in out, "gunicorn's own lines give the cause"
    # The journal holds nothing of a release that never served: the trial's output is the cause.
    assert live_now_r3(live) in out and f"Next: {live} {KEPT}the trial run's output above is the cause (the " \
        f"release never served, so the unit's journal holds nothing of it); fix what it names{AGAIN}" in out, out[-3000:]
    assert current_release(host) == live and main_pid(host) == pid, "the live service was never touched"
    assert ".deploy-bad" in marks(host, release_names(host)[-1])


def test_release_that_fails_after_the_switch_is_reverted_and_marked_bad(host):
    prod_only(host)
    live = current_release(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=broken-import",
                    "-e", "app_django_migrate=false", "-e", "app_django_collectstatic=false",
                    "-e", "deploy_trial_run=false", "-e", "deploy_healthcheck_timeout=10")
    assert done.returncode != 0
    out = flat(done.output)
    assert f"{live} is live again" in out, out[-3000:]
    assert "stage 'health check'" in out and "journalctl --user -u hknweb.service" in out
    # Put back: the previous release serves, so a rollback would go one too far.
    assert live_now_r3(live) in out and f"Next: {live} {KEPT}the unit's journal above is the cause (journalctl " \
        f"--user -u hknweb.service -n 100 on the host shows more); fix what it names{AGAIN}" in out, out[-3000:]
    assert current_release(host) == live
    assert health(host)["revision"] == refs()["r3"]
    broken = release_names(host)[-1]
    assert {".deploy-bad", ".deploy-complete"} <= marks(host, broken)
    log = host.file(env_of(host)["path"] + "/revisions.log").content_string.splitlines()
    assert log[-1].split("\t")[1:3] == ["revert", live]


def test_a_health_check_refused_by_allowed_hosts_names_the_knob(host):
    prod_only(host)
    live = current_release(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r4", "-e", "deploy_healthcheck_host=example.invalid",
                    "-e", "deploy_healthcheck_timeout=5")
    assert done.returncode != 0
    out = flat(done.output)
    assert "with Host example.invalid answered 400" in out, out[-3000:]
    assert "Hint: the app refused the health check's Host header; set deploy_healthcheck_host" in out
    assert f"{live} still serves" in out, out[-3000:]
    # Read back with the same Host header: the live release refuses it too, and the ending says so.
    assert live_now_r3(live, "GET /health answered 400") in out, out[-3000:]
    assert next_of(out).startswith(f"{live} {KEPT}the trial run's output above is the cause"), out[-3000:]
    assert current_release(host) == live and health(host)["revision"] == refs()["r3"]


def test_a_rollback_skips_a_release_of_the_commit_it_leaves(host):
    prod_only(host)
    live = current_release(host)
    assert health(host)["revision"] == refs()["r3"]
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r3", "-e", "deploy_force=true")
    assert done.returncode == 0, done.output[-3000:]
    forced = current_release(host)
    assert forced != live and health(host)["revision"] == refs()["r3"]
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    # Not the r3 release before it (the same commit): the newest good one of another commit.
    assert current_release(host) == DEPLOYED["r1"] and health(host)["revision"] == refs()["r1"]
    assert f"commits: leaves {refs()['r3'][:12]}, lands on {refs()['r1'][:12]}" in flat(done.output)
    summary, = done.summaries
    assert summary["attempted"]["release"] == summary["live"]["release"] == DEPLOYED["r1"]
    assert summary["started"].endswith("Z") and summary["ended"] >= summary["started"]
    # Back to the r3 release by name (forward: r1 stays good) for the killed runs that follow.
    done = playbook("rollback.yml", "hknweb-prod", "-e", f"release={live}")
    assert done.returncode == 0 and current_release(host) == live, done.output[-3000:]
