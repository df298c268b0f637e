"""Docs that list what the code has stay in step with it: a module added without its line fails here."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "collections" / "ansible_collections" / "hknweb" / "deploy"


def test_the_collection_readme_lists_every_module_and_nothing_else():
    modules = {p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", (COLLECTION / "README.md").read_text(), re.M))
    assert listed == modules


def test_the_readme_maps_fabric_to_the_task_arguments_hknweb_really_has():
    # hknweb's fabfile: `def deploy(c, target=None, commit=None)` (there is no --revision).
    text = (REPO / "README.md").read_text()
    assert "fab deploy --commit <sha>" in text and "fab deploy --revision" not in text


def test_the_architecture_map_lists_every_module_utils_file_and_nothing_else():
    text = (REPO / "docs" / "architecture.md").read_text()
    table = text.split("### The map: which question each module_utils file answers", 1)[1].split("\n#", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+\.py)` \|", table, re.M))
    files = {p.name for p in (COLLECTION / "plugins" / "module_utils").glob("*.py") if p.name != "__init__.py"}
    assert listed == files
