"""The JSON answers of status.yml, releases.yml, lock.yml and check.yml (issue 20, item 4): every
document has `version`, `kind`, `written` and one entry per environment with exactly the keys
docs/json-answers.md documents for its kind (a field added to the code and not to the docs, or the
other way round, fails here); a host without an answer says so; the file is written whole, and a file
that cannot be written is a sentence, never an exception."""

import json
import re
import time

import pytest

from conftest import REPO_ROOT, build_tree

from ansible_collections.hknweb.deploy.plugins.action.json_answer import write_whole
from ansible_collections.hknweb.deploy.plugins.module_utils import documents
from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils.releases_disk import scan

R1, R2 = "20260101T000000Z", "20260102T000000Z"


def documented():
    """{'document': {...}, 'status': {...}, ...}: the JSON examples of docs/json-answers.md."""
    text = (REPO_ROOT / "docs" / "json-answers.md").read_text()
    found = {"document": json.loads(re.search(r"Every document:\n\n```json\n(.*?)```", text, re.S).group(1))}
    for kind in documents.KINDS:
        body = text.split("## " + kind + "\n", 1)[1]
        found[kind] = json.loads(re.search(r"```json\n(.*?)```", body, re.S).group(1))
    return found


def info_of(path, lock=None):
    """What releases_info answers for a deploy tree (the same functions it calls)."""
    inventory = scan(str(path))
    return dict(deploy_path=str(path), releases=rp.describe(str(path), inventory.releases, inventory.live, inventory.log),
                live=inventory.live, rollback_target=rp.rollback_target(inventory.releases, inventory.live),
                lock=lock, intent=None, log_tail=["a\tdeploy"], problem=None,
                service=dict(active="active", sub="running", since="now", pid=7, runs=R2, health="GET / answered 200",
                             health_status=200))


@pytest.fixture
def info(tmp_path):
    build_tree(tmp_path, {R1: "good", R2: "good"}, live=R2)
    return info_of(tmp_path, lock=dict(holder="alice", purpose="deploy r2", since="x", age_seconds=3,
                                       lease_until=9, message=None, run="r", epoch=1))


def test_the_docs_show_every_kind_at_its_version():
    docs = documented()
    assert docs["document"]["version"] == documents.VERSION
    assert set(docs) == {"document", *documents.KINDS}


@pytest.mark.parametrize("kind", ["status", "releases", "lock"])
def test_each_read_only_answer_has_exactly_the_documented_keys(info, kind):
    docs = documented()
    doc = documents.document(kind, [documents.entry(kind, "prod", "hknweb-prod", info)], time.time())
    assert set(doc) == set(docs["document"]) and doc["version"] == 1 and doc["kind"] == kind
    got = doc["environments"][0]
    assert set(got) == set(docs[kind])
    if kind == "status":
        assert set(got["live"]) == set(docs["status"]["live"]) and got["live"]["name"] == R2
        assert set(got["service"]) == set(docs["status"]["service"])
        assert set(got["lock"]) == set(docs["lock"]["lock"])
    if kind == "releases":
        assert [r["name"] for r in got["releases"]] == [R2, R1]
        assert set(got["releases"][0]) == set(docs["releases"]["releases"][0])
    if kind == "lock":
        assert got["held"] is True and got["lock"]["holder"] == "alice" and set(got["lock"]) == set(docs["lock"]["lock"])
    json.dumps(doc)


def test_the_check_answer_has_the_documented_keys_and_is_not_ready_with_a_python_problem():
    docs = documented()
    doctor = dict(ok=True, checks=[dict(name="linger", ok=True, detail="on", fix="")])
    ready = documents.entry("check", "prod", "h", dict(doctor=doctor, python=dict(problems=[], python="3.11", strategy="pip")))
    assert set(ready) == set(docs["check"]) and set(ready["python"]) == set(docs["check"]["python"])
    assert set(ready["checks"][0]) == set(docs["check"]["checks"][0]) and ready["ready"] is True
    refused = documents.entry("check", "prod", "h", dict(doctor=doctor, python=dict(problems=["no 3.9"])))
    assert refused["ready"] is False and refused["python"]["problems"] == ["no 3.9"]


def test_a_host_that_did_not_answer_is_an_entry_with_its_error():
    assert documents.entry("status", "prod", "h", None) == {"environment": "prod", "host": "h",
                                                             "error": "no answer from the host"}
    assert documents.entry("lock", "prod", "h", {"failed": True, "msg": "boom"})["error"] == "boom"


def test_a_free_lock_is_held_false_and_null(tmp_path):
    build_tree(tmp_path, {R1: "good"}, live=R1)
    got = documents.entry("lock", "prod", "h", info_of(tmp_path))
    assert got["held"] is False and got["lock"] is None


def test_the_file_is_written_whole_and_an_unwritable_one_is_a_sentence(tmp_path):
    doc = documents.document("lock", [], 0)
    assert write_whole(str(tmp_path / "a.json"), doc) is None
    assert json.loads((tmp_path / "a.json").read_text()) == doc and doc["written"] == "1970-01-01T00:00:00Z"
    assert list(tmp_path.iterdir()) == [tmp_path / "a.json"]
    said = write_whole(str(tmp_path / "missing" / "a.json"), doc)
    assert "DEPLOY_JSON=" in said and "No such file" in said
