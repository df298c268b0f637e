"""django_manage's driver (the one Python process that runs every manage.py command) on a
manage.py of our own: a settings error about STATIC_ROOT skips collectstatic and says so; any
other error, or the same error from another command, still fails the run."""

import subprocess
import sys
import textwrap

import pytest

from conftest import COLLECTIONS  # noqa: F401  (puts the collection on sys.path)
from ansible_collections.hknweb.deploy.plugins.modules import django_manage as dm

MANAGE = textwrap.dedent("""
    import sys
    class ImproperlyConfigured(Exception):
        pass
    def main():
        command = sys.argv[1]
        print("ran", command)
        if command == "collectstatic":
            raise ImproperlyConfigured("You're using the staticfiles app without having set the STATIC_ROOT setting")
        if command == "boom":
            raise RuntimeError("STATIC_ROOT is not the point here")
""")


def drive(tmp_path, commands):
    (tmp_path / "manage.py").write_text(MANAGE)
    return subprocess.run([sys.executable, "-c", dm.DRIVER, dm.json.dumps(commands)], cwd=tmp_path,
                          capture_output=True, text=True)


def test_collectstatic_without_static_root_is_skipped_and_said(tmp_path):
    done = drive(tmp_path, [["migrate"], ["collectstatic", "--noinput"]])
    assert done.returncode == 0, done.stderr
    outs = dm.split_output(done.stdout)
    assert "ran migrate" in outs["migrate"]
    assert dm.SKIPPED.search(outs["collectstatic --noinput"]).group(1) == "the settings have no STATIC_ROOT"


@pytest.mark.parametrize("command", ["boom"])
def test_other_errors_still_fail(tmp_path, command):
    done = drive(tmp_path, [["migrate"], [command]])
    assert done.returncode != 0 and "RuntimeError" in done.stderr
