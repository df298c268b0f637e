"""Install strategies on the real test host: prod with Poetry (detected, group prod), test with pip;
environment reaching the service and migrate; secrets from a vault variable; refusals that change
nothing (requirements all excluded by markers, missing interpreter, interpreter outside the range);
the lock strategy's set against Poetry's on Python 3.11."""
import json
import re
from pathlib import Path

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from deploytest import (HOME, USER, as_root, current_release, env_name, env_of, flat, http, installed_distributions,
                        only_on, playbook, refs, release_names, state)

SCENARIO = Path(__file__).resolve().parents[1]
INDEX = "http://127.0.0.1:3141/simple/"
# What the scenario's host_vars ask for.
PYTHON = {"prod": "/usr/bin/python3.11", "test": "python3"}
STRATEGY = {"prod": "poetry", "test": "pip"}  # test's installer is pip too; the other scenarios' pip runs uv


def page_values(host):
    out = http(host, "/")
    assert out.rc == 0, out.stderr
    return dict(re.findall(r'<code id="([a-z-]+)">([^<]*)</code>', out.stdout))


def vault_plaintext(env):
    """Decrypt this environment's vault_hknweb_secrets_py from host_vars with the test-only password."""
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))
    data = yaml.load((SCENARIO / "host_vars" / f"hknweb-{env}" / "20-poetry.yml").read_text(), Loader=Loader)
    secret = VaultSecret((SCENARIO / "vault-password.TEST-ONLY.txt").read_bytes().strip())
    return VaultLib([("default", secret)]).decrypt(data["vault_hknweb_secrets_py"]).decode()


def refused(host, *extra):
    """Run a deploy that must fail; return its (flattened) output after checking that nothing changed."""
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), *extra)
    assert done.returncode != 0, done.output[-3000:]
    assert "Nothing was changed" in flat(done.output), done.output[-3000:]
    assert state(host) == before
    return flat(done.output)


# --- what converge built ----------------------------------------------------------------


def test_each_environment_serves_its_commit(host):
    values = page_values(host)
    assert values["revision"] == refs()[env_of(host)["default_ref"]]
    assert values["settings-module"] == "hknweb.settings.prod"


def test_optional_prod_group_is_installed_only_where_asked(host):
    # prod: poetry install --only main,prod; test: pip from requirements.txt (main only).
    want = "packaging 26.4" if env_name(host) == "prod" else "not installed"
    assert page_values(host)["prod-group"] == want


def test_the_venv_uses_the_asked_interpreter(host):
    release = env_of(host)["path"] + "/current"
    assert host.run(f"{release}/venv/bin/python -c 'import sys; print(sys.version_info[:2])'").stdout.strip() == "(3, 11)"
    cfg = host.file(f"{release}/venv/pyvenv.cfg").content_string
    assert "home = /usr/bin" in cfg


def test_poetry_is_the_deploys_own_pinned_copy(host):
    tools = env_of(host)["path"] + "/tools"
    assert host.run("bash -lc 'command -v poetry'").rc != 0  # nothing on the host to borrow
    if STRATEGY[env_name(host)] == "poetry":
        out = host.run(f"{tools}/poetry-2.2.1/bin/poetry --version")
        assert out.stdout.strip() == "Poetry (version 2.2.1)", out.stderr
        installed = {p["name"]: p["version"]
                     for p in json.loads(host.run(f"{tools}/poetry-2.2.1/bin/python -m pip list --format=json").stdout)}
        assert installed["poetry-plugin-pypi-mirror"] == "0.6.5"
        # Poetry's own dependencies are held by the project's constraints (virtualenv < 21).
        assert int(installed["virtualenv"].split(".")[0]) < 21
    else:
        # test: pip strategy installed by pip (app_python_installer: pip), so the deploy installed no tool.
        assert not host.file(tools).exists


def test_packages_came_through_the_hosts_index(host):
    # The host's stand-in for PyPI logged every wheel Poetry and pip fetched.
    log = as_root("journalctl", "-u", "wheel-index.service", "--no-pager", "-o", "cat").stdout
    assert "GET /simple/django/" in log and "GET /django-5.2.19-py3-none-any.whl" in log
    assert "GET /packaging-26.4-py3-none-any.whl" in log  # only prod's Poetry asked for it


def test_environment_reaches_the_service_and_migrate(host):
    unit = env_of(host)["unit"]
    assert "HKNWEB_MODE=prod" in host.run(f"systemctl --user show -p Environment {unit}").stdout
    values = page_values(host)
    assert values["mode"] == "prod"          # the service's settings
    assert values["migrate-mode"] == "prod"  # what manage.py migrate ran with
    record = json.loads(host.file(env_of(host)["path"] + "/current/migrate-record.json").content_string)
    assert record["HKNWEB_MODE"] == "prod" and record["settings_module"] == "hknweb.settings.prod"
    # prod settings keep the database in the shared data/ folder, where migrate created it.
    assert host.file(env_of(host)["path"] + "/shared/data/db.sqlite3").is_file


def test_secrets_file_comes_from_the_vault_variable(host):
    plaintext = vault_plaintext(env_name(host))
    assert "SECRET_KEY" in plaintext
    assert "SECRET_KEY" not in (SCENARIO / "host_vars" / f"hknweb-{env_name(host)}" / "20-poetry.yml").read_text()
    base = env_of(host)["path"]
    secrets = host.file(f"{base}/shared/hknweb/settings/secrets.py")
    assert secrets.mode == 0o600 and secrets.user == USER
    assert secrets.content_string == plaintext
    link = host.file(f"{base}/current/hknweb/settings/secrets.py")
    assert link.is_symlink and link.linked_to == f"{base}/shared/hknweb/settings/secrets.py"
    assert page_values(host)["secrets-label"] == f"from vault (molecule poetry {env_name(host)})"


