"""lock_export: the exact distributions a poetry.lock installs for one interpreter, and what it refuses.

Main inputs are locks Poetry 2.2.1 wrote: the hknweb-shaped fixture (Python ~3.9) and
tests/fixtures/lock-export (Python 3.9-3.12, whose pyproject.toml records what `poetry install --dry-run`
listed on Python 3.11; the 3.11 cases below assert exactly that list). Variants are small text edits.
"""

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.hknweb.deploy.plugins.module_utils.lock_export import (
    LOCK_VERSIONS, content_hash, export, render)
from ansible_collections.hknweb.deploy.plugins.module_utils.python_check import requirement_entries

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HKNWEB_PYPROJECT = (FIXTURES / "hknweb-app" / "pyproject.toml").read_text()
HKNWEB_LOCK = (FIXTURES / "hknweb-app" / "poetry.lock").read_text()
WIDE_PYPROJECT = (FIXTURES / "lock-export" / "pyproject.toml").read_text()
WIDE_LOCK = (FIXTURES / "lock-export" / "poetry.lock").read_text()

HKNWEB_39 = {"asgiref": "3.11.1", "django": "4.2.30", "gunicorn": "21.2.0", "packaging": "26.3",
             "sqlparse": "0.5.5", "typing-extensions": "4.16.0"}
# What `poetry install --dry-run --only main` listed on Python 3.11 (tests/fixtures/lock-export/pyproject.toml).
WIDE_311 = {"asgiref": "3.12.1", "bcrypt": "5.0.0", "django": "4.2.30", "gunicorn": "21.2.0", "packaging": "26.4",
            "sqlparse": "0.6.1"}
# Python 3.9: older asgiref/sqlparse/packaging (their Python ranges), tomli and typing-extensions (markers).
WIDE_39 = {"asgiref": "3.11.1", "bcrypt": "5.0.0", "django": "4.2.30", "gunicorn": "21.2.0", "packaging": "24.2",
           "sqlparse": "0.5.5", "tomli": "2.5.0", "typing-extensions": "4.16.0"}


def env(version="3.9.2", **overrides):
    """A Debian x86_64 CPython marker environment, as python_check.PROBE prints it."""
    base = dict(implementation_name="cpython", implementation_version=version, os_name="posix",
                platform_machine="x86_64", platform_python_implementation="CPython", platform_release="6.1.0",
                platform_system="Linux", platform_version="#1 SMP Debian", python_full_version=version,
                python_version=".".join(version.split(".")[:2]), sys_platform="linux",
                executable="/usr/bin/python3")
    return dict(base, **overrides)


def installed(result):
    assert result["problems"] == []
    return {entry["name"]: entry["version"] for entry in result["entries"]}


def edit(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


def rehash(pyproject_text, lock_text):
    """The lock with the content-hash of this pyproject (for variants whose pyproject changed)."""
    digest = content_hash(tomllib.loads(pyproject_text))
    return re.sub(r'content-hash = "[0-9a-f]+"', 'content-hash = "%s"' % digest, lock_text)


def block(lock_text, name):
    """The [[package]] block of `name` (up to the next one), to edit one package."""
    start = lock_text.index('[[package]]\nname = "%s"' % name)
    end = lock_text.find("[[package]]", start + 1)
    end = lock_text.index("[metadata]") if end < 0 else end
    return lock_text[start:end]


def refused(result, *words):
    assert result["entries"] == [], "a refused lock installs nothing"
    text = " ".join(result["problems"])
    for word in words:
        assert word in text, (word, result["problems"])
    return text


# --- the set, per interpreter, group and extra -------------------------------------------------


def test_hknweb_main_on_python39_is_the_walk_of_its_lock():
    result = export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env("3.9.2"))
    assert installed(result) == HKNWEB_39
    why = {entry["name"]: entry["why"] for entry in result["entries"]}
    assert why["django"] == ["main group"] and why["typing-extensions"] == ["asgiref 3.11.1"]


def test_a_marker_excludes_tzdata_except_on_windows():
    assert "tzdata" not in installed(export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env()))
    windows = installed(export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env(sys_platform="win32", os_name="nt")))
    assert windows["tzdata"] == "2026.6"


