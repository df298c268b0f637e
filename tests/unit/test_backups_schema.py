"""Issue 21's pure decisions: backup names, which backups are kept, whether a deploy makes one; what a
release knows of the schema and what a rollback makes of it (refuse, code only, unapply)."""

import datetime

from conftest import COLLECTIONS  # noqa: F401  (puts the collection on sys.path)
from ansible_collections.hknweb.deploy.plugins.module_utils import backups, schema

REL = "20261204T010000Z"


def test_names_parse_back_and_partials_are_not_backups():
    when = backups.stamp(datetime.datetime(2026, 12, 4, 1, 2, 3, tzinfo=datetime.timezone.utc))
    name = backups.name_for(REL, when, "mysql")
    assert name == "20261204T010000Z-20261204T010203Z.sql.gz"
    assert backups.parse(name) == dict(name=name, release=REL, time="20261204T010203Z", kind="mysql")
    assert backups.parse(backups.name_for(REL, when, "sqlite"))["kind"] == "sqlite"
    assert backups.name_for(REL, when, "postgresql") is None
    for other in ("." + name + ".partial", ".backup-abc", name + ".tmp", "../" + name):
        assert backups.parse(other) is None


def entry(release, time):
    return dict(name="%s-%s.sql.gz" % (release, time), release=release, time=time)


def test_prune_keeps_the_newest_and_never_the_one_just_made():
    made = [entry(REL, "20261204T0100%02dZ" % i) for i in range(6)]
    assert backups.plan_prune(made, 2) == [e["name"] for e in made[:4]]
    assert backups.plan_prune(made, 10) == []
    assert backups.plan_prune(made, 0) == [e["name"] for e in made[:5]]  # at least one is kept
    assert made[0]["name"] not in backups.plan_prune(made, 1, protect=[made[0]["name"]])
    assert backups.by_release([made[1], entry("20261203T000000Z", "20261203T000001Z"), made[0]]) == {
        "20261203T000000Z": ["20261203T000000Z-20261203T000001Z.sql.gz"], REL: [made[0]["name"], made[1]["name"]]}


def test_a_backup_only_when_migrate_would_apply_something_to_a_database_with_data():
    plan = [["notes", "0002"]]
    assert backups.should_back_up(True, [["migrate", "--noinput"]], plan, "mysql", [["notes", "0001"]]) == (True, "")
    assert backups.should_back_up(True, [["migrate"]], [], "mysql", [["notes", "0001"]]) == (False, "nothing to migrate")
    assert not backups.should_back_up(False, [["migrate"]], plan, "mysql", [["notes", "0001"]])[0]
    assert not backups.should_back_up(True, [["collectstatic"]], plan, "mysql", [["notes", "0001"]])[0]
    assert not backups.should_back_up(True, [["migrate"]], plan, "mysql", [])[0]  # a new database
    assert not backups.should_back_up(True, [["migrate"]], None, "mysql", None)[0]  # no plan: migrate says why
    assert "not backed up" in backups.should_back_up(True, [["migrate"]], plan, "postgresql", [["a", "1"]])[1]


def test_keep_is_validated():
    assert backups.validate_keep(3) == ""
    for bad in (0, -1, "x", None, True):
        assert "app_django_backup_keep" in backups.validate_keep(bad)


V1 = dict(known=[["notes", "0001_initial"]], leaves={"notes": ["0001_initial"]}, irreversible=[],
          applied_after=[["notes", "0001_initial"]], at="2026-12-04T01:00:00")
V2 = dict(known=[["notes", "0001_initial"], ["notes", "0002_second"]], leaves={"notes": ["0002_second"]},
          irreversible=[], applied_after=[["notes", "0001_initial"], ["notes", "0002_second"]],
          at="2026-12-04T02:00:00")


def test_a_rollback_across_a_migration_is_refused_unless_the_user_says_how():
    assert schema.rollback_decision(V2, V1, "refuse") == ("refuse", [("notes", "0002_second")])
    assert schema.rollback_decision(V2, V1, "code-only") == ("switch", [("notes", "0002_second")])
    assert schema.rollback_decision(V2, V1, "unapply") == ("unapply", [("notes", "0002_second")])
    assert schema.rollback_decision(V1, V2, "refuse") == ("switch", [])  # forward: the target knows them all
    assert schema.rollback_decision(None, V1, "refuse") == ("switch", [])  # releases made before records
    assert schema.rollback_decision(V2, V1, "please")[0] == "bad-choice"
    assert schema.targets(V1, [("notes", "0002_second"), ("polls", "0001_initial")]) == {
        "notes": "0001_initial", "polls": "zero"}
    text = schema.refusal([("notes", "0002_second")], "B", "A", "prod")
    assert "notes.0002_second" in text and "-l prod -e rollback_migrations=code-only" in text
    assert "-e rollback_migrations=unapply" in text and "Nothing was changed" in text


def test_the_newest_record_is_the_database_and_irreversible_migrations_are_named():
    assert schema.newest({"a": V1, "b": V2, "c": None}) == ("b", V2)
    assert schema.newest({}) == (None, None)
    v3 = dict(V2, irreversible=[["notes", "0003_drop"]])
    assert schema.irreversible_among([("notes", "0003_drop"), ("notes", "0002_second")], v3) == [("notes", "0003_drop")]
    text = schema.irreversible_refusal([("notes", "0003_drop")], "X-Y.sql.gz", "B", "A")
    assert "notes.0003_drop cannot be unapplied" in text and "-e backup=X-Y.sql.gz" in text


def test_the_record_lists_leaves_known_and_applied(tmp_path):
    state = dict(known=[["notes", "0002"], ["notes", "0001"], ["auth", "0001"]], leaves=[["notes", "0002"], ["auth", "0001"]],
                 applied=[["notes", "0001"]], irreversible=[])
    data = schema.record(state, [["notes", "0001"], ["notes", "0002"]])
    assert data["leaves"] == {"auth": ["0001"], "notes": ["0002"]}
    assert data["applied_before"] == [["notes", "0001"]] and data["applied_after"] == [["notes", "0001"], ["notes", "0002"]]
    schema.write(str(tmp_path), data)
    assert schema.read(str(tmp_path)) == data
    assert schema.read(str(tmp_path / "missing")) is None
