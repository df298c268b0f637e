"""Pruning on the real test host (prod alias): eight deploys with keep 5, with non-release entries
and an unfinished release planted in releases/. Tests run in file order."""
import pytest

from deploytest import as_root, current_release, env_name, env_of, health, playbook, recap, refs, release_names

PLANTED_FILES = ["notes.txt", "20200101T000000Z-copy", "backup"]
PLANTED_LINK = "20200102T000000Z"          # release-shaped name, but a symlink out of releases/
UNFINISHED = "20200103T000000Z"            # an old deploy that died half-way


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
           f"ln -s ~/outside {PLANTED_LINK}; mkdir {UNFINISHED}; touch {UNFINISHED}/.deploy-unfinished")
    assert host.run(cmd).rc == 0


def test_check_mode_reports_what_would_go_and_removes_nothing(host):
    prod_only(host)
    before = release_names(host)
    done = playbook("deploy.yml", "hknweb-prod", "--check", "--diff")
    assert done.returncode == 0, done.output[-3000:]
    assert UNFINISHED in done.output           # listed as to be removed
    assert release_names(host) == before


def test_eight_deploys_keep_five_good_releases(host):
    prod_only(host)
    # converge deployed master (== r8); seven more commits make eight deploys in all.
    for ref in ("r1", "r2", "r3", "r4", "r5", "r6", "r7"):
        done = playbook("deploy.yml", "hknweb-prod", "-e", f"revision={ref}")
        assert done.returncode == 0, done.output[-3000:]
    assert health(host)["revision"] == refs()["r7"]
    names = [n for n in release_names(host) if n[:2] == "20" and len(n) == 16]
    releases = [n for n in names if n not in (PLANTED_LINK, UNFINISHED)]
    assert len(releases) == 5, names
    assert current_release(host) == releases[-1]
    assert UNFINISHED not in names, "unfinished releases go first"


def test_live_release_and_rollback_target_survive_any_keep(host):
    prod_only(host)
    live = current_release(host)
    good = [n for n in release_names(host) if len(n) == 16 and n != PLANTED_LINK]
    target = good[-2]
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r7", "-e", "deploy_keep_releases=1")
    assert done.returncode == 0, done.output[-3000:]
    left = [n for n in release_names(host) if len(n) == 16 and n != PLANTED_LINK]
    assert left == [target, live]


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
    for bad in ("0", "-3", "lots"):
        done = playbook("deploy.yml", "hknweb-prod", "-e", f"deploy_keep_releases={bad}")
        assert done.returncode != 0
        assert "deploy_keep_releases" in done.output, done.output[-2000:]
    assert release_names(host) == before
    assert as_root("true").returncode == 0
