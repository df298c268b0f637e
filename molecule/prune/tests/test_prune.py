"""Pruning on the real test host (prod alias): eight deploys with keep 5, with non-release entries
and an unfinished release planted in releases/. Tests run in file order."""
import pytest

from deploytest import current_release, env_name, env_of, flat, health, playbook, recap, refs, release_names

PLANTED_FILES = ["notes.txt", "20200101T000000Z-copy", "backup"]
PLANTED_LINK = "20200102T000000Z"          # release-shaped name, but a symlink out of releases/
UNFINISHED = "20200103T000000Z"            # an old deploy that died half-way (older marker)
EMPTY = "20200104T000000Z"                 # a deploy that died at mkdir (a full disk): no record at all
LEGACY = "20200105T000000Z"                # a complete release of the layout before completion records
DEPLOYED = []                              # release names in deploy order, filled as the tests go


def prod_only(host):
    if env_name(host) != "prod":
        pytest.skip("the prune history is built on prod")


def releases_dir(host):
    return env_of(host)["path"] + "/releases"


def test_plant_entries_that_are_not_releases(host):
    prod_only(host)
    d = releases_dir(host)
    cmd = (f"set -e; cd {d}; echo keep > notes.txt; mkdir -p 20200101T000000Z-copy backup; "
           f"echo keep > backup/file; mkdir -p ~/outside; echo precious > ~/outside/data; "
           f"ln -s ~/outside {PLANTED_LINK}; mkdir {UNFINISHED}; touch {UNFINISHED}/.deploy-unfinished; "
           f"mkdir {EMPTY}; mkdir -p {LEGACY}/venv/bin; touch {LEGACY}/venv/bin/python; echo abc > {LEGACY}/REVISION")
    assert host.run(cmd).rc == 0
    DEPLOYED.append(current_release(host))  # converge deployed master (r8)


def test_incomplete_releases_are_never_a_rollback_target(host):
    prod_only(host)
    out = flat(playbook("releases.yml", "hknweb-prod").stdout)
    assert f"{UNFINISHED} unfinished " in out and f"{EMPTY} unfinished " in out, out[-3000:]
    # The only older complete release is the legacy one: it is the rollback target, never the empty one.
    assert f"{LEGACY} good <-back " in out
    refused = playbook("rollback.yml", "hknweb-prod", "-e", f"release={EMPTY}")
    assert refused.returncode != 0 and f"release {EMPTY} is unfinished" in flat(refused.output)


def test_check_mode_reports_what_would_go_and_removes_nothing(host):
    prod_only(host)
    before = release_names(host)
    done = playbook("deploy.yml", "hknweb-prod", "--check", "--diff")
    assert done.returncode == 0, done.output[-3000:]
    pruned = flat(done.output).split("pruned: ")[1]
    assert UNFINISHED in pruned and EMPTY in pruned  # listed as to be removed
    assert release_names(host) == before


def test_eight_deploys_keep_five_good_releases(host):
    prod_only(host)
    # converge deployed master (== r8); seven more commits make eight deploys in all.
    for ref in ("r1", "r2", "r3", "r4", "r5", "r6", "r7"):
        done = playbook("deploy.yml", "hknweb-prod", "-e", f"revision={ref}")
        assert done.returncode == 0, done.output[-3000:]
        DEPLOYED.append(current_release(host))
    assert health(host)["revision"] == refs()["r7"]
    names = [n for n in release_names(host) if len(n) == 16 and n != PLANTED_LINK]
    assert names == DEPLOYED[-5:], "the five newest good releases, by name; incomplete and legacy ones went first"
    # One dependency set, one venv; nothing else is left under venvs/.
    assert len(host.run(f"ls {env_of(host)['path']}/venvs").stdout.split()) == 1


def test_live_release_and_rollback_target_survive_any_keep(host):
    prod_only(host)
    live = current_release(host)
    good = [n for n in release_names(host) if len(n) == 16 and n != PLANTED_LINK]
    target = good[-2]
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r7", "-e", "deploy_keep_releases=1")
    assert done.returncode == 0, done.output[-3000:]
    left = [n for n in release_names(host) if len(n) == 16 and n != PLANTED_LINK]
    assert left == [target, live] == DEPLOYED[-2:]
    summary, = done.summaries
    assert summary["pruned"] == DEPLOYED[-5:-2], "a run that makes no release still names what it pruned"


def test_entries_that_are_not_releases_survive(host):
    prod_only(host)
    d = releases_dir(host)
    assert host.file(f"{d}/notes.txt").content_string == "keep\n"
    assert host.file(f"{d}/backup/file").exists
    assert host.file(f"{d}/20200101T000000Z-copy").is_directory
    assert host.file(f"{d}/{PLANTED_LINK}").is_symlink
    # The symlink was never followed out of releases/.
    assert host.file(f"{env_of(host)['path'].rsplit('/hknweb/', 1)[0]}/outside/data").content_string == "precious\n"


def test_pruning_again_changes_nothing(host):
    prod_only(host)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r7", "-e", "deploy_keep_releases=1")
    assert done.returncode == 0
    assert recap(done, "hknweb-prod")["changed"] == 0, done.output[-3000:]


def test_bad_keep_is_refused_before_any_change(host):
    prod_only(host)
    before = release_names(host)
    for bad, words in (("0", "deploy_keep_releases: is 0; keep at least 1 release"),
                       ("-3", "deploy_keep_releases: is -3; keep at least 1 release"),
                       ("lots", "argument 'deploy_keep_releases' is of type")):
        done = playbook("deploy.yml", "hknweb-prod", "-e", f"deploy_keep_releases={bad}")
        assert done.returncode != 0
        assert words in flat(done.output), flat(done.output)[-2000:]
    assert release_names(host) == before
