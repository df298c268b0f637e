"""django_manage's driver (the one Python process that runs every manage.py command) and its
session, on a manage.py and a stand-in `django` package of our own: the settings are reported
before any command and nothing runs unless the module says "go"; old-style and main() manage.py
both go through it; a settings error about STATIC_ROOT skips collectstatic and says so; any other
error, or the same error from another command, still fails the run."""

import json
import os
import sys
import textwrap

import pytest

from conftest import COLLECTIONS  # noqa: F401  (puts the collection on sys.path)
from ansible_collections.hknweb.deploy.plugins.modules import django_manage as dm

FAKE_DJANGO = {
    "django/__init__.py": "def setup():\n    pass\n",
    "django/conf.py": textwrap.dedent("""
        class Settings:
            DATABASES = {"default": {"ENGINE": "django.db.backends.mysql", "NAME": "hknweb", "HOST": "mysql",
                                     "USER": "u", "PASSWORD": "never-reported",
                                     "OPTIONS": {"read_default_file": "~/.my.cnf"}}}
            STATIC_ROOT = "/home/h/hk/hkn/public_html/hknweb/static/"
        settings = Settings()
    """),
    "django/core/__init__.py": "",
    # Django's migration executor as the driver asks it: FAKE_PLAN (JSON) is what migrate would apply.
    "django/db/__init__.py": "connections = {'default': None}\nDEFAULT_DB_ALIAS = 'default'\n",
    "django/db/migrations/__init__.py": "",
    "django/db/migrations/executor.py": textwrap.dedent("""
        import json, os
        class Node:
            def __init__(self, app, name):
                self.app_label, self.name = app, name
        class Graph:
            nodes = {("notes", "0001_initial"): None, ("notes", "0002_second"): None}
            def leaf_nodes(self):
                return [("notes", "0002_second")]
        class Loader:
            graph = Graph()
            applied_migrations = {("notes", "0001_initial"): None}
        class MigrationExecutor:
            def __init__(self, connection):
                self.loader = Loader()
            def migration_plan(self, targets):
                return [(Node(a, n), False) for a, n in json.loads(os.environ.get("FAKE_PLAN", "[]"))]
    """),
    "django/db/migrations/recorder.py": textwrap.dedent("""
        class MigrationRecorder:
            def __init__(self, connection):
                pass
            def applied_migrations(self):
                return {("notes", "0001_initial"): None, ("notes", "0002_second"): None}
    """),
    "django/core/management/__init__.py": textwrap.dedent("""
        import sys
        class ImproperlyConfigured(Exception):
            pass
        def execute_from_command_line(argv):
            command = argv[1]
            print("ran", command)
            if command == "collectstatic":
                raise ImproperlyConfigured("You're using the staticfiles app without having set the STATIC_ROOT setting")
            if command == "boom":
                raise RuntimeError("STATIC_ROOT is not the point here")
            if command == "exit3":
                sys.exit(3)
    """),
}
# hknweb's own manage.py has no main(): everything under `if __name__ == "__main__"`.
OLD_STYLE = textwrap.dedent("""
    import os, sys
    if __name__ == "__main__":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hknweb.settings")
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
""")
WITH_MAIN = textwrap.dedent("""
    import sys
    def main():
        from django.core.management import execute_from_command_line
        execute_from_command_line(sys.argv)
    if __name__ == "__main__":
        main()
""")


def app(tmp_path, manage=OLD_STYLE):
    for name, text in FAKE_DJANGO.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "manage.py").write_text(manage)
    return tmp_path


def drive(tmp_path, commands, verdict=True, manage=OLD_STYLE, plan=None, env=None):
    seen = []

    def decide(report):
        seen.append(report)
        return verdict
    app(tmp_path, manage)
    done, report = dm.session([sys.executable, "-c", dm.DRIVER, json.dumps(commands)], str(tmp_path),
                              dict(os.environ, **(env or {})), decide, plan)
    assert seen == ([report] if report else [])
    return done, report


@pytest.mark.parametrize("manage", [OLD_STYLE, WITH_MAIN])
def test_settings_are_reported_first_without_credentials_and_commands_then_run(tmp_path, manage):
    done, report = drive(tmp_path, [["migrate"], ["collectstatic", "--noinput"]], manage=manage, plan=lambda s: {})
    assert done.rc == 0, done.err
    assert report.pop("migrations") == dict(known=[["notes", "0001_initial"], ["notes", "0002_second"]],
                                            leaves=[["notes", "0002_second"]], applied=[["notes", "0001_initial"]],
                                            irreversible=[], plan=[], unapply=[])
    assert report == dict(engine="django.db.backends.mysql", name="hknweb", host="mysql", port="",
                          option_file="~/.my.cnf", option_group="", cwd=str(tmp_path),
                          static_root="/home/h/hk/hkn/public_html/hknweb/static/")
    assert "never-reported" not in done.out + done.err
    outs = dm.split_output(done.out)
    assert "ran migrate" in outs["migrate"]
    assert dm.SKIPPED.search(outs["collectstatic --noinput"]).group(1) == "the settings have no STATIC_ROOT"


