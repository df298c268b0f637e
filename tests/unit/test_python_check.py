"""python_check: the declared-range and requirements-marker core, and the module on a real git repo."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st


from ansible_collections.hknweb.deploy.plugins.module_utils.venv_plan import plan_python
from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import (
    PROBE,
    CheckError,
    declared_python,
    installs_nothing,
    logical_lines,
    poetry_to_pep440,
    python_satisfies,
    requirement_entries,
    split_by_markers,
)

# --- Poetry constraints -> PEP 440 --------------------------------------------------------


@pytest.mark.parametrize("poetry, pep440", [
    ("^3.11", [">=3.11,<4"]),
    ("^3", [">=3,<4"]),
    ("^3.9.1", [">=3.9.1,<4"]),
    ("^0.2.3", [">=0.2.3,<0.3"]),
    ("^0.0.3", [">=0.0.3,<0.0.4"]),
    ("^0.0", [">=0.0,<0.1"]),
    ("^0", [">=0,<1"]),
    ("~3.9", [">=3.9,<3.10"]),
    ("~3.9.1", [">=3.9.1,<3.10"]),
    ("~3", [">=3,<4"]),
    ("~=3.9", ["~=3.9"]),
    ("~=3", [">=3,<4"]),
    ("3.9.*", ["==3.9.*"]),
    ("3.9.x", ["==3.9.*"]),
    ("!=3.9.*", ["!=3.9.*"]),
    ("3.9", ["==3.9"]),
    ("=3.9.2", ["==3.9.2"]),
    (">=3.8,<3.12", [">=3.8,<3.12"]),
    (">=3.8 <3.12", [">=3.8,<3.12"]),
    (">= 3.8, < 3.12", [">=3.8,<3.12"]),
    ("^2.7 || ^3.6", [">=2.7,<3", ">=3.6,<4"]),
    (">=2.7,<2.8 | >=3.4", [">=2.7,<2.8", ">=3.4"]),
    ("*", [""]),
    ("", [""]),
])
def test_poetry_constraints_translate_like_poetry_core(poetry, pep440):
    assert poetry_to_pep440(poetry) == pep440


@pytest.mark.parametrize("bad", ["^abc", "~", ">>3", "3.9 || ^x"])
def test_a_constraint_that_is_not_one_is_refused(bad):
    with pytest.raises(CheckError, match="not a"):
        poetry_to_pep440(bad)


@pytest.mark.parametrize("constraint, version, inside", [
    ("~3.9", "3.9.18", True),
    ("~3.9", "3.11.2", False),   # hknweb's declaration against bookworm's python3
    ("~3.9", "3.10.0", False),
    ("^3.11", "3.11.2", True),
    ("^3.11", "3.13.0", True),
    ("^3.11", "4.0.0", False),
    ("^3.11", "3.10.14", False),
    ("^3.11", "3.13.0rc1", True),   # a pre-release interpreter counts as its version
    ("~3.9", "3.10.0rc1", False),   # ...but <3.10 still excludes 3.10's pre-releases (PEP 440)
    (">=3.8 <3.12 || ^3.13", "3.12.1", False),
    (">=3.8 <3.12 || ^3.13", "3.13.1", True),
    ("*", "3.4.0", True),
])
def test_interpreter_versions_against_poetry_ranges(constraint, version, inside):
    assert python_satisfies(version, poetry_to_pep440(constraint)) is inside


@given(st.lists(st.integers(0, 30), min_size=1, max_size=3), st.integers(0, 40), st.integers(0, 40))
def test_caret_admits_its_floor_and_nothing_from_the_next_breaking_release(parts, bump_a, bump_b):
    floor = ".".join(map(str, parts))
    alternatives = poetry_to_pep440("^" + floor)
    assert python_satisfies(floor + ".0" * (3 - len(parts)), alternatives)
    # The first non-zero part (or the last given one) is the breaking one.
    index = next((i for i, p in enumerate(parts) if p > 0), len(parts) - 1)
    breaking = parts[:index] + [parts[index] + 1] + [0] * (2 - index)
    assert not python_satisfies(".".join(map(str, breaking)), alternatives)
    # Anything at or above the floor that keeps the leading parts is inside.
    inside = parts[:index + 1] + [bump_a, bump_b][: 2 - index]
    if inside >= parts + [0] * (len(inside) - len(parts)):
        assert python_satisfies(".".join(map(str, inside)), alternatives)


# --- pyproject.toml -----------------------------------------------------------------------

POETRY_PYPROJECT = """
[tool.poetry]
package-mode = false

