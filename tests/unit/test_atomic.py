"""atomic.py: files written whole with the bits asked for, links replaced with no moment without them.
The switch's unit files and links and the first stage's private templates go through these two."""

import os

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import atomic
from ansible_collections.hknweb.deploy.plugins.module_utils.switch_host import SwitchHost


@pytest.fixture
def strict_umask():
    old = os.umask(0o077)
    yield
    os.umask(old)


def test_exact_mode_sets_the_bits_whatever_the_umask_and_the_default_keeps_the_umask(tmp_path, strict_umask):
    atomic.write_atomic(str(tmp_path / "unit"), "a\n", 0o644, exact_mode=True)
    atomic.write_atomic(str(tmp_path / "record"), "b\n", 0o644)
    assert os.stat(tmp_path / "unit").st_mode & 0o7777 == 0o644
    assert os.stat(tmp_path / "record").st_mode & 0o7777 == 0o600  # never looser than the umask allows
    assert sorted(os.listdir(tmp_path)) == ["record", "unit"]  # no temporary file left behind


def test_the_switch_writes_a_unit_that_reads_back_the_same_so_the_next_run_changes_nothing(tmp_path, strict_umask):
    host, path = SwitchHost(), str(tmp_path / "systemd" / "user" / "app.service")
    host.write_file(path, "[Service]\n", 0o644)
    assert host.read_file(path) == ("[Service]\n", 0o644)


def test_replace_link_swaps_an_existing_link_and_leaves_no_temporary(tmp_path):
    link = tmp_path / "static"
    atomic.replace_link(str(link), "releases/one/static")
    atomic.replace_link(str(link), "releases/two/static")
    assert os.readlink(link) == "releases/two/static"
    assert os.listdir(tmp_path) == ["static"]


def test_a_failed_rename_leaves_the_old_link_and_no_temporary(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "inside").write_text("x")  # rename() cannot replace a non-empty folder
    with pytest.raises(OSError):
        atomic.replace_link(str(tmp_path / "folder"), "elsewhere")
    assert sorted(os.listdir(tmp_path)) == ["folder"]
