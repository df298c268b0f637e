"""The account's environment registry (module_utils/environments.py): records merge per writer,
are whole or absent, and the pure clash check tells what two environments share."""

import os

from ansible_collections.hknweb.deploy.plugins.module_utils import environments as envs

PROD = dict(environment="prod", bind="unix:/srv/apps/hkn/hkn.sock", unit="hknweb.service",
            socket_unit="hknweb.socket", static_root="/home/h/hk/hkn/public_html/hknweb/static",
            database=dict(engine="django.db.backends.mysql", host="mysql", port="", name="hkn"))


def test_each_writer_merges_its_own_fields_and_a_second_write_changes_nothing(tmp_path):
    prod = tmp_path / "hknweb" / "prod"
    prod.mkdir(parents=True)
    assert envs.update(str(prod), dict(bind=PROD["bind"]), home=str(tmp_path))
    assert envs.update(str(prod), dict(static_root=PROD["static_root"]), home=str(tmp_path))
    assert not envs.update(str(prod), dict(bind=PROD["bind"]), home=str(tmp_path))
    record = envs.own(str(prod), home=str(tmp_path))
    assert record["bind"] == PROD["bind"] and record["static_root"] == PROD["static_root"]
    folder = tmp_path / envs.REGISTRY_DIR
    assert [p.name for p in folder.iterdir()] == [envs.record_name(str(prod))]  # no temp file left
    assert oct(os.stat(folder / envs.record_name(str(prod))).st_mode & 0o777) == "0o600"


def test_others_leaves_out_this_path_removed_paths_and_unreadable_records(tmp_path):
    prod, test, gone = (tmp_path / n for n in ("prod", "test", "gone"))
    for path in (prod, test, gone):
        path.mkdir()
        envs.update(str(path), dict(environment=path.name), home=str(tmp_path))
    gone.rmdir()
    (tmp_path / envs.REGISTRY_DIR / "junk.json").write_text("{not json")
    assert [r["environment"] for r in envs.others(str(test), home=str(tmp_path))] == ["prod"]


def test_a_second_environment_given_prods_bind_static_root_or_database_clashes():
    test = dict(PROD, environment="test")
    fields = sorted(field for field, _, _ in envs.clashes(test, [PROD]))
    assert fields == ["bind", "database", "socket_unit", "static_root", "unit"]
    text = " ".join(t for _, _, t in envs.clashes(dict(bind=PROD["bind"]), [PROD]))
    assert "prod" in text and PROD["bind"] in text


def test_a_declared_shared_database_is_allowed_a_shared_static_root_never_is():
    test = dict(database=PROD["database"], static_root=PROD["static_root"])
    assert [f for f, _, _ in envs.clashes(test, [PROD], shared_database_ok=True)] == ["static_root"]


def test_databases_are_the_same_data_only_when_engine_host_port_and_name_agree():
    mysql = PROD["database"]
    assert envs.same_database(mysql, dict(mysql, engine="mysql"))
    assert not envs.same_database(mysql, dict(mysql, name="hkn_test"))
    assert not envs.same_database(mysql, dict(mysql, host="otherdb"))
    assert envs.same_database(dict(engine="sqlite3", name="/a/./db.sqlite3"), dict(engine="sqlite3", name="/a/db.sqlite3"))
    assert not envs.same_database(dict(engine="sqlite3", name="/a/db"), dict(engine="sqlite3", name="/b/db"))
    assert envs.same_database(dict(engine="mysql", host="127.0.0.1", name="x"), dict(engine="mysql", host="localhost", name="x"))
    assert not envs.same_database({}, mysql)