[tool.poetry.dependencies]
python = "~3.9"
Django = "^4.2"
"""

PEP621_PYPROJECT = """
[project]
name = "app"
requires-python = ">=3.10,<3.13"
dependencies = []
"""


def test_poetry_declaration_is_found_and_translated():
    [found] = declared_python(POETRY_PYPROJECT)
    assert found == {"source": "tool.poetry.dependencies.python", "declared": "~3.9",
                     "alternatives": [">=3.9,<3.10"]}


def test_pep621_declaration_is_found_as_written():
    [found] = declared_python(PEP621_PYPROJECT)
    assert found["source"] == "project.requires-python"
    assert found["alternatives"] == [">=3.10,<3.13"]


def test_both_declarations_are_returned():
    both = PEP621_PYPROJECT + '\n[tool.poetry.dependencies]\npython = "^3.11"\n'
    assert [d["source"] for d in declared_python(both)] == ["project.requires-python",
                                                            "tool.poetry.dependencies.python"]


def test_no_declaration_is_no_range():
    assert declared_python('[tool.black]\nline-length = 100\n') == []
    assert declared_python('[tool.poetry.dependencies]\nDjango = "*"\n') == []


def test_invalid_pyproject_is_a_clear_error():
    with pytest.raises(CheckError, match="pyproject.toml is not valid TOML"):
        declared_python("[tool.poetry\npython = 3")
    with pytest.raises(CheckError, match="requires-python '>3.9,,<' is not a PEP 440 specifier"):
        declared_python('[project]\nrequires-python = ">3.9,,<"\n')


def test_the_sample_apps_own_pyproject_admits_python_311():
    sample = Path(__file__).resolve().parents[2] / "examples" / "sample-app" / "pyproject.toml"
    [found] = declared_python(sample.read_text())
    assert python_satisfies("3.11.2", found["alternatives"])
    assert not python_satisfies("3.9.18", found["alternatives"])


# --- requirements files and markers -------------------------------------------------------

ENV_311 = {
    "implementation_name": "cpython", "implementation_version": "3.11.2", "os_name": "posix",
    "platform_machine": "x86_64", "platform_python_implementation": "CPython",
    "platform_release": "6.1.0", "platform_system": "Linux", "platform_version": "#1 SMP",
    "python_full_version": "3.11.2", "python_version": "3.11", "sys_platform": "linux",
    "executable": "/usr/bin/python3.11",
}
ENV_39 = dict(ENV_311, python_full_version="3.9.18", python_version="3.9", implementation_version="3.9.18")

# What `poetry export` writes for hknweb: every line pinned to Python 3.9.
HKNWEB_EXPORT = textwrap.dedent('''\
    asgiref==3.8.1 ; python_version >= "3.9" and python_version < "3.10" \\
        --hash=sha256:3e1e3ecc849832fe52ccf2cb6686b7a55f82bb1d6aee72a58826471390335e47 \\
        --hash=sha256:c343bd80a0bec947a9860adb4c432ffa7db769836c64238fc34bdc3fec84d590
    django==4.2.16 ; python_version >= "3.9" and python_version < "3.10" \\
        --hash=sha256:1ddc333a16fc139fd253035a1606bb24261951bbc3a6ca256717fa06cc41a898
    mysqlclient==2.2.4 ; python_version >= "3.9" and python_version < "3.10"
''')


def test_an_export_pinned_to_39_installs_nothing_on_311_but_everything_on_39():
    entries = requirement_entries(HKNWEB_EXPORT)
    on_311 = split_by_markers(entries, ENV_311)
    assert on_311["applicable"] == [] and len(on_311["excluded"]) == 3 and on_311["other"] == []
    assert installs_nothing(on_311)
    on_39 = split_by_markers(entries, ENV_39)
    assert len(on_39["applicable"]) == 3 and not installs_nothing(on_39)


def test_hash_options_are_not_part_of_the_requirement():
    [(kind, line, spec), *_] = requirement_entries(HKNWEB_EXPORT)
    assert kind == "requirement" and "--hash" in line
    assert spec == 'asgiref==3.8.1 ; python_version >= "3.9" and python_version < "3.10"'
    assert split_by_markers(requirement_entries(HKNWEB_EXPORT), ENV_311)["excluded"][0] == spec


def test_one_applicable_line_is_enough():
    text = HKNWEB_EXPORT + 'gunicorn==23.0.0 ; sys_platform == "linux"\n'
    split = split_by_markers(requirement_entries(text), ENV_311)
    assert split["applicable"] == ['gunicorn==23.0.0 ; sys_platform == "linux"']
    assert not installs_nothing(split)


def test_plain_pins_comments_and_options():
    text = textwrap.dedent("""\
        # Exact pins
        --index-url https://example.invalid/simple
        Django==5.2.19  # the framework
        gunicorn==27.0.1

        pywin32==306 ; sys_platform == "win32"
        """)
    split = split_by_markers(requirement_entries(text), ENV_311)
    assert split["applicable"] == ["Django==5.2.19", "gunicorn==27.0.1"]
    assert split["excluded"] == ['pywin32==306 ; sys_platform == "win32"']


@pytest.mark.parametrize("line", ["-r base.txt", "-e .", "--editable=git+https://x/y.git#egg=y",
                                  "./wheels/app-1.0-py3-none-any.whl",
                                  "https://example.invalid/app-1.0.tar.gz"])
def test_lines_that_cannot_be_evaluated_count_as_installing(line):
    split = split_by_markers(requirement_entries(HKNWEB_EXPORT + line + "\n"), ENV_311)
    assert split["other"] == [line] and not installs_nothing(split)


def test_a_file_with_only_comments_and_options_installs_nothing():
    split = split_by_markers(requirement_entries("# nothing\n--no-index\n\n"), ENV_311)
    assert split == {"applicable": [], "excluded": [], "other": []} and installs_nothing(split)


def test_extras_markers_do_not_crash():
    split = split_by_markers(requirement_entries('typing-extensions ; extra == "typing"\n'), ENV_311)
    assert split["excluded"] == ['typing-extensions ; extra == "typing"']


def test_continuations_and_inline_comments():
    assert logical_lines("a==1 \\\n  --hash=sha256:x # c\n#x\nb#not-a-comment\n") == [
        "a==1    --hash=sha256:x", "b#not-a-comment"]


def test_the_marker_snippet_reports_this_interpreter():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    env = json.loads(out)["environment"]
    assert env["python_version"] == "%d.%d" % sys.version_info[:2]
    assert env["python_full_version"].startswith(env["python_version"] + ".")
    assert env["sys_platform"] == sys.platform
    # packaging accepts it as a full marker environment.
    assert split_by_markers(requirement_entries('x ; python_version >= "3"\n'), env)["applicable"] == [
        'x ; python_version >= "3"']


# --- the plan, made on the controller from what deploy_begin read on the host ----------------

THIS = "%d.%d" % sys.version_info[:2]


@pytest.fixture(scope="module")
def probe():
    """This interpreter probed exactly as deploy_begin probes one on the host."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    return {"python3": dict(found=True, error="", executable=data["executable"], venv=data["venv"],
                            environment=data["environment"], version=data["environment"]["python_full_version"])}


