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


def drive(tmp_path, commands, verdict=True, manage=OLD_STYLE):
    seen = []

    def decide(report):
        seen.append(report)
        return verdict
    app(tmp_path, manage)
    done, report = dm.session([sys.executable, "-c", dm.DRIVER, json.dumps(commands)], str(tmp_path),
                              dict(os.environ), decide)
    assert seen == ([report] if report else [])
    return done, report


@pytest.mark.parametrize("manage", [OLD_STYLE, WITH_MAIN])
def test_settings_are_reported_first_without_credentials_and_commands_then_run(tmp_path, manage):
    done, report = drive(tmp_path, [["migrate"], ["collectstatic", "--noinput"]], manage=manage)
    assert done.rc == 0, done.err
    assert report.pop("migrations") == dict(known=[["notes", "0001_initial"], ["notes", "0002_second"]],
                                            leaves=[["notes", "0002_second"]], applied=[["notes", "0001_initial"]],
                                            plan=[])
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
