"""What a release's settings resolve to (module_utils/django_settings.py): the database identity
(settings first, then the option file the client library really opens; never user or password),
STATIC_ROOT's real path, the refusal text, the '~' option-file link and the failure hints."""

import os

from conftest import COLLECTIONS  # noqa: F401  (puts the collection on sys.path)
from ansible_collections.hknweb.deploy.plugins.module_utils import django_settings as ds
from ansible_collections.hknweb.deploy.plugins.module_utils import environments as envs

HKNWEB = dict(engine="django.db.backends.mysql", name="hknweb", host="mysql", port="", option_file="~/.my.cnf",
              option_group="", static_root="/home/h/hk/hkn/public_html/hknweb/static/", cwd="/r")
MY_CNF = """# makemysql
[client]
user = hkn
password = s3cret
host = otherdb
[mysqld]
port = 1
[client-mariadb]
database = "hkn"
port=3307
"""


def test_option_file_gives_host_port_name_from_client_groups_never_credentials():
    found = ds.parse_option_file(MY_CNF)
    assert found == dict(host="otherdb", port="3307", name="hkn")
    assert "s3cret" not in repr(found) and "hkn" == found["name"]
    assert ds.parse_option_file("[mine]\nhost=h\n", group="mine") == dict(host="h")


def test_settings_win_over_the_option_file_and_defaults_fill_the_rest():
    assert ds.database_identity(HKNWEB, ds.parse_option_file(MY_CNF)) == dict(
        engine="django.db.backends.mysql", host="mysql", port="3307", name="hknweb")
    bare = dict(HKNWEB, name="", host="")
    assert ds.database_identity(bare, {}) == dict(engine="django.db.backends.mysql", host="localhost",
                                                  port="3306", name="")
    assert ds.database_identity(bare, dict(name="hkn", host="db"))["name"] == "hkn"


def test_sqlite_is_the_real_file_so_a_link_into_shared_names_the_shared_file(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "db.sqlite3").write_text("")
    release = tmp_path / "releases" / "r1"
    release.mkdir(parents=True)
    (release / "db.sqlite3").symlink_to(tmp_path / "shared" / "db.sqlite3")
    identity = ds.database_identity(dict(engine="django.db.backends.sqlite3", name="db.sqlite3", cwd=str(release)))
    assert identity == dict(engine="django.db.backends.sqlite3", host="", port="",
                            name=str(tmp_path / "shared" / "db.sqlite3"))


def test_the_option_file_is_opened_as_written_relative_to_the_release():
    assert ds.option_file_path(HKNWEB) == "/r/~/.my.cnf"
    assert ds.option_file_path(dict(HKNWEB, option_file="/etc/my.cnf")) == "/etc/my.cnf"
    assert ds.option_file_path(dict(HKNWEB, option_file="")) == ""


def test_home_option_link_only_for_a_tilde_path_the_home_has_and_the_release_lacks(tmp_path):
    home, release = tmp_path / "home", tmp_path / "release"
    home.mkdir()
    release.mkdir()
    report = dict(HKNWEB, cwd=str(release))
    assert ds.home_option_link(report, str(release), str(home)) is None  # the home has no .my.cnf
    (home / ".my.cnf").write_text("[client]\n")
    assert ds.home_option_link(report, str(release), str(home)) == (str(release / "~" / ".my.cnf"),
                                                                    str(home / ".my.cnf"))
    assert ds.home_option_link(dict(report, option_file="/abs/.my.cnf"), str(release), str(home)) is None
    (release / "~").mkdir()  # the app ships its own "~": leave it
    assert ds.home_option_link(report, str(release), str(home)) is None


def test_hints_name_the_tilde_option_file_an_unresolvable_host_and_an_outside_static_root(tmp_path):
    report = dict(HKNWEB, cwd=str(tmp_path))
    denied = "Access denied for user 'hkn'@'localhost' (using password: NO)"
    [hint] = ds.hints(report, denied, str(tmp_path), str(tmp_path), "migrate --noinput")
    assert "'~/.my.cnf'" in hint and "relative to the release" in hint
    assert "app_django_home_option_file: true" in hint and "deploy_home_templates" in hint
    (tmp_path / "~").mkdir()
    (tmp_path / "~" / ".my.cnf").write_text("")
    assert ds.hints(report, denied, str(tmp_path), str(tmp_path), "migrate --noinput") == []
    [host] = ds.hints(report, "Unknown MySQL server host 'mysql' (-2)", str(tmp_path), "", "migrate --noinput")
    assert "'mysql'" in host and "DATABASES HOST" in host
    [static] = ds.hints(report, "PermissionError", str(tmp_path / "deploy"), "", "collectstatic --noinput")
    assert "outside the deploy path" in static and "/home/h/hk/hkn/public_html/hknweb/static" in static
    inside = dict(report, static_root=str(tmp_path / "deploy" / "releases" / "r1" / "static"))
    assert ds.hints(inside, "PermissionError", str(tmp_path / "deploy"), "", "collectstatic --noinput") == []


def test_describe_says_what_the_settings_use_and_when_static_root_is_outside(tmp_path):
    mysql = dict(engine="django.db.backends.mysql", host="mysql", port="3306", name="hknweb")
    text = ds.describe(mysql, "/home/h/hk/hkn/public_html/hknweb/static", str(tmp_path))
    assert text.startswith("database mysql hknweb on mysql:3306, STATIC_ROOT /home/h/hk/hkn/public_html/hknweb/static")
    assert "outside the deploy path" in text and "rollback does not put the files back" in text
    sqlite = dict(engine="django.db.backends.sqlite3", host="", port="", name="/d/shared/db.sqlite3")
    assert ds.describe(sqlite, "", "/d") == "database sqlite /d/shared/db.sqlite3, no STATIC_ROOT"
    assert ds.describe(sqlite, "/d/releases/r1/static", "/d") == \
        "database sqlite /d/shared/db.sqlite3, STATIC_ROOT /d/releases/r1/static"


def test_refusal_names_the_other_environment_the_fix_and_that_nothing_changed():
    prod = dict(environment="prod", deploy_path="/h/hknweb/prod", static_root="/s",
                database=dict(engine="django.db.backends.mysql", host="mysql", port="3306", name="hknweb"))
    mine = dict(static_root="/s", database=dict(prod["database"]))
    text = ds.refusal(envs.clashes(mine, [prod]), "test", False)
    assert text.startswith("Refused before migrate: test shares what another environment of this account uses: ")
    assert "STATIC_ROOT /s is prod (/h/hknweb/prod)'s" in text
    assert "the database mysql hknweb on mysql is prod (/h/hknweb/prod)'s" in text
    assert "app_django_shared_database: true" in text and "Nothing was changed" in text
    shared = ds.refusal(envs.clashes(mine, [prod], shared_database_ok=True), "test", True)
    assert "STATIC_ROOT /s is prod" in shared and "database mysql" not in shared
    assert "A static root is never shared;" in shared


def test_static_root_is_a_real_absolute_path(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "public_html").symlink_to(tmp_path / "web")
    report = dict(static_root=str(tmp_path / "public_html" / "static") + "/", cwd="/r")
    assert ds.static_root(report) == str(tmp_path / "web" / "static")
    assert ds.static_root(dict(static_root="staticfiles", cwd=str(tmp_path))) == os.path.join(str(tmp_path), "staticfiles")
    assert ds.static_root(dict(static_root="", cwd="/r")) == ""
    assert ds.shown_static_root(report) == str(tmp_path / "public_html" / "static")
