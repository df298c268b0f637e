"""hknweb.deploy.knobs: each role's knobs checked in one controller task, through the real playbooks'
preflight (`--tags preflight`: nothing reaches a host, so an inventory of 127.0.0.1 aliases is enough).
It replaces Ansible's role validation, the rule asserts and the "same account" asserts: each of
those must still stop the run, naming the variable, and changing nothing."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
pytestmark = pytest.mark.skipif(not PLAYBOOK.exists(), reason=f"no ansible-playbook next to {sys.executable}")


def inventory(tmp_path, test_port=22):
    """prod and test, two aliases of one account (as on apphost) unless test_port differs."""
    path = tmp_path / f"hosts-{test_port}.yml"
    path.write_text(f"""all:
  vars: {{ansible_host: 127.0.0.1, ansible_user: nobody}}
  children:
    prod: {{hosts: {{prod: {{ansible_port: 22}}}}}}
    test: {{hosts: {{test: {{ansible_port: {test_port}}}}}}}
""")
    return path


def preflight(hosts, *extra, playbook="deploy.yml"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    done = subprocess.run([str(PLAYBOOK), playbook, "-i", str(hosts), "--tags", "preflight", *extra],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, re.sub(r"\s+", " ", done.stdout + done.stderr)


def test_good_knobs_pass_every_role_in_one_task_each(tmp_path):
    rc, out = preflight(inventory(tmp_path))
    assert rc == 0, out[-3000:]
    for role, what in [("deploy", "deploy knobs"), ("app_python", "Python knobs"), ("app_django", "Django knobs"),
                       ("app_service", "service knobs"), ("app_static", "static link knob")]:
        assert out.count(f"TASK [{role} : Check the {what}]") == 1, (role, out[-3000:])
    # Ansible's own validation task is not run on top (this one checks the spec itself).
    assert "Validating arguments" not in out
    assert "ok=5 " in out


def test_two_aliases_of_one_account_must_not_share_deploy_path_unit_or_bind(tmp_path):
    rc, out = preflight(inventory(tmp_path), "-e", "deploy_path=~/hknweb/same")
    assert rc != 0
    assert ("deploy_path: prod and test are the same account (127.0.0.1 port 22) and share ~/hknweb/same. "
            "Give each environment its own.") in out, out[-3000:]
    assert "Nothing was changed" in out

    rc, out = preflight(inventory(tmp_path), "-e", "app_service_bind=127.0.0.1:9000",
                        "-e", "app_service_name=same.service")
    assert rc != 0
    assert "app_service_name: prod and test are the same account" in out, out[-3000:]
    assert "app_service_bind: prod and test are the same account" in out, out[-3000:]
    assert "share 127.0.0.1:9000" in out


def test_another_port_is_another_account_that_may_share(tmp_path):
    rc, out = preflight(inventory(tmp_path, test_port=2222), "-e", "deploy_path=~/hknweb/same",
                        "-e", "app_service_bind=127.0.0.1:9000")
    assert rc == 0, out[-3000:]


@pytest.mark.parametrize("extra,words", [
    ("deploy_keep_releases=abc", "argument 'deploy_keep_releases' is of type str and we were unable to convert to int"),
    ("app_python_install_strategy=conda", "value of app_python_install_strategy must be one of: , pip, poetry, lock, got: conda"),
    ('{"app_django_extra_commands": [["check", "a\\nb"]]}', "app_django_extra_commands: each command is a list"),
    ('{"app_static_link": {"path": "relative"}}', "app_static_link: needs path (absolute or ~/..."),
    ("revision=" + "r" * 4096, "(-e revision=, 4096 characters) is not a branch, tag or commit name"),
    ('{"revision": "main\\u001b[31m"}', "deploy_ref: 'main"),
    ("revision=x.lock", "deploy_ref: 'x.lock'"),
])
def test_the_argument_spec_and_the_rules_both_stop_the_run(tmp_path, extra, words):
    rc, out = preflight(inventory(tmp_path), "-e", extra)
    assert rc != 0
    assert words in out, out[-3000:]
    assert "Nothing was changed" in out


@pytest.mark.parametrize("extra,words", [
    ("deploy_batch=abc", "deploy_batch: -e deploy_batch=abc is not a batch size"),
    ("deploy_batch=0", "deploy_batch: -e deploy_batch=0 is not a batch size"),
    ("deploy_batch=150%", "deploy_batch: -e deploy_batch=150% is not a batch size"),
    ("serial=abc", "serial: -e serial= is not read (Ansible reserves the name): say -e deploy_batch="),
    ("serial=1", "say -e deploy_batch="),
])
def test_a_bad_batch_size_or_the_reserved_name_is_refused_not_crashed_on(tmp_path, extra, words):
    for playbook in ("deploy.yml", "rollback.yml"):
        rc, out = preflight(inventory(tmp_path), "-e", extra, playbook=playbook)
        assert rc != 0 and "Unexpected Exception" not in out, out[-3000:]
        assert words in out and "Nothing was changed" in out, out[-3000:]


def test_a_batch_size_of_hosts_or_a_share_passes(tmp_path):
    for value in ("1", "50%"):
        rc, out = preflight(inventory(tmp_path), "-e", "deploy_batch=" + value)
        assert rc == 0, out[-3000:]


def test_a_sha_passes_as_a_ref(tmp_path):
    rc, out = preflight(inventory(tmp_path), "-e", "revision=" + "0123456789abcdef" * 2 + "01234567")
    assert rc == 0, out[-3000:]


def test_a_rollback_to_a_name_that_is_no_release_is_refused(tmp_path):
    rc, out = preflight(inventory(tmp_path), "-e", "release=../x", playbook="rollback.yml")
    assert rc != 0
    assert "release: -e release=../x is not a release name" in out, out[-3000:]
