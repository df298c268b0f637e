"""What goes out (issue 20, item 5): the commits between the live commit and the new one, read from a
real git repository (a mirror like the host's): exactly those between, newest first, capped with the
full count; the commits a rollback takes back; unknown (and said why) when nothing is live or a commit
is not in the mirror; and the lines the deploy prints."""

import subprocess

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import pending
from ansible_collections.hknweb.deploy.plugins.module_utils.host import run


def git(repo, *args):
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "Ann Author",
           "GIT_AUTHOR_EMAIL": "a@example.invalid", "GIT_COMMITTER_NAME": "C", "GIT_COMMITTER_EMAIL": "c@example.invalid",
           "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    work = tmp_path_factory.mktemp("repo")
    git(work, "init", "-q", "-b", "master")
    shas = []
    for n in range(1, 16):
        (work / "VERSION").write_text(f"r{n}\n")
        git(work, "add", "VERSION")
        git(work, "commit", "-q", "-m", f"Release r{n}")
        shas.append(git(work, "rev-parse", "HEAD"))
    return work, shas


def test_a_deploy_from_r6_to_r8_lists_exactly_r7_and_r8_newest_first(repo):
    work, shas = repo
    found = pending.between(run, str(work), shas[5], shas[7])
    assert found["known"] and found["back"] == {"commits": [], "count": 0}
    assert [c["sha"] for c in found["out"]["commits"]] == [shas[7], shas[6]] and found["out"]["count"] == 2
    assert found["out"]["commits"][0] == {"sha": shas[7], "short": shas[7][:12], "author": "Ann Author",
                                          "subject": "Release r8"}


def test_the_list_is_capped_and_the_count_is_the_whole(repo):
    work, shas = repo
    found = pending.between(run, str(work), shas[0], shas[14], limit=3)
    assert len(found["out"]["commits"]) == 3 and found["out"]["count"] == 14
    said = pending.lines(found)
    assert said[0] == "commits going out (14):" and said[-1] == "  ... and 11 more"


def test_going_to_an_older_commit_lists_what_it_takes_back(repo):
    work, shas = repo
    found = pending.between(run, str(work), shas[7], shas[5])
    assert found["out"]["count"] == 0 and [c["subject"] for c in found["back"]["commits"]] == ["Release r8", "Release r7"]
    assert pending.lines(found, "rollback") == ["commits taken back (2):", f"  {shas[7][:12]} Release r8 (Ann Author)",
                                                f"  {shas[6][:12]} Release r7 (Ann Author)"]


def test_nothing_is_listed_without_a_live_commit_or_a_commit_the_mirror_lacks(repo, tmp_path):
    work, shas = repo
    assert pending.between(run, str(work), None, shas[1])["why"] == "nothing is live yet"
    missing = pending.between(run, str(work), shas[1], "f" * 40)
    assert not missing["known"] and "not both in the mirror" in missing["why"]
    assert pending.lines(missing) == ["commits: not listed (%s)" % missing["why"]]
    assert not pending.between(run, str(tmp_path / "no-mirror"), shas[0], shas[1])["known"]


def test_the_same_commit_lists_nothing(repo):
    work, shas = repo
    found = pending.between(run, str(work), shas[3], shas[3])
    assert found["known"] and pending.lines(found) == ["commits: none between the live commit and this one"]
    assert pending.lines(None) == []
