"""venv_plan with the lock strategy: poetry.lock exported on the controller, the key covering the list."""

from pathlib import Path

from ansible_collections.hknweb.deploy.plugins.module_utils.venv_plan import plan_python

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hknweb-app"
PYPROJECT = (FIXTURES / "pyproject.toml").read_text()
LOCK = (FIXTURES / "poetry.lock").read_text()
ENV_39 = dict(implementation_name="cpython", implementation_version="3.9.2", os_name="posix",
              platform_machine="x86_64", platform_python_implementation="CPython", platform_release="6.1",
              platform_system="Linux", platform_version="#1", python_full_version="3.9.2", python_version="3.9",
              sys_platform="linux")
PROBE = {"python3.9": dict(found=True, error="", executable="/usr/bin/python3.9", venv=True, environment=ENV_39,
                           version="3.9.2")}
SETTINGS = dict(interpreter="python3.9", strategy="lock", requirements_file="requirements.txt",
                poetry_python="python3.9", poetry_groups=["prod"], pip_args=[], poetry_version="2.2.1",
                installer="uv", uv_version="0.13.9")


def files(lock=LOCK, pyproject=PYPROJECT):
    def entry(text):
        return dict(exists=text is not None, sha256=None if text is None else str(hash(text)), text=text)
    return {"pyproject.toml": entry(pyproject), "poetry.lock": entry(lock), "requirements.txt": entry(None)}


def plan(found=None, venvs=(), **settings):
    return plan_python(files() if found is None else found, PROBE, dict(SETTINGS, **settings), list(venvs),
                       "app_python_")


def test_the_lock_strategy_hands_the_host_an_exact_hashed_list_installed_by_uv():
    result = plan()
    assert result["problems"] == [] and result["installer"] == "uv" and result["packages"] == 7
    lines = result["install_list"]
    assert "mysqlclient==2.2.7 \\" in lines and "django==4.2.30 \\" in lines and "tzdata" not in lines
    assert lines.count("--hash=sha256:") >= 7


def test_the_key_covers_the_list_so_a_changed_hash_or_group_is_a_new_venv():
    base = plan()
    tampered = plan(files(lock=LOCK.replace(LOCK.split("sha256:")[1][:64], "0" * 64)))
    assert tampered["problems"] == [] and tampered["key"] != base["key"]
    assert plan(poetry_groups=[])["key"] != base["key"]
    assert plan(uv_version="0.13.8")["key"] != base["key"]
    assert plan(venvs=[base["key"]])["reused"] is True
    # The list, not the file: a comment in the lock changes no installed byte, so the venv is reused.
    assert plan(files(lock=LOCK + "\n# a comment\n"))["key"] == base["key"]


def test_a_lock_the_reader_refuses_stops_the_plan_naming_the_strategy_and_interpreter():
    stale = plan(files(pyproject=PYPROJECT.replace('gunicorn = "21.2.0"', 'gunicorn = "22.0.0"')))
    assert stale["problems"] and "content-hash" in stale["problems"][0]
    assert "app_python_install_strategy is lock, for app_python_interpreter 'python3.9', Python 3.9.2" in stale["problems"][0]
    assert "install_list" not in stale


def test_no_lock_or_a_lock_too_large_to_read_is_refused_with_the_fix():
    missing = plan(files(lock=None))
    assert "has no poetry.lock" in missing["problems"][0] and "app_python_install_strategy to pip" in missing["problems"][0]
    unread = files()
    unread["poetry.lock"]["text"] = None
    assert "too large" in plan(unread)["problems"][0]


def test_the_pip_strategy_installs_with_uv_unless_asked_for_pip_and_poetry_keeps_poetry():
    requirements = dict(files(), **{"requirements.txt": dict(exists=True, sha256="r", text="django==4.2.30\n")})
    by_uv, by_pip = plan(requirements, strategy="pip"), plan(requirements, strategy="pip", installer="pip")
    assert (by_uv["installer"], by_pip["installer"]) == ("uv", "pip") and by_uv["key"] != by_pip["key"]
    assert plan(strategy="poetry")["installer"] == "poetry"
