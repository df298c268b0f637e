"""Run both modules through a real `ansible localhost -c local` and check the disk afterwards."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COLLECTIONS, live_of, survivors

ANSIBLE = Path(sys.executable).parent / "ansible"
D = {n: f"202601{n:02d}T000000Z" for n in range(1, 29)}
RESULT = re.compile(r"^localhost \| (?P<status>[A-Z]+)!? => ", re.M)

pytestmark = pytest.mark.skipif(not ANSIBLE.exists(), reason=f"no ansible next to {sys.executable}")


@pytest.fixture(scope="module")
def ansible_env(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("cfg") / "ansible.cfg"
    cfg.write_text(
        "[defaults]\n"
        f"collections_path = {COLLECTIONS}\n"
        "deprecation_warnings = False\n"
        "localhost_warning = False\n"
        "nocolor = True\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(cfg)  # the collection must come from this repository
    return env


@pytest.fixture
def run(ansible_env):
    """run(module, args, *flags) -> (status, result dict, stdout)."""

    def run_module(module, args, *flags):
        if isinstance(args, dict):
            args = json.dumps(args)
        cmd = [str(ANSIBLE), "localhost", "-c", "local", "-m", f"hknweb.deploy.{module}", "-a", args, *flags]
        proc = subprocess.run(cmd, env=ansible_env, capture_output=True, text=True, timeout=120)
        match = RESULT.search(proc.stdout)
        assert match, f"no result in output:\n{proc.stdout}\n{proc.stderr}"
        result, _ = json.JSONDecoder().raw_decode(proc.stdout[match.end():])
        return match["status"], result, proc.stdout

    return run_module


@pytest.fixture
def tree(deploy):
    """Five good releases, a bad and an unfinished newer one, junk, live = D[5]."""
    path = deploy(
        {D[1]: "good", D[2]: "good", D[3]: "good", D[4]: "good", D[5]: "good", D[6]: "bad", D[7]: "unfinished"},
        live=D[5],
    )
    (path / "releases" / "README").write_text("not a release\n")
    os.symlink("../shared", path / "releases" / D[8])  # release-shaped symlink
    (path / "shared").mkdir()
    (path / "shared" / "keep-me").write_text("x")
    (path / "revisions.log").write_text(
        f"2026-01-05T00:00:00Z\tdeploy\t{D[5]}\t{'a' * 40}\tmain\talice\n"
        f"2026-01-05T00:10:00Z\tswitch\t{D[5]}\t{'a' * 40}\tmain\tbob\n"
    )
    return path


JUNK = ["README", D[8]]


# --- prune_releases -------------------------------------------------------------------


def test_prune_keeps_the_named_survivors_and_is_idempotent(run, tree):
    status, result, _ = run("prune_releases", f"path={tree} keep=2")
    assert status == "CHANGED"
    assert result["removed"] == [D[1], D[2], D[3], D[6], D[7]]
    assert result["kept"] == [D[4], D[5]]
    assert (result["live"], result["rollback_target"]) == (D[5], D[4])
    assert survivors(tree) == sorted([D[4], D[5]] + JUNK)
    assert (tree / "shared" / "keep-me").exists() and live_of(tree) == f"releases/{D[5]}"

    status, result, _ = run("prune_releases", f"path={tree} keep=2")
    assert status == "SUCCESS" and result["changed"] is False and result["removed"] == []
    assert survivors(tree) == sorted([D[4], D[5]] + JUNK)


def test_prune_check_diff_removes_nothing_and_predicts_exactly(run, tree):
    before = survivors(tree)
    status, predicted, stdout = run("prune_releases", f"path={tree} keep=1", "--check", "--diff")
    assert status == "CHANGED" and survivors(tree) == before
    assert predicted["removed"] == [D[1], D[2], D[3], D[6], D[7]]
    assert f"-{D[1]}\n" in stdout and f" {D[5]}\n" in stdout  # the diff, one name per line

    _, done, _ = run("prune_releases", f"path={tree} keep=1")
    assert done["removed"] == predicted["removed"]
    assert survivors(tree) == sorted([D[4], D[5]] + JUNK)


def test_prune_keeps_live_when_it_is_the_oldest(run, deploy):
    path = deploy({D[1]: "good", D[2]: "good", D[3]: "good"}, live=D[1])
    _, result, _ = run("prune_releases", f"path={path} keep=1")
    assert result["removed"] == [D[2]]
    assert survivors(path) == [D[1], D[3]]


@pytest.mark.parametrize("keep", ["keep=0", "keep=-1", "keep=2.5", "keep=abc", "keep=true", {"keep": True}])
def test_prune_refuses_a_bad_keep_and_removes_nothing(run, tree, keep):
    args = {"path": str(tree), **keep} if isinstance(keep, dict) else f"path={tree} {keep}"
    before = survivors(tree)
    status, result, _ = run("prune_releases", args)
    assert status == "FAILED"
    assert "keep must be a whole number of at least 1" in result["msg"]
    assert "Set keep to 1 or more" in result["msg"]
    assert survivors(tree) == before


@pytest.mark.parametrize("link", ["/tmp", f"releases/{D[9]}"])
def test_prune_refuses_when_current_is_not_a_release(run, deploy, link):
    path = deploy({D[1]: "good", D[2]: "good", D[3]: "good"})
    os.symlink(link, path / "current")
    status, result, _ = run("prune_releases", f"path={path} keep=1")
    assert status == "FAILED" and "refusing to guess" in result["msg"]
    assert survivors(path) == [D[1], D[2], D[3]]


def test_prune_without_current_prunes_normally(run, deploy):
    path = deploy({D[1]: "good", D[2]: "good", D[3]: "bad"})
    _, result, _ = run("prune_releases", f"path={path} keep=1")
    assert result["live"] is None and result["removed"] == [D[1], D[3]]
    assert survivors(path) == [D[2]]


# --- releases -------------------------------------------------------------------------


def test_query_reports_and_changes_nothing(run, tree):
    before = (survivors(tree), live_of(tree), sorted(os.listdir(tree / "releases" / D[6])))
    status, result, _ = run("releases_info", f"path={tree}")
    assert status == "SUCCESS" and result["changed"] is False
    assert (result["live"], result["rollback_target"]) == (D[5], D[4])
    by_name = {r["name"]: r for r in result["releases"]}
    assert list(by_name) == [D[n] for n in range(1, 8)]  # junk and symlinks left out
    assert by_name[D[5]]["live"] and by_name[D[4]]["rollback_target"]
    assert (by_name[D[6]]["state"], by_name[D[7]]["state"]) == ("bad", "unfinished")
    # the completion record (ref master) wins over revisions.log (ref main); the log adds the deployer
    assert (by_name[D[5]]["deployer"], by_name[D[5]]["ref"]) == ("alice", "master")
    assert by_name[D[1]]["deployer"] is None and by_name[D[1]]["revision"] == "0123456789abcdef" * 2 + "01234567"
    assert by_name[D[5]]["path"] == str(tree / "releases" / D[5])
    assert before == (survivors(tree), live_of(tree), sorted(os.listdir(tree / "releases" / D[6])))


def test_rollback_twice_goes_further_back_and_keeps_the_evidence(run, tree):
    status, result, _ = run("releases", f"path={tree} state=rollback reason='500s after deploy'")
    assert status == "CHANGED"
    assert (result["previous"], result["live"], result["marked_bad"]) == (D[5], D[4], D[5])
    assert live_of(tree) == f"releases/{D[4]}"
    marker = (tree / "releases" / D[5] / ".deploy-bad").read_text()
    assert "reason: 500s after deploy" in marker and marker.startswith("time: 20")

    _, result, _ = run("releases", f"path={tree} state=rollback")
    assert (result["previous"], result["live"], result["rollback_target"]) == (D[4], D[3], D[2])
    assert live_of(tree) == f"releases/{D[3]}"
    assert (tree / "releases" / D[4] / ".deploy-bad").exists()
    assert D[5] in survivors(tree)


def test_rollback_without_target_fails_and_changes_nothing(run, deploy):
    path = deploy({D[1]: "bad", D[2]: "good", D[3]: "unfinished"}, live=D[2])
    status, result, _ = run("releases", f"path={path} state=rollback")
    assert status == "FAILED" and "no good release older than the live release" in result["msg"]
    assert live_of(path) == f"releases/{D[2]}"
    assert not (path / "releases" / D[2] / ".deploy-bad").exists()


def test_rollback_check_diff_predicts_without_touching(run, tree):
    status, result, stdout = run("releases", f"path={tree} state=rollback", "--check", "--diff")
    assert status == "CHANGED" and (result["live"], result["marked_bad"]) == (D[4], D[5])
    assert {r["name"]: r["state"] for r in result["releases"]}[D[5]] == "bad"
    assert f"-current -> releases/{D[5]}" in stdout and f"+current -> releases/{D[4]}" in stdout
    assert live_of(tree) == f"releases/{D[5]}"
    assert not (tree / "releases" / D[5] / ".deploy-bad").exists()


def test_rollback_to_an_explicit_bad_release_clears_its_mark(run, tree):
    _, result, _ = run("releases", f"path={tree} state=rollback name={D[6]}")
    assert result["changed"] and (result["live"], result["marked_bad"]) == (D[6], D[5])
    assert live_of(tree) == f"releases/{D[6]}"
    assert not (tree / "releases" / D[6] / ".deploy-bad").exists()
    assert (tree / "releases" / D[5] / ".deploy-bad").exists()


def test_rollback_to_the_live_release_changes_nothing(run, tree):
    status, result, _ = run("releases", f"path={tree} state=rollback name={D[5]}")
    assert status == "SUCCESS" and result["changed"] is False and result["marked_bad"] is None
    assert live_of(tree) == f"releases/{D[5]}"
    assert not (tree / "releases" / D[5] / ".deploy-bad").exists()


def test_switch_moves_current_clears_a_mark_and_is_idempotent(run, tree):
    status, result, _ = run("releases", f"path={tree} state=switch name={D[6]}")
    assert status == "CHANGED" and (result["previous"], result["live"]) == (D[5], D[6])
    assert result["marked_bad"] is None
    assert live_of(tree) == f"releases/{D[6]}"
    assert not (tree / "releases" / D[6] / ".deploy-bad").exists()
    assert not (tree / "releases" / D[5] / ".deploy-bad").exists()  # a switch marks nothing

    status, result, _ = run("releases", f"path={tree} state=switch name={D[6]}")
    assert status == "SUCCESS" and result["changed"] is False


def test_switch_check_diff_predicts_without_touching(run, tree):
    status, result, stdout = run("releases", f"path={tree} state=switch name={D[6]}", "--check", "--diff")
    assert status == "CHANGED" and (result["previous"], result["live"]) == (D[5], D[6])
    assert {r["name"]: r["state"] for r in result["releases"]}[D[6]] == "good"
    assert f"+current -> releases/{D[6]}" in stdout
    assert live_of(tree) == f"releases/{D[5]}"
    assert (tree / "releases" / D[6] / ".deploy-bad").exists()


@pytest.mark.parametrize(
    "name,message",
    [
        (D[7], "is unfinished"),
        (D[9], "is not a release in releases/"),
        (D[8], "is not a release in releases/"),  # the release-shaped symlink
    ],
)
def test_switch_refuses_what_cannot_go_live(run, tree, name, message):
    status, result, _ = run("releases", f"path={tree} state=switch name={name}")
    assert status == "FAILED" and message in result["msg"]
    assert f"Available: {D[1]}, {D[2]}" in result["msg"]
    assert live_of(tree) == f"releases/{D[5]}"


def test_switch_requires_a_name(run, tree):
    status, result, _ = run("releases", f"path={tree} state=switch")
    assert status == "FAILED" and "name" in result["msg"]


def test_switch_repairs_a_dangling_current(run, deploy):
    path = deploy({D[1]: "good"})
    os.symlink(f"releases/{D[9]}", path / "current")
    _, result, _ = run("releases", f"path={path} state=switch name={D[1]}")
    assert result["changed"] and result["previous"] is None
    assert live_of(path) == f"releases/{D[1]}"


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="no Python 3.11 (the targets' version)")
def test_modules_run_on_the_targets_python(run, tree):
    interpreter = "ansible_python_interpreter=/usr/bin/python3.11"
    _, result, _ = run("releases", f"path={tree}", "-e", interpreter)
    assert result["live"] == D[5]
    _, result, _ = run("prune_releases", f"path={tree} keep=2", "-e", interpreter)
    assert result["removed"] == [D[1], D[2], D[3], D[6], D[7]]
    assert survivors(tree) == sorted([D[4], D[5]] + JUNK)