def test_the_prod_group_adds_mysqlclient_with_every_hash():
    result = export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env(), groups=["prod"])
    assert installed(result) == dict(HKNWEB_39, mysqlclient="2.2.7")
    mysqlclient = next(e for e in result["entries"] if e["name"] == "mysqlclient")
    assert len(mysqlclient["hashes"]) == 8 and mysqlclient["why"] == ["group prod"]
    assert "24ae22b59416d5fcce7e99c9d37548350b4565baac82f95e149cac6ce4163845" in mysqlclient["hashes"]  # the sdist


def test_python39_and_311_differ_where_the_lock_says():
    assert installed(export(WIDE_PYPROJECT, WIDE_LOCK, env("3.9.2"))) == WIDE_39
    assert installed(export(WIDE_PYPROJECT, WIDE_LOCK, env("3.11.2"))) == WIDE_311


@pytest.mark.parametrize("version, mysqlclient", [("3.9.2", "2.2.7"), ("3.11.2", "2.3.2")])
def test_groups_on_and_off(version, mysqlclient):
    without = installed(export(WIDE_PYPROJECT, WIDE_LOCK, env(version)))
    with_prod = installed(export(WIDE_PYPROJECT, WIDE_LOCK, env(version), groups=["prod"]))
    assert "mysqlclient" not in without
    assert with_prod == dict(without, mysqlclient=mysqlclient)


def test_a_root_extra_adds_its_package_only_when_asked():
    assert "colorama" not in installed(export(WIDE_PYPROJECT, WIDE_LOCK, env("3.11.2")))
    result = export(WIDE_PYPROJECT, WIDE_LOCK, env("3.11.2"), extras=["color"])
    assert installed(result) == dict(WIDE_311, colorama="0.4.6")
    assert next(e for e in result["entries"] if e["name"] == "colorama")["why"] == ["extra color"]


def test_an_extra_on_a_dependency_is_followed():
    result = export(WIDE_PYPROJECT, WIDE_LOCK, env("3.11.2"))
    assert next(e for e in result["entries"] if e["name"] == "bcrypt")["why"] == ["django 4.2.30"]
    # Without [bcrypt] the walk does not follow django's optional edge; the lock (made with it) still marks
    # bcrypt for main, so the two views differ and the reader refuses, naming bcrypt.
    plain = edit(WIDE_PYPROJECT, '"django[bcrypt] (>=4.2,<4.3)"', '"django (>=4.2,<4.3)"')
    refused(export(plain, rehash(plain, WIDE_LOCK), env("3.11.2")), "bcrypt 5.0.0", "poetry lock")


def test_an_optional_edge_is_followed_only_for_the_extra_that_lists_it():
    """Without an `extra ==` marker on the edge (older locks), the package's extras table decides."""
    def project(spec):
        return '[tool.poetry]\npackage-mode = false\n[tool.poetry.dependencies]\npython = "^3.9"\nalpha = %s\n' % spec
    alpha = _package("alpha", "1.0", {}, groups=False) + (
        '[package.dependencies]\nbeta = {version = ">=1", optional = true}\n\n'
        '[package.extras]\nfast = ["beta (>=1)"]\nslow = []\n\n')
    lock = alpha + _package("beta", "1.0", {}, groups=False)
    for spec, expected in (('"1.0"', {"alpha"}), ('{version = "1.0", extras = ["slow"]}', {"alpha"}),
                           ('{version = "1.0", extras = ["fast"]}', {"alpha", "beta"})):
        assert set(installed(export(project(spec), _lock(project(spec), lock, "2.0"), env()))) == expected, spec


def test_lock_version_20_is_walked_by_its_edges_alone():
    """Lock 2.0 has no groups/markers per package: the edges' markers decide (tzdata, typing-extensions)."""
    old = re.sub(r'(?m)^(groups|markers) = .*\n', "", HKNWEB_LOCK)
    old = edit(edit(old, 'lock-version = "2.1"', 'lock-version = "2.0"'), "Poetry 2.2.1", "Poetry 1.8.3")
    assert installed(export(HKNWEB_PYPROJECT, old, env("3.9.2"))) == HKNWEB_39
    assert installed(export(HKNWEB_PYPROJECT, old, env("3.9.2"), ["prod"])) == dict(HKNWEB_39, mysqlclient="2.2.7")


