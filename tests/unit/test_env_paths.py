"""Paths the deploy relies on or writes (module_utils/env_paths.py), decided from what was read:
a `current` edited by hand stops stage 1 with the command that fixes it."""

import os

from conftest import build_tree

from ansible_collections.hknweb.deploy.plugins.module_utils import env_paths
from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp

A, B, C = "20260101T000000Z", "20260102T000000Z", "20260103T000000Z"


def test_a_current_naming_a_release_or_absent_passes(tmp_path):
    assert env_paths.current_refusal(rp.scan(str(build_tree(tmp_path / "p", {A: "good"}, live=A)))) is None
    assert env_paths.current_refusal(rp.scan(str(build_tree(tmp_path / "q", {A: "good"})))) is None


def test_current_pointed_at_tmp_is_refused_with_the_newest_good_release_to_point_at(tmp_path):
    path = build_tree(tmp_path / "p", {A: "good", B: "good", C: "bad"})
    os.symlink("/tmp", path / "current")
    why = env_paths.current_refusal(rp.scan(str(path)))
    assert "current points to '/tmp', not to a release in %s/releases" % path in why
    assert "ln -sfn releases/%s %s/current" % (B, path) in why and "Nothing was changed" in why


def test_a_real_folder_at_current_without_any_good_release_says_move_it(tmp_path):
    path = build_tree(tmp_path / "p", {A: "unfinished"})
    os.mkdir(path / "current")
    why = env_paths.current_refusal(rp.scan(str(path)))
    assert "current is a real directory" in why and "mv %s/current %s/current.moved" % (path, path) in why
