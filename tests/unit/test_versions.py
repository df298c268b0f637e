"""Versions tell the truth: the changelog's newest entry is galaxy.yml's version and names every
module added in it; no module claims a version after the collection's; the Ansible range claimed is
the one the suite runs."""

import re
from pathlib import Path

import yaml
from ansible.release import __version__ as ansible_version

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "collections" / "ansible_collections" / "hknweb" / "deploy"


def version(text):
    return tuple(int(n) for n in text.split("."))


def galaxy_version():
    return yaml.safe_load((COLLECTION / "galaxy.yml").read_text())["version"]


def added_in(module):
    text = module.read_text()
    return re.search(r"^version_added: \"?([0-9.]+)\"?", text, re.M).group(1)


def test_the_changelogs_newest_entry_is_the_collections_version():
    first = re.search(r"^## ([0-9.]+)", (COLLECTION / "CHANGELOG.md").read_text(), re.M).group(1)
    assert first == galaxy_version()


def test_every_module_was_added_in_a_released_version_that_the_changelog_names_it_in():
    changelog = (COLLECTION / "CHANGELOG.md").read_text()
    sections = dict(re.findall(r"^## ([0-9.]+)\n(.*?)(?=^## |\Z)", changelog, re.M | re.S))
    for module in sorted((COLLECTION / "plugins" / "modules").glob("*.py")):
        added = added_in(module)
        assert version(added) <= version(galaxy_version()), module.name
        assert added in sections and f"`{module.stem}`" in sections[added], (module.stem, added)


def test_the_ansible_range_claimed_is_the_one_tested():
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    lowest = re.match(r">=([0-9.]+)", runtime["requires_ansible"]).group(1)
    tested = ansible_version.split(".")[:2]
    assert lowest.split(".")[:2] == tested
    for meta in sorted(REPO.glob("roles/*/meta/main.yml")):
        assert yaml.safe_load(meta.read_text())["galaxy_info"]["min_ansible_version"].split(".")[:2] == tested, meta
