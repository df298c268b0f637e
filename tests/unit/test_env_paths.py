"""Paths the deploy relies on or writes (module_utils/env_paths.py), decided from what was read:
a `current` edited by hand stops stage 1 with the command that fixes it."""

import os

from conftest import build_tree

from ansible_collections.hknweb.deploy.plugins.module_utils import env_paths
from ansible_collections.hknweb.deploy.plugins.module_utils import releases_disk

A, B, C = "20260101T000000Z", "20260102T000000Z", "20260103T000000Z"


def test_a_current_naming_a_release_or_absent_passes(tmp_path):
    assert env_paths.current_refusal(releases_disk.scan(str(build_tree(tmp_path / "p", {A: "good"}, live=A)))) is None
    assert env_paths.current_refusal(releases_disk.scan(str(build_tree(tmp_path / "q", {A: "good"})))) is None


def test_current_pointed_at_tmp_is_refused_with_the_newest_good_release_to_point_at(tmp_path):
    path = build_tree(tmp_path / "p", {A: "good", B: "good", C: "bad"})
    os.symlink("/tmp", path / "current")
    why = env_paths.current_refusal(releases_disk.scan(str(path)))
    assert "current points to '/tmp', not to a release in %s/releases" % path in why
    assert "ln -sfn releases/%s %s/current" % (B, path) in why and "Nothing was changed" in why


def test_a_real_folder_at_current_without_any_good_release_says_move_it(tmp_path):
    path = build_tree(tmp_path / "p", {A: "unfinished"})
    os.mkdir(path / "current")
    why = env_paths.current_refusal(releases_disk.scan(str(path)))
    assert "current is a real directory" in why and "mv %s/current %s/current.moved" % (path, path) in why


# --- paths a run writes --------------------------------------------------------------------------


def env(tmp_path):
    """A home with a deploy path holding one live release, a venv and a mirror."""
    home = tmp_path / "home"
    path = build_tree(home / "hknweb" / "prod", {A: "good"}, live=A)
    for name in ("repo", "venvs/0123456789abcdef", "shared"):
        (path / name).mkdir(parents=True)
    return str(home), str(path)


def test_ordinary_paths_pass(tmp_path):
    home, path = env(tmp_path)
    assert env_paths.check_writes(path, home, [".my.cnf", ".config/app/x.ini"], ["hknweb/settings/secrets.py"],
                                  [{"variable": "app_static_link", "path": home + "/public_html/static"}]) == []


def test_a_home_template_at_current_or_inside_the_engines_folders_is_refused(tmp_path):
    home, path = env(tmp_path)
    problems = env_paths.check_writes(path, home, ["hknweb/prod/current", "hknweb/prod/current/x",
                                                   "hknweb/prod/venvs/k", "hknweb/prod/repo/config"], [], [])
    assert "'hknweb/prod/current' is the environment's own current" in problems[0]
    assert "passes through a symlinked folder" in problems[1] and "releases (inside it" in problems[1]
    assert "is the environment's own venvs (inside it" in problems[2] and "own repo" in problems[3]


def test_a_home_template_through_a_symlinked_folder_is_refused_even_inside_the_home(tmp_path):
    home, path = env(tmp_path)
    os.makedirs(tmp_path / "elsewhere")
    os.symlink(str(tmp_path / "elsewhere"), os.path.join(home, ".config"))
    os.symlink(home + "/hknweb", os.path.join(home, "inside"))
    problems = env_paths.check_writes(path, home, [".config/x.ini", "inside/y"], [], [])
    assert "symlinked folder (%s/.config)" % home in problems[0] and "outside the home" in problems[0]
    assert "symlinked folder (%s/inside)" % home in problems[1]


def test_a_static_link_at_current_is_refused(tmp_path):
    home, path = env(tmp_path)
    problems = env_paths.check_writes(path, home, [], [], [{"variable": "app_static_link", "path": path + "/current"}])
    assert problems == ["app_static_link %r is the environment's own current" % (path + "/current")]


def test_a_symlinked_venv_is_named_and_a_shared_template_through_a_link_refused(tmp_path):
    home, path = env(tmp_path)
    os.symlink("/usr", os.path.join(path, "venvs", "fedcba9876543210"))
    os.symlink(path + "/releases", os.path.join(path, "shared", "hknweb"))
    problems = env_paths.check_writes(path, home, [], ["hknweb/secrets.py"], [])
    assert "deploy_shared_templates entry 'hknweb/secrets.py' passes through a symlinked folder" in problems[0]
    assert "releases (inside it" in problems[0]
    assert problems[1].startswith("venvs/fedcba9876543210 is a symlink (to /usr)")


def test_zone_problem_is_pure_and_exact():
    assert env_paths.zone_problem("/d/currentx", "/d") is None
    assert env_paths.zone_problem("/d/shared/x", "/d") is None
    assert env_paths.zone_problem("/d/releases", "/d").endswith("own releases")