def files(**texts):
    """files(pyproject=..., lock=True, requirements=...) as deploy_begin returns them."""
    out = {}
    for name, key in (("pyproject.toml", "pyproject"), ("poetry.lock", "lock"), ("requirements.txt", "requirements")):
        value = texts.get(key)
        out[name] = dict(exists=value is not None, sha256=None if value is None else "h-" + str(value),
                         text=None if value is None or value is True else value)
    return out


SETTINGS = dict(interpreter="python3", strategy="", requirements_file="requirements.txt", poetry_python="python3",
                poetry_groups=[], pip_args=[], poetry_version="2.2.1")


def plan(found, probe, venvs=(), **settings):
    return plan_python(found, probe, dict(SETTINGS, **settings), list(venvs), "app_python_")


def test_plan_detects_poetry_and_checks_the_declared_range(probe):
    result = plan(files(pyproject=POETRY_PYPROJECT, lock=True), probe)
    assert result["strategy"] == "poetry" and result["strategy_reason"] == "poetry.lock is in the commit"
    assert result["requires_python"] == ['tool.poetry.dependencies.python = "~3.9" (PEP 440: >=3.9,<3.10)']
    outside = [p for p in result["problems"] if "outside the range" in p]
    assert bool(outside) is (THIS != "3.9")
    if outside:
        assert "Set app_python_interpreter to a Python in that range" in outside[0]