def test_static_link_follows_current(host):
    # Only prod sets app_static_link; test (same account) leaves the link to prod's current.
    public = host.file(f"{HOME}/public_html/static")
    assert public.is_symlink
    assert host.run(f"readlink {HOME}/public_html/static").stdout.strip() == f"{HOME}/hknweb/prod/current/staticfiles"
    if env_name(host) == "test":
        return
    css = host.file(f"{HOME}/public_html/static/status/style.css")
    assert css.is_file
    assert host.run(f"readlink -f {HOME}/public_html/static/status/style.css").stdout.strip() == (
        f"{env_of(host)['path']}/releases/{current_release(host)}/staticfiles/status/style.css")


# --- what a run reports, and what it refuses ----------------------------------------------


def test_check_mode_reports_interpreter_and_strategy(host):
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "--check", "-e", "revision=r1")
    assert done.returncode == 0, done.output[-3000:]
    reason = "poetry.lock is in the commit" if env_name(host) == "prod" else "app_python_install_strategy is pip"
    output = flat(done.output)
    assert f"install with {STRATEGY[env_name(host)]} ({reason})" in output
    assert re.search(r'Python 3\.11\.\d+ \(/usr/bin/python3[.0-9]*\); tool.poetry.dependencies.python = "\^3\.11"',
                     output), output[-3000:]
    assert state(host) == before


def test_requirements_all_excluded_by_markers_fail_and_change_nothing(host):
    # hknweb's exported requirements.txt: every line says python_version >= "3.9" and < "3.10".
    output = refused(host, "-e", "revision=markers-exclude-all", "-e", "app_python_install_strategy=pip")
    assert "every line of requirements.txt (4 requirements) is excluded by its environment marker" in output
    assert "for Python 3.11.2" in output and "pip would install nothing" in output
    assert 'python_version >= "3.9" and python_version < "3.10"' in output


def test_missing_interpreter_fails_clearly_and_changes_nothing(host):
    # A path on prod, a name on test: the forms app_python_interpreter takes.
    python = "/opt/python3.9/bin/python3" if env_name(host) == "prod" else "python3.9"
    output = refused(host, "-e", f"app_python_interpreter={python}")
    assert f"app_python_interpreter '{python}' does not run on the host" in output
    assert "Set it to an installed Python" in output


def test_interpreter_outside_the_declared_range_fails_and_changes_nothing(host):
    output = refused(host, "-e", "revision=python39-only")
    assert (f"app_python_interpreter '{PYTHON[env_name(host)]}' is Python 3.11.2, outside the range the commit "
            'declares: tool.poetry.dependencies.python = "~3.9"' in output)
    assert 'tool.poetry.dependencies.python = "~3.9" (PEP 440: >=3.9,<3.10)' in output


def test_poetry_without_a_lock_file_is_refused(host):
    output = refused(host, "-e", "revision=no-poetry-lock", "-e", "app_python_install_strategy=poetry")
    assert "app_python_install_strategy is poetry, but the commit has no poetry.lock" in output


def test_detection_picks_pip_without_a_lock_file(host):
    # Last: it deploys. prod (strategy empty) now installs with pip, so the optional group is gone.
    name = host.backend.get_hostname()
    first = current_release(host)
    done = playbook("deploy.yml", name, "-e", "revision=no-poetry-lock")
    assert done.returncode == 0, done.output[-3000:]
    reason = ("the commit has no poetry.lock (so pip and requirements.txt)" if env_name(host) == "prod"
              else "app_python_install_strategy is pip")
    assert f"install with pip ({reason})" in flat(done.output)
    assert current_release(host) != first and release_names(host) == sorted([first, current_release(host)])
    values = page_values(host)
    assert values["revision"] == refs()["no-poetry-lock"]
    assert values["prod-group"] == "not installed"
    assert values["migrate-mode"] == "prod"


def test_the_lock_strategy_installs_what_poetry_installed_on_python311(host):
    """After the last deploy above: test deploys master with the lock strategy and the group prod; its venv
    holds exactly the names and versions Poetry 2.2.1 installed into prod's first venv on this host (less
    the pip and setuptools `python -m venv` seeds, which Poetry's venv has and uv's does not)."""
    only_on(host, "test", "one comparison per host")
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=master",
                    "-e", "app_python_install_strategy=lock", "-e", '{"app_python_poetry_groups": ["prod"]}')
    assert done.returncode == 0, done.output[-3000:]
    assert "install with lock (app_python_install_strategy is lock)" in flat(done.output)
    assert page_values(host)["prod-group"] == "packaging 26.4"
    prod = f"{HOME}/hknweb/prod"
    poetry_venv = f"{prod}/releases/{host.run(f'ls {prod}/releases').stdout.split()[0]}/venv"
    by_poetry = {k: v for k, v in installed_distributions(host, poetry_venv).items() if k not in ("pip", "setuptools")}
    by_uv = installed_distributions(host, env_of(host)["path"] + "/current/venv")
    assert "django" in by_poetry and by_uv == by_poetry