def test_two_locked_versions_without_markers_are_refused_not_guessed():
    old = re.sub(r'(?m)^(groups|markers) = .*\n', "", edit(WIDE_LOCK, 'lock-version = "2.1"', 'lock-version = "2.0"'))
    refused(export(WIDE_PYPROJECT, old, env("3.11.2")), "asgiref", "2 matching packages")


def test_a_cycle_ends_and_each_package_is_listed_once():
    pyproject = '[tool.poetry]\npackage-mode = false\n[tool.poetry.dependencies]\npython = "^3.9"\nalpha = "1.0"\n'
    lock = "".join(_package(name, "1.0", {other: [None]}) for name, other in (("alpha", "beta"), ("beta", "alpha")))
    result = export(pyproject, _lock(pyproject, lock), env())
    assert installed(result) == {"alpha": "1.0", "beta": "1.0"}
    assert result["entries"][0]["why"] == ["main group", "beta 1.0"]



def test_pep735_dependency_groups_with_an_included_group():
    pyproject = ('[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.9"\ndependencies = ["alpha"]\n'
                 '[dependency-groups]\ntest = ["beta", {include-group = "lint"}]\nlint = ["gamma; python_version < \'3.11\'"]\n'
                 '[tool.poetry]\npackage-mode = false\n')
    lock = "".join(_package(name, "1.0", {}, groups=False) for name in ("alpha", "beta", "gamma"))
    lock = _lock(pyproject, lock, "2.0")
    assert installed(export(pyproject, lock, env())) == {"alpha": "1.0"}
    result = export(pyproject, lock, env("3.9.2"), groups=["test"])
    assert installed(result) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}
    assert result["entries"][2]["why"] == ["group test"]
    assert "gamma" not in installed(export(pyproject, lock, env("3.11.2"), groups=["test"]))
    # Poetry 2.3 and later hash [dependency-groups] too; only locks from before 2.3 may leave them out.
    without = content_hash(tomllib.loads(pyproject), with_dependency_groups=False)
    older = re.sub(r'content-hash = ".*"', 'content-hash = "%s"' % without, lock)
    assert installed(export(pyproject, older, env())) == {"alpha": "1.0"}
    refused(export(pyproject, older.replace("Poetry 2.2.1", "Poetry 2.3.0"), env()), "content-hash " + without)

# --- what is refused -----------------------------------------------------------------------


def test_the_fixtures_content_hash_is_the_one_poetry_wrote():
    assert content_hash(tomllib.loads(HKNWEB_PYPROJECT)) == \
        "c62b8c4dc83ffcfbc1f61df8e9c51f627292449334c09247de3688367fd20206"  # [tool.poetry] only
    assert content_hash(tomllib.loads(WIDE_PYPROJECT)) == \
        "5cbf76adf6284a884eaaec6ea0f72349706209da6115831bbb18c1fa6ca28d83"  # [project] and [tool.poetry]


@pytest.mark.parametrize("pyproject, lock, words", [
    (edit(HKNWEB_PYPROJECT, 'gunicorn = "21.2.0"', 'gunicorn = "22.0.0"'), HKNWEB_LOCK, ["content-hash", "stale"]),
    (HKNWEB_PYPROJECT, edit(HKNWEB_LOCK, "c62b8c4dc8", "d62b8c4dc8"), ["content-hash d62b8c4dc8"]),
    (HKNWEB_PYPROJECT, re.sub(r"content-hash = .*\n", "", HKNWEB_LOCK), ["content-hash None"]),
    (HKNWEB_PYPROJECT, "", ["no poetry.lock"]),
    (HKNWEB_PYPROJECT, None, ["no poetry.lock"]),
])
def test_a_stale_tampered_or_missing_lock_is_refused(pyproject, lock, words):
    refused(export(pyproject, lock, env()), *words)


@pytest.mark.parametrize("version", ["1.1", "2.2", "3.0"])
def test_an_unknown_lock_version_is_refused(version):
    refused(export(HKNWEB_PYPROJECT, edit(HKNWEB_LOCK, 'lock-version = "2.1"', 'lock-version = "%s"' % version), env()),
            "lock-version '%s'" % version, " and ".join(LOCK_VERSIONS))


