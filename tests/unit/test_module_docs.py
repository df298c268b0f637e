"""`ansible-doc` renders every module of the collection, and what it documents is what the module
takes: the same options, types, required flags and defaults as the AnsibleModule's argument spec
(captured by constructing it in place of AnsibleModule, so nothing runs)."""

import importlib
import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from conftest import COLLECTIONS, REPO_ROOT

PLUGINS = COLLECTIONS / "ansible_collections" / "hknweb" / "deploy" / "plugins"
MODULES = sorted(p.stem for p in (PLUGINS / "modules").glob("*.py"))
# Documentation stubs of action plugins that run on the controller: no AnsibleModule to compare.
CONTROLLER_ONLY = {p.stem for p in (PLUGINS / "action").glob("*.py")}
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"

pytestmark = pytest.mark.skipif(not ANSIBLE_DOC.exists(), reason=f"no ansible-doc next to {sys.executable}")


@pytest.fixture(scope="module")
def docs():
    done = subprocess.run([str(ANSIBLE_DOC), "--json", *(f"hknweb.deploy.{m}" for m in MODULES)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Captured(Exception):
    pass


def argument_spec(name):
    module = importlib.import_module(f"ansible_collections.hknweb.deploy.plugins.modules.{name}")
    seen = {}

    def capture(argument_spec, **_):
        seen.update(argument_spec)
        raise Captured

    with mock.patch.object(module, "AnsibleModule", capture), pytest.raises(Captured):
        module.main()
    return seen


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_the_module_with_examples_and_return_values(docs, name):
    entry = docs[f"hknweb.deploy.{name}"]
    assert entry["doc"]["short_description"] and entry["doc"]["description"]
    assert entry["examples"].strip() and entry["return"]
    for option, spec in entry["doc"].get("options", {}).items():
        assert spec.get("description") and spec.get("type"), option


@pytest.mark.parametrize("name", sorted(set(MODULES) - CONTROLLER_ONLY))
def test_the_documented_options_are_the_module_arguments(docs, name):
    taken = argument_spec(name)
    documented = docs[f"hknweb.deploy.{name}"]["doc"].get("options", {})
    assert sorted(documented) == sorted(taken)
    for option, spec in taken.items():
        doc = documented[option]
        assert doc.get("type", "str") == spec.get("type", "str"), option
        assert bool(doc.get("required")) == bool(spec.get("required")), option
        if spec.get("default") not in (None, ""):
            assert doc.get("default") == spec["default"], option
        if spec.get("choices"):
            assert sorted(doc.get("choices") or []) == sorted(spec["choices"]), option