def test_plan_refuses_markers_that_exclude_everything(probe):
    result = plan(files(requirements=HKNWEB_EXPORT), probe, strategy="pip")
    refused = [p for p in result["problems"] if "excluded by its environment marker" in p]
    assert bool(refused) is (THIS != "3.9")


def test_plan_without_lock_chooses_pip_and_reads_pep621(probe):
    result = plan(files(pyproject='[project]\nname = "x"\nrequires-python = ">=3.8"\n',
                        requirements="Django==5.2.19\n"), probe)
    assert result["strategy"] == "pip" and "no poetry.lock" in result["strategy_reason"]
    assert result["problems"] == [] and result["key"] and result["reused"] is False


def test_plan_names_each_problem_with_its_variable(probe):
    missing = plan(files(requirements="x==1\n"), {"python3": dict(found=False, error="not found")}, interpreter="python3")
    assert any(p.startswith("app_python_interpreter 'python3' does not run") for p in missing["problems"])
    no_lock = plan(files(requirements="x==1\n"), probe, strategy="poetry")
    assert any("has no poetry.lock" in p and "app_python_install_strategy" in p for p in no_lock["problems"])
    no_file = plan(files(), probe, strategy="pip")
    assert any("has no requirements.txt" in p and "app_python_requirements_file" in p for p in no_file["problems"])
    bad = plan(files(pyproject="[tool.poetry\n", requirements="x==1\n"), probe)
    assert any("pyproject.toml cannot be read" in p for p in bad["problems"])


def test_plan_refuses_a_poetry_too_new_for_its_python(probe):
    old = dict(probe["python3"], version="3.9.2")
    result = plan(files(lock=True), {"python3": probe["python3"], "python3.9": old},
                  strategy="poetry", poetry_python="python3.9", poetry_version="2.5.1")
    assert any("Poetry 2.5.1 needs Python 3.10" in p and "app_python_poetry_version to 2.2.1" in p
               for p in result["problems"])
    ok = plan(files(lock=True), {"python3": probe["python3"], "python3.9": old},
              strategy="poetry", poetry_python="python3.9", poetry_version="2.2.1")
    assert not [p for p in ok["problems"] if "needs Python" in p]


def test_venv_key_follows_the_dependency_set_not_the_code(probe):
    base = plan(files(requirements="Django==5.2.19\n"), probe)
    same = plan(files(requirements="Django==5.2.19\n", pyproject='[project]\nname = "changed"\n'), probe)
    other = plan(files(requirements="Django==5.2.20\n"), probe)
    args = plan(files(requirements="Django==5.2.19\n"), probe, pip_args=["--no-index"])
    assert base["key"] == same["key"]  # code (and pyproject, for pip) may change freely
    assert len({base["key"], other["key"], args["key"]}) == 3
    assert plan(files(requirements="Django==5.2.19\n"), probe, venvs=[base["key"]])["reused"] is True
