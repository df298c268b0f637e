"""Shared helpers: make `ansible_collections.hknweb.deploy` importable and build deploy trees."""

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / "collections"

# The modules import the core by its collection path, so the tests do too.
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

SHA = "0123456789abcdef0123456789abcdef01234567"


def sha_for(name):
    """The commit build_tree gives a release: each its own (a rollback skips a release of the live commit)."""
    digits = "".join(c for c in name if c.isdigit())
    return (digits + SHA)[:40] if digits else SHA


def build_tree(deploy_path, releases, live=None):
    """Create releases/<name>/ for each {name: state} (good | bad | unfinished | both | legacy
    | empty), with a REVISION file, and point `current` at `live` the way a deploy does.

    good and bad releases carry the completion record a deploy writes last; unfinished ones
    do not; legacy is a release of the layout before records (REVISION and venv/bin/python);
    empty is a bare folder (a deploy that died at mkdir, e.g. on a full disk)."""
    releases_dir = Path(deploy_path) / "releases"
    releases_dir.mkdir(parents=True, exist_ok=True)
    for name, state in releases.items():
        folder = releases_dir / name
        folder.mkdir()
        if state == "empty":
            continue
        (folder / "REVISION").write_text(sha_for(name) + "\n")
        if state in ("good", "bad"):
            (folder / ".deploy-complete").write_text('{"sha": "%s", "ref": "master"}\n' % sha_for(name))
        if state == "legacy":
            (folder / "venv" / "bin").mkdir(parents=True)
            (folder / "venv" / "bin" / "python").write_text("")
        (folder / "app.py").write_text("print('hello')\n")
        if state in ("bad", "both"):
            (folder / ".deploy-bad").write_text("time: 2026-01-01T00:00:00Z\nreason: test\n")
        if state in ("unfinished", "both"):
            (folder / ".deploy-unfinished").write_text("")
    if live is not None:
        os.symlink(f"releases/{live}", Path(deploy_path) / "current")
    return Path(deploy_path)


def survivors(deploy_path):
    """Names of everything left in releases/, sorted."""
    return sorted(os.listdir(Path(deploy_path) / "releases"))


def live_of(deploy_path):
    return os.readlink(Path(deploy_path) / "current")


@pytest.fixture
def deploy(tmp_path):
    """A builder: deploy({name: state}, live=name) -> deploy path."""
    root = tmp_path / "prod"

    def make(releases, live=None):
        return build_tree(root, releases, live)

    return make