def test_a_package_without_a_sha256_hash_is_refused_by_name():
    sqlparse = block(HKNWEB_LOCK, "sqlparse")
    no_files = edit(HKNWEB_LOCK, sqlparse, re.sub(r"files = \[\n(.*\n)*?\]\n", "files = []\n", sqlparse))
    refused(export(HKNWEB_PYPROJECT, no_files, env()), "sqlparse 0.5.5 has no sha256 hash")
    md5 = edit(HKNWEB_LOCK, sqlparse, re.sub(r"sha256:[0-9a-f]{64}", "md5:" + "0" * 32, sqlparse))
    refused(export(HKNWEB_PYPROJECT, md5, env()), "sqlparse 0.5.5 has no sha256 hash")


@pytest.mark.parametrize("kind", ["git", "directory", "file"])
def test_a_source_without_a_lock_exact_install_is_refused_by_name(kind):
    source = '\n[package.source]\ntype = "%s"\nurl = "https://github.com/benoitc/gunicorn.git"\nreference = "21.2.0"\n' % kind
    gunicorn = block(HKNWEB_LOCK, "gunicorn")
    lock = edit(HKNWEB_LOCK, gunicorn, gunicorn.rstrip("\n") + "\n" + source + "\n")
    refused(export(HKNWEB_PYPROJECT, lock, env()), "gunicorn 21.2.0 comes from a %s source" % kind)


def test_outside_the_locks_python_range_is_refused():
    refused(export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env("3.11.2")), "Python ~3.9", "3.11.2")


def test_an_unknown_group_or_extra_is_refused_naming_the_declared_ones():
    refused(export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env(), groups=["prd"]), "prd", "declares: prod")
    refused(export(WIDE_PYPROJECT, WIDE_LOCK, env(), extras=["colour"]), "colour", "offers: color")


def test_groups_that_disagree_with_the_graph_are_refused():
    """mysqlclient marked for main by hand: Poetry would install it with main alone, the graph would not."""
    lock = edit(HKNWEB_LOCK, 'groups = ["prod"]', 'groups = ["main", "prod"]')
    refused(export(HKNWEB_PYPROJECT, lock, env()), "pick mysqlclient 2.2.7", "graph picks nothing more")
    assert installed(export(HKNWEB_PYPROJECT, lock, env(), groups=["prod"]))["mysqlclient"] == "2.2.7"


@pytest.mark.parametrize("lock", [
    "not = [toml", '[metadata]\nlock-version = "2.1"\n', HKNWEB_LOCK.replace('name = "django"\n', ""),
    edit(HKNWEB_LOCK, 'markers = "sys_platform == \\"win32\\""', 'markers = "sys_platform ==="'),
])
def test_bad_input_is_a_problem_value_not_an_exception(lock):
    assert refused(export(HKNWEB_PYPROJECT, rehash(HKNWEB_PYPROJECT, lock), env()))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_one_line_deleted_never_raises_and_never_yields_a_bad_list(data):
    lines = HKNWEB_LOCK.splitlines(keepends=True)
    gone = data.draw(st.integers(0, len(lines) - 1))
    result = export(HKNWEB_PYPROJECT, "".join(lines[:gone] + lines[gone + 1:]), env(), groups=["prod"])
    names = [entry["name"] for entry in result["entries"]]
    assert bool(result["problems"]) != bool(names)
    assert len(names) == len(set(names)) and all(entry["hashes"] for entry in result["entries"])


# --- random graphs: the walk is reachability under the markers ---------------------------------

_MARKERS = {None: lambda e: True, 'python_version < "3.11"': lambda e: e["python_version"] == "3.9",
            'sys_platform == "win32"': lambda e: e["sys_platform"] == "win32"}


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 7).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from(list(_MARKERS)))),
    st.sets(st.integers(0, n - 1), min_size=1), st.sampled_from(["3.9.2", "3.11.2"]), st.randoms())))
