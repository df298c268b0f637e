"""bytecode: a new venv takes a finished venv's .pyc files only for the source files the two share.

Real files and a real interpreter: Python must accept a carried .pyc as it is (not compile again)."""

import os
import py_compile
import subprocess
import sys

from ansible_collections.hknweb.deploy.plugins.module_utils import bytecode, layout

SITE = os.path.join("lib", "python3.11", "site-packages")


def venv(deploy_path, key, complete=True):
    folder = deploy_path / "venvs" / key
    (folder / SITE).mkdir(parents=True)
    if complete:
        (folder / ".complete").touch()
    return folder


def compiled(folder, module, text):
    source = folder / SITE / (module + ".py")
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(text)
    py_compile.compile(str(source), doraise=True)
    return source


def test_a_pyc_is_carried_only_where_the_source_is_the_same_file(tmp_path):
    old, new = venv(tmp_path, "a" * 16), venv(tmp_path, "b" * 16, complete=False)
    shared = compiled(old, "pkg/shared", "X = 1\n")
    copied = compiled(old, "pkg/copied", "Y = 2\n")
    compiled(old, "gone", "Z = 3\n")
    (new / SITE / "pkg").mkdir()
    os.link(shared, new / SITE / "pkg" / "shared.py")  # as uv links both from its cache
    (new / SITE / "pkg" / "copied.py").write_text(copied.read_text())  # same text, another file: not trusted
    assert bytecode.carry(str(old), str(new)) == 1
    cache = new / SITE / "pkg" / "__pycache__"
    assert [p.name for p in cache.iterdir()] == ["shared.cpython-%d%d.pyc" % sys.version_info[:2]]
    assert os.path.samefile(cache / next(cache.iterdir()).name, shared.parent / "__pycache__" / next(cache.iterdir()).name)


def test_python_uses_a_carried_pyc_as_it_is_and_names_the_new_file_in_tracebacks(tmp_path):
    old, new = venv(tmp_path, "a" * 16), venv(tmp_path, "b" * 16, complete=False)
    source = compiled(old, "mod", "def where():\n    raise RuntimeError('here')\n")
    os.link(source, new / SITE / "mod.py")
    bytecode.carry(str(old), str(new))
    pyc = new / SITE / "__pycache__" / ("mod.cpython-%d%d.pyc" % sys.version_info[:2])
    before = os.stat(pyc)
    run = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import mod; mod.where()"
                          % str(new / SITE)], capture_output=True, text=True, check=False)
    assert str(new / SITE / "mod.py") in run.stderr and "RuntimeError: here" in run.stderr
    after = os.stat(pyc)
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (before.st_ino, before.st_mtime_ns, 2)


def test_the_donor_is_the_live_venv_else_the_newest_finished_one_never_the_new_or_an_unfinished_one(tmp_path):
    old, live, new = venv(tmp_path, "a" * 16), venv(tmp_path, "c" * 16), venv(tmp_path, "b" * 16, complete=False)
    venv(tmp_path, "d" * 16, complete=False)
    os.utime(old / ".complete", (2_000_000_000, 2_000_000_000))  # newer than live's
    assert bytecode.donor(str(tmp_path), "b" * 16) == str(old)
    release = tmp_path / "releases" / "20260101T000000Z"
    release.mkdir(parents=True)
    (release / layout.VENV_LINK).symlink_to(layout.venv_link_text("c" * 16))
    (tmp_path / "current").symlink_to(layout.current_text(release.name))
    assert bytecode.donor(str(tmp_path), "b" * 16) == str(live)
    assert bytecode.donor(str(tmp_path), "c" * 16) == str(old)
    assert new.exists()


def test_no_finished_venv_is_no_donor(tmp_path):
    venv(tmp_path, "b" * 16, complete=False)
    assert bytecode.donor(str(tmp_path), "b" * 16) is None
