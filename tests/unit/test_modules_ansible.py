"""The collection's modules through ONE real `ansible-playbook` run on localhost (one start-up for
every case, so the fast suite stays fast), then the disk and the registered results are checked.

Cases that need systemd (release_activate) or an installer (venv_build) run on the Molecule test
hosts; here: deploy_finish (prune, venvs, lock), releases_info, release_build on a real git mirror,
and the modules on the test hosts' Python 3.11 when it is installed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COLLECTIONS, build_tree, live_of, sha_for, survivors

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
D = {n: f"202601{n:02d}T000000Z" for n in range(1, 29)}
JUNK = ["README", D[8]]
BAD_KEEPS = ["0", "-1", "2.5", "abc", True]
TARGET_PYTHON = "/usr/bin/python3.11"

pytestmark = pytest.mark.skipif(not PLAYBOOK.exists(), reason=f"no ansible-playbook next to {sys.executable}")


def tree(root):
    """Five good releases, a bad and an unfinished newer one, junk, live = D[5]."""
    path = build_tree(root, {D[1]: "good", D[2]: "good", D[3]: "good", D[4]: "good", D[5]: "good",
                             D[6]: "bad", D[7]: "unfinished"}, live=D[5])
    (path / "releases" / "README").write_text("not a release\n")
    os.symlink("../shared", path / "releases" / D[8])  # release-shaped symlink: never a release
    (path / "shared").mkdir()
    (path / "shared" / "keep-me").write_text("x")
    (path / "revisions.log").write_text(f"2026-01-05T00:00:00Z\tdeploy\t{D[5]}\t{'a' * 40}\tmain\talice\n")
    return path


def git(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME="t", GIT_COMMITTER_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_EMAIL="t@example.invalid")
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def mirror_with_one_commit(path):
    """<path>/repo: a bare mirror of a one-commit repository that ships media/ (replaced by a link)."""
    work = path.parent / (path.name + "-work")
    (work / "media").mkdir(parents=True)
    (work / "media" / "PLACEHOLDER.txt").write_text("shipped in git\n")
    (work / "manage.py").write_text("print('hi')\n")
    git("init", "--quiet", "-b", "main", str(work))
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "One", cwd=work)
    git("clone", "--quiet", "--mirror", str(work), str(path / "repo"))
    for sub in ("releases", "shared/media", "venvs/0123456789abcdef"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return git("rev-parse", "HEAD", cwd=work)


def task(name, module, args, **extra):
    return {"name": name, f"hknweb.deploy.{module}": args, "register": name, "ignore_errors": True, **extra}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Build every tree, run every case in one playbook, return (results by case, trees)."""
    base = tmp_path_factory.mktemp("cases")
    trees = {name: tree(base / name) for name in ("keep2", "check", "info", "python311")}
    trees["oldest"] = build_tree(base / "oldest", {D[1]: "good", D[2]: "good", D[3]: "good"}, live=D[1])
    trees["nocurrent"] = build_tree(base / "nocurrent", {D[1]: "good", D[2]: "good", D[3]: "bad"})
    for i, _ in enumerate(BAD_KEEPS):
        trees[f"badkeep{i}"] = tree(base / f"badkeep{i}")
    for name, link in (("outside", "/tmp"), ("dangling", f"releases/{D[9]}")):
        trees[name] = build_tree(base / name, {D[1]: "good", D[2]: "good", D[3]: "good"})
        os.symlink(link, trees[name] / "current")
    trees["lock"] = build_tree(base / "lock", {D[1]: "good"}, live=D[1])
    (trees["lock"] / "deploy.lock").mkdir()
    (trees["lock"] / "deploy.lock" / "holder").write_text('{"holder": "alice", "run": "run-a", "epoch": 1}\n')
    trees["build"] = base / "build"
    sha = mirror_with_one_commit(trees["build"])

    def finish(path, run="run-x", **args):
        return {"path": str(path), "run": run, **args}

    tasks = [
        task("keep2_first", "deploy_finish", finish(trees["keep2"], keep=2)),
        task("keep2_again", "deploy_finish", finish(trees["keep2"], keep=2)),
        task("check_predicted", "deploy_finish", finish(trees["check"], keep=1), check_mode=True, diff=True),
        task("check_done", "deploy_finish", finish(trees["check"], keep=1)),
        task("oldest", "deploy_finish", finish(trees["oldest"], keep=1)),
        task("nocurrent", "deploy_finish", finish(trees["nocurrent"], keep=1)),
        task("outside", "deploy_finish", finish(trees["outside"], keep=1)),
        task("dangling", "deploy_finish", finish(trees["dangling"], keep=1)),
        task("lock_other_run", "deploy_finish", finish(trees["lock"], run="run-b", prune=False)),
        task("lock_own_run", "deploy_finish", finish(trees["lock"], run="run-a", prune=False)),
        task("info", "releases_info", {"path": str(trees["info"])}),
        task("info_missing", "releases_info", {"path": str(base / "nothing-here")}),
        task("build_check", "release_build", {"path": str(trees["build"]), "name": D[1], "sha": sha,
                                             "shared": ["media"], "venv": "0123456789abcdef"}, check_mode=True),
        task("build", "release_build", {"path": str(trees["build"]), "name": D[1], "sha": sha,
                                       "shared": ["media"], "venv": "0123456789abcdef"}),
        task("build_again", "release_build", {"path": str(trees["build"]), "name": D[1], "sha": sha}),
        task("build_bad_name", "release_build", {"path": str(trees["build"]), "name": "../x", "sha": sha}),
    ]
    tasks += [task(f"badkeep{i}", "deploy_finish", finish(trees[f"badkeep{i}"], keep=keep))
              for i, keep in enumerate(BAD_KEEPS)]
    if Path(TARGET_PYTHON).exists():
        tasks.append(task("python311", "deploy_finish", finish(trees["python311"], keep=2),
                          vars={"ansible_python_interpreter": TARGET_PYTHON}))
    names = [t["name"] for t in tasks]
    out = base / "results.json"
    tasks.append({"name": "Save the results", "ansible.builtin.copy": {
        "content": "{{ {" + ", ".join(f"'{n}': {n}" for n in names) + "} | to_json }}", "dest": str(out),
        "mode": "0600"}})
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    (base / "play.yml").write_text(json.dumps(play))
    cfg = base / "ansible.cfg"
    cfg.write_text(f"[defaults]\ncollections_path = {COLLECTIONS}\ndeprecation_warnings = False\n"
                   "localhost_warning = False\nnocolor = True\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(cfg)  # the collection must come from this repository
    proc = subprocess.run([str(PLAYBOOK), "-i", "localhost,", "-c", "local", "-e",
                           f"ansible_python_interpreter={sys.executable}", str(base / "play.yml")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert out.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), trees, proc.stdout, sha


# --- deploy_finish: prune, venvs, lock ------------------------------------------------------------


def test_prune_keeps_the_named_survivors_and_is_idempotent(cases):
    results, trees, _, _ = cases
    first, again = results["keep2_first"], results["keep2_again"]
    assert first["changed"] and first["removed"] == [D[1], D[2], D[3], D[6], D[7]] and first["kept"] == [D[4], D[5]]
    assert again["changed"] is False and again["removed"] == []
    assert survivors(trees["keep2"]) == sorted([D[4], D[5]] + JUNK)
    assert (trees["keep2"] / "shared" / "keep-me").exists() and live_of(trees["keep2"]) == f"releases/{D[5]}"


def test_check_mode_predicts_exactly_and_its_diff_names_each_release(cases):
    results, trees, stdout, _ = cases
    predicted, done = results["check_predicted"], results["check_done"]
    assert predicted["changed"] and predicted["removed"] == [D[1], D[2], D[3], D[6], D[7]]
    assert done["removed"] == predicted["removed"]
    assert f"-{D[1]}\n" in stdout and f" {D[5]}\n" in stdout  # the diff, one name per line
    assert survivors(trees["check"]) == sorted([D[4], D[5]] + JUNK)


def test_prune_keeps_live_when_it_is_the_oldest(cases):
    results, trees, _, _ = cases
    assert results["oldest"]["removed"] == [D[2]] and survivors(trees["oldest"]) == [D[1], D[3]]


def test_prune_without_current_prunes_normally(cases):
    results, trees, _, _ = cases
    assert results["nocurrent"]["removed"] == [D[1], D[3]] and survivors(trees["nocurrent"]) == [D[2]]


@pytest.mark.parametrize("case", ["outside", "dangling"])
def test_prune_refuses_when_current_is_not_a_release(cases, case):
    results, trees, _, _ = cases
    assert results[case]["failed"] and "refusing to guess" in results[case]["msg"]
    assert survivors(trees[case]) == [D[1], D[2], D[3]]


@pytest.mark.parametrize("index", range(len(BAD_KEEPS)))
def test_prune_refuses_a_bad_keep_and_removes_nothing(cases, index):
    results, trees, _, _ = cases
    result = results[f"badkeep{index}"]
    assert result["failed"] and "keep must be a whole number of at least 1" in result["msg"]
    assert "Set keep to 1 or more" in result["msg"]
    assert len(survivors(trees[f"badkeep{index}"])) == 9


def test_only_the_run_that_holds_the_lock_gives_it_back(cases):
    results, trees, _, _ = cases
    assert results["lock_other_run"]["unlocked"] is False
    assert results["lock_own_run"]["unlocked"] is True and not (trees["lock"] / "deploy.lock").exists()


# --- releases_info -----------------------------------------------------------------------------------


def test_info_reports_and_changes_nothing(cases):
    results, trees, _, _ = cases
    result = results["info"]
    assert result["changed"] is False and (result["live"], result["rollback_target"]) == (D[5], D[4])
    by_name = {r["name"]: r for r in result["releases"]}
    assert list(by_name) == [D[n] for n in range(1, 8)]  # junk and symlinks left out
    assert (by_name[D[6]]["state"], by_name[D[7]]["state"]) == ("bad", "unfinished")
    # the completion record (ref master) wins over revisions.log (ref main); the log adds the deployer
    assert (by_name[D[5]]["deployer"], by_name[D[5]]["ref"]) == ("alice", "master")
    assert by_name[D[1]]["deployer"] is None and by_name[D[1]]["revision"] == sha_for(D[1])
    assert result["lock"] is None and result["intent"] is None
    assert survivors(trees["info"]) == sorted([D[n] for n in range(1, 8)] + JUNK)


def test_info_on_a_path_never_deployed_says_so(cases):
    results, _, _, _ = cases
    assert results["info_missing"]["releases"] == [] and "does not exist yet" in results["info_missing"]["problem"]


# --- release_build on a real mirror ---------------------------------------------------------------


def test_build_extracts_the_commit_links_shared_paths_and_the_venv(cases):
    results, trees, _, sha = cases
    assert results["build_check"]["changed"] and results["build"]["changed"]
    release = trees["build"] / "releases" / D[1]
    assert (release / "REVISION").read_text() == sha + "\n" and (release / "manage.py").exists()
    assert os.readlink(release / "media") == str(trees["build"] / "shared" / "media")  # git's copy replaced
    assert os.readlink(release / "venv") == "../../venvs/0123456789abcdef"
    # No completion record: it is not usable until release_activate writes one.
    assert not (release / ".deploy-complete").exists()


def test_build_refuses_an_existing_release_and_a_bad_name(cases):
    results, trees, _, _ = cases
    assert results["build_again"]["failed"] and "exists already" in results["build_again"]["msg"]
    assert results["build_bad_name"]["failed"] and "is not a release name" in results["build_bad_name"]["msg"]
    assert sorted(os.listdir(trees["build"] / "releases")) == [D[1]]


@pytest.mark.skipif(not Path(TARGET_PYTHON).exists(), reason="no Python 3.11 (the test hosts' version)")
def test_modules_run_on_the_targets_python(cases):
    results, trees, _, _ = cases
    assert results["python311"]["removed"] == [D[1], D[2], D[3], D[6], D[7]]
    assert survivors(trees["python311"]) == sorted([D[4], D[5]] + JUNK)