def test_random_graphs_with_cycles_give_exactly_the_reachable_packages_once(case):
    size, edges, roots, version, shuffle = case
    names = ["p%d" % i for i in range(size)]
    deps = {i: {} for i in range(size)}
    for source, target, marker in edges:  # two edges to one package: a list of constraints, as Poetry writes it
        deps[source].setdefault(names[target], []).append(marker)
    pyproject = '[tool.poetry]\n[tool.poetry.dependencies]\npython = "^3.9"\n' + "".join(
        '%s = "1.0"\n' % names[i] for i in sorted(roots))
    blocks = [_package(names[i], "1.0", deps[i], groups=False) for i in range(size)]
    shuffle.shuffle(blocks)
    target = env(version)
    reach, todo = set(), sorted(roots)
    while todo:
        i = todo.pop()
        if i not in reach:
            reach.add(i)
            todo += [t for s, t, m in edges if s == i and _MARKERS[m](target)]
    result = export(pyproject, _lock(pyproject, "".join(blocks), "2.0"), target)
    assert installed(result) == {names[i]: "1.0" for i in reach}
    assert len(result["entries"]) == len(reach) and all(len(e["hashes"]) == 1 for e in result["entries"])


# --- the requirements text ----------------------------------------------------------------------


def test_render_pins_every_entry_with_its_hashes():
    result = export(HKNWEB_PYPROJECT, HKNWEB_LOCK, env(), groups=["prod"])
    text = render(result["entries"])
    assert text.startswith(
        "asgiref==3.11.1 \\\n"
        "    --hash=sha256:5f184dc43b7e763efe848065441eac62229c9f7b0475f41f80e207a114eda4ce \\\n"
        "    --hash=sha256:e8667a091e69529631969fd45dc268fa79b99c92c5fcdda727757e52146ec133\n"
        "django==4.2.30 \\\n")
    entries = requirement_entries(text)  # pip's logical lines: one requirement per distribution
    assert [spec for _, _, spec in entries] == ["%s==%s" % item for item in sorted(installed(result).items())]
    assert text.count("--hash=sha256:") == sum(len(e["hashes"]) for e in result["entries"]) == 20
    assert render([]) == ""


def test_url_and_private_index_sources_render_as_pip_accepts():
    url = "https://example.org/gunicorn-21.2.0-py3-none-any.whl"
    gunicorn, packaging = block(HKNWEB_LOCK, "gunicorn"), block(HKNWEB_LOCK, "packaging")
    lock = edit(HKNWEB_LOCK, gunicorn, gunicorn.rstrip("\n") + '\n\n[package.source]\ntype = "url"\nurl = "%s"\n\n' % url)
    lock = edit(lock, packaging, packaging.rstrip("\n") +
                '\n\n[package.source]\ntype = "legacy"\nurl = "https://pypi.example.org/simple"\nreference = "ours"\n\n')
    result = export(HKNWEB_PYPROJECT, lock, env())
    assert installed(result) == HKNWEB_39
    text = render(result["entries"])
    assert text.startswith("--extra-index-url https://pypi.example.org/simple\n")
    assert "gunicorn @ %s \\\n    --hash=sha256:3213aa5e" % url in text and "packaging==26.3 \\" in text


def _package(name, version, dependencies, groups=True):
    """A [[package]] block as Poetry writes it, with one wheel hash derived from the name."""
    digest = (name.encode().hex() * 64)[:64]
    text = ('[[package]]\nname = "%s"\nversion = "%s"\ndescription = ""\noptional = false\npython-versions = "*"\n'
            '%sfiles = [\n    {file = "%s-%s-py3-none-any.whl", hash = "sha256:%s"},\n]\n'
            % (name, version, 'groups = ["main"]\n' if groups else "", name, version, digest))
    if dependencies:
        text += "\n[package.dependencies]\n" + "".join(
            "%s = [%s]\n" % (dep, ", ".join(_constraint(m) for m in markers)) for dep, markers in dependencies.items())
    return text + "\n"


def _constraint(marker):
    return '{version = "*", markers = "%s"}' % marker.replace('"', '\\"') if marker else '"*"'


def _lock(pyproject, packages, version="2.1"):
    return rehash(pyproject, '# This file is automatically @generated by Poetry 2.2.1\n\n%s[metadata]\n'
                             'lock-version = "%s"\npython-versions = "^3.9"\ncontent-hash = "0"\n' % (packages, version))

