"""Rollback on the real test host (prod alias): A, B, C deployed; roll back twice; forward by name.
The test alias keeps its single release for the refusal case. Tests run in file order."""
import pytest

from deploytest import current_release, env_name, env_of, health, playbook, recap, refs, release_names, state

# Release names by the ref they were deployed from, filled as the tests go.
DEPLOYED = {}


def prod_only(host):
    if env_name(host) != "prod":
        pytest.skip("prod carries the A/B/C history; test keeps a single release")


def marks(host, name):
    out = host.run(f"ls -A {env_of(host)['path']}/releases/{name}")
    return {m for m in out.stdout.split() if m.startswith(".deploy-")}


def test_single_release_rollback_is_refused_and_changes_nothing(host):
    if env_name(host) != "test":
        pytest.skip("test is the environment with a single release")
    before = state(host)
    done = playbook("rollback.yml", "hknweb-test")
    assert done.returncode != 0
    assert "no good release older than the live release" in done.output, done.output[-2000:]
    assert state(host) == before


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


def test_second_rollback_goes_one_further_back_not_forth(host):
    prod_only(host)
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == DEPLOYED["r1"]
    assert health(host)["revision"] == refs()["r1"]
    assert ".deploy-bad" in marks(host, DEPLOYED["r2"])


def test_rollback_to_the_live_release_changes_nothing(host):
    prod_only(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", f"release={DEPLOYED['r1']}")
    assert done.returncode == 0, done.output[-3000:]
    assert recap(done, "hknweb-prod")["changed"] == 0
    assert current_release(host) == DEPLOYED["r1"]


def test_rollback_by_name_brings_c_back_and_clears_its_mark(host):
    prod_only(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", f"release={DEPLOYED['r3']}")
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == DEPLOYED["r3"]
    assert health(host)["revision"] == refs()["r3"]
    assert ".deploy-bad" not in marks(host, DEPLOYED["r3"])
    assert ".deploy-bad" in marks(host, DEPLOYED["r1"])


def test_unknown_release_name_lists_the_available_ones(host):
    prod_only(host)
    before = state(host)
    done = playbook("rollback.yml", "hknweb-prod", "-e", "release=20000101T000000Z")
    assert done.returncode != 0
    assert "20000101T000000Z" in done.output
    for name in DEPLOYED.values():
        assert name in done.output
    assert state(host) == before


def test_release_listing_shows_commit_ref_and_state(host):
    prod_only(host)
    done = playbook("releases.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    lines = {line.split()[1]: line for line in done.stdout.splitlines()
             if line.strip().startswith("- 20")}
    assert "LIVE" in lines[DEPLOYED["r3"]] and refs()["r3"][:12] in lines[DEPLOYED["r3"]]
    assert " r3 " in lines[DEPLOYED["r3"]]
    assert "bad" in lines[DEPLOYED["r1"]] and "bad" in lines[DEPLOYED["r2"]]


def test_failed_migration_leaves_the_live_release_serving(host):
    prod_only(host)
    live = current_release(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=broken-migration")
    assert done.returncode != 0
    assert "The live release is unchanged" in done.output
    assert current_release(host) == live
    assert health(host)["revision"] == refs()["r3"]
    newest = release_names(host)[-1]
    assert newest != live and ".deploy-unfinished" in marks(host, newest)


def test_release_that_fails_to_boot_is_reverted_and_marked_bad(host):
    prod_only(host)
    live = current_release(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=broken-import",
                    "-e", "deploy_django_migrate=false", "-e", "deploy_django_collectstatic=false",
                    "-e", "deploy_healthcheck_timeout=10")
    assert done.returncode != 0
    assert f"{live} is live again" in done.output, done.output[-3000:]
    assert current_release(host) == live
    assert health(host)["revision"] == refs()["r3"]
    broken = release_names(host)[-1]
    assert ".deploy-bad" in marks(host, broken)
    # The revert is on record.
    assert "revert-of-" + broken in host.file(env_of(host)["path"] + "/revisions.log").content_string