def test_stop_runs_no_command(tmp_path):
    done, report = drive(tmp_path, [["migrate"]], verdict=False)
    assert report and done.rc == dm.REFUSED
    assert "ran migrate" not in done.out and dm.split_output(done.out) == {}


def test_a_manage_py_that_bypasses_django_management_is_left_to_the_fallback(tmp_path):
    done, report = drive(tmp_path, [["migrate"]], manage="print('no django here')\n")
    assert done.rc == 97 and report is None


@pytest.mark.parametrize("command,rc,text", [("boom", 1, "RuntimeError"), ("exit3", 3, "")])
def test_other_errors_still_fail(tmp_path, command, rc, text):
    done, _ = drive(tmp_path, [["migrate"], [command]])
    assert done.rc == rc and text in done.err
    assert "ran migrate" in dm.split_output(done.out)["migrate"]


# --- the backup before migrate (issue 21) ---------------------------------------------------------


def backup_order(tmp_path, family, database=""):
    folder = tmp_path / "shared" / "backups"
    return dict(applied_after=True, backup=dict(path=str(folder / f"20261204T010000Z-20261204T010101Z.{family}.gz"),
                                                family=family, database=database, option_file=""))


def test_a_sqlite_backup_is_whole_private_and_holds_the_rows_before_any_command(tmp_path):
    import gzip
    import sqlite3
    db = tmp_path / "db.sqlite3"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE notes (text)")
        c.execute("INSERT INTO notes VALUES ('before')")
    order = backup_order(tmp_path, "sqlite", str(db))
    done, _ = drive(tmp_path, [["migrate"]], plan=lambda state: order, env={"FAKE_PLAN": '[["notes", "0002_second"]]'})
    assert done.rc == 0, done.err
    made = json.loads(dm.BACKUP.search(done.out).group(1))
    assert made["path"] == order["backup"]["path"] and os.stat(made["path"]).st_mode & 0o777 == 0o600
    assert done.out.index("@@hknweb-deploy backup ") < done.out.index("ran migrate")
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(gzip.decompress(open(made["path"], "rb").read()))
    assert sqlite3.connect(copy).execute("SELECT text FROM notes").fetchall() == [("before",)]
    assert sorted(os.listdir(os.path.dirname(made["path"]))) == [os.path.basename(made["path"])]  # nothing else
    assert json.loads(dm.APPLIED.search(done.out).group(1)) == [["notes", "0001_initial"], ["notes", "0002_second"]]


FAKE_MYSQLDUMP = """#!/bin/sh
# argv must carry no password; the defaults file does.
case "$*" in *secret*) echo "password on argv" >&2; exit 9;; esac
file=$(echo "$1" | sed 's/^--defaults-extra-file=//')
grep -q 'password="never-reported"' "$file" || { echo "no password in $file" >&2; exit 8; }
[ "$(stat -c %a "$file")" = 600 ] || exit 7
echo "-- dump of $5"
[ -z "$FAIL_DUMP" ] || { echo "mysqldump: Got error: 1045: Access denied" >&2; exit 2; }
echo "-- Dump completed"
"""


@pytest.mark.parametrize("fail", [False, True])
def test_a_mysql_backup_passes_credentials_in_a_private_file_and_a_failure_stops_before_migrate(tmp_path, fail):
    import gzip
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mysqldump").write_text(FAKE_MYSQLDUMP)
    (bin_dir / "mysqldump").chmod(0o755)
    order = backup_order(tmp_path, "mysql", "hknweb")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_PLAN": '[["notes", "0002_second"]]'}
    if fail:
        env["FAIL_DUMP"] = "1"
    done, _ = drive(tmp_path, [["migrate"]], plan=lambda state: order, env=env)
    folder = os.path.dirname(order["backup"]["path"])
    assert "never-reported" not in done.out + done.err
    if fail:
        assert done.rc == dm.BACKUP_FAILED_RC and "ran migrate" not in done.out
        assert "Access denied" in json.loads(dm.BACKUP_FAILED.search(done.out).group(1))
        assert os.listdir(folder) == []  # no half-written backup, no credentials file left
    else:
        assert done.rc == 0, done.err + done.out
        text = gzip.decompress(open(order["backup"]["path"], "rb").read()).decode()
        assert text == "-- dump of hknweb\n-- Dump completed\n"
        assert os.listdir(folder) == [os.path.basename(order["backup"]["path"])]
