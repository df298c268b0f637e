"""One stage vocabulary (module_utils/stages.py): every `stage=` the collection emits is one of its
failure stages, the failure ending's advice compares stages only through those names and has sound
advice for each (and for a failure that names none), the playbooks' numbered task names are its
stages in order, and docs/architecture.md lists its failure stages."""

import ast
import re
from pathlib import Path

import pytest

from ansible_collections.hknweb.deploy.plugins.module_utils import ending, stages

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "collections" / "ansible_collections" / "hknweb" / "deploy" / "plugins"
NAMES = {name for name in dir(stages) if getattr(stages, name) in stages.FAILURES and name.isupper()}


def emitted(tree):
    """(line, what) for every `stage=` keyword: a string, a stages.NAME, or None for a pass-through."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "stage":
            value = node.value
            if isinstance(value, ast.Constant):
                found.append((value.lineno, value.value))
            elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "stages":
                found.append((value.lineno, "stages.%s" % value.attr))
    return found


def test_every_stage_a_module_emits_is_in_the_vocabulary():
    wrong = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for line, what in emitted(ast.parse(path.read_text())):
            ok = what[len("stages."):] in NAMES if what.startswith("stages.") else what in stages.FAILURES
            if not ok:
                wrong.append("%s:%d: %r" % (path.relative_to(PLUGINS), line, what))
    assert wrong == []


def test_the_check_sees_a_stage_outside_the_vocabulary():
    tree = ast.parse('module.fail_json(msg="x", stage="Extract")\nmodule.fail_json(stage=stages.LOCK)\n')
    assert emitted(tree) == [(1, "Extract"), (2, "stages.LOCK")]


def test_the_advice_compares_stages_only_through_the_vocabulary():
    tree = ast.parse((PLUGINS / "module_utils" / "ending.py").read_text())
    literal = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Compare)
               and any(isinstance(n, ast.Name) and n.id == "stage" for n in [node.left] + node.comparators)
               and any(isinstance(n, ast.Constant) for n in [node.left] + node.comparators)]
    prefix = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "startswith"
              and isinstance(node.value, ast.Name) and node.value.id == "stage"]
    assert literal == [] and prefix == []


LIVE = {"ok": True, "release": "20260102T000000Z", "current": "20260102T000000Z", "answers": True}


@pytest.mark.parametrize("stage", stages.FAILURES + ("Extract the commit r3 into releases/20260103T000000Z", ""))
def test_every_stage_and_a_failure_without_one_get_sound_advice(stage):
    kind = ending.kind_of({"stage": stage, "cause": "it broke"}, LIVE)
    assert kind in ending.FIX or kind == stages.LOCK
    text = ending.next_step(dict(action="deploy", environment="prod", kind=kind, failed="20260103T000000Z",
                                 serving="20260102T000000Z", answers=True, rollback_target="20260101T000000Z"))
    # The previous release serves: never a rollback, always scoped to the environment.
    assert "rollback.yml" not in text and "-l prod" in text


def test_a_stage_no_module_emits_has_no_branch_of_its_own():
    assert ending.kind_of({"stage": "plan", "cause": "x"}, LIVE) == ending.kind_of({"stage": "", "cause": "x"}, LIVE)


@pytest.mark.parametrize("playbook, numbered", [("deploy.yml", stages.DEPLOY), ("rollback.yml", stages.ROLLBACK)])
def test_the_playbooks_numbered_tasks_are_the_stages_in_order(playbook, numbered):
    text = (REPO / "playbooks" / playbook).read_text()
    found = re.findall(r'name: "(\d+)\. ([^:"]+):', text)
    assert [int(n) for n, _ in found] == list(range(len(numbered)))
    assert [title for _, title in found] == [title for title, _ in numbered]


def test_every_failure_stage_is_reported_by_a_numbered_stage():
    reported = {s for _, names in stages.DEPLOY + stages.ROLLBACK for s in names}
    assert reported == set(stages.FAILURES)


def test_the_architecture_page_lists_the_failure_stages():
    text = (REPO / "docs" / "architecture.md").read_text()
    table = text.split("### Failure stages", 1)[1].split("\n#", 1)[0]
    assert set(re.findall(r"^\| `([a-z ]+)` \|", table, re.M)) == set(stages.FAILURES)
