#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: venv_build
short_description: Build the venv of one dependency set under venvs/<key>, with uv, pip or Poetry
version_added: "2.0.0"
description:
  - Creates C(venvs/<key>/) with O(interpreter) and installs the release's dependencies - the
    exact hashed list O(install_list) (strategy V(lock)) with uv, C(--require-hashes --no-deps), so
    nothing is resolved on the host; O(requirements_file) (strategy V(pip)) with uv or pip; or
    C(poetry.lock) with a pinned Poetry (strategy V(poetry)).
  - uv and Poetry are installed once into the deploy path, pinned (C(tools/uv-<version>),
    C(tools/poetry-<version>)), never taken from the host. uv's wheel and download cache,
    C(tools/uv-cache), is shared by the deploy path's venvs, so a second venv with mostly the same
    packages links them from the cache instead of downloading them.
  - uv's binary is read out of its manylinux wheel where O(pip_args) say pip would look (the index
    page's sha256 checked; a mismatch fails); pip installs it instead for any other pip option, a
    musl host or no fitting file.
  - A venv uv built takes the live venv's C(.pyc) files, by hard link, for the source files both
    link from the same cache entry, so its first imports compile only what is new.
  - The key names the dependency set (lock or requirements text, interpreter, strategy,
    options), so releases with the same set share one venv and a code-only deploy runs no
    installer at all. A venv is used only once its C(.complete) file exists; one left half
    built by an interrupted run is removed and built again.
  - Fails with the installer's last output lines, so the cause is in the message.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (absolute).
    type: path
    required: true
  key:
    description: The venv key (16 hex digits).
    type: str
    required: true
  release:
    description: The release folder whose requirements file or poetry.lock is installed.
    type: path
    required: true
  strategy:
    description: V(pip), V(poetry) or V(lock).
    type: str
    choices: [pip, poetry, lock]
    required: true
  installer:
    description: What installs a V(pip) strategy's requirements (V(lock) always uses uv).
    type: str
    choices: [uv, pip]
    default: uv
  uv_version:
    description: The uv version put in C(tools/uv-<version>/bin/uv), from where O(pip_args) point.
    type: str
    default: 0.13.9
  install_list:
    description: lock - the requirements text to install, every line pinned with its sha256 hashes.
    type: str
    default: ""
  interpreter:
    description: The Python the venv is made with.
    type: str
    required: true
  requirements_file:
    description: pip - requirements file, relative to the release.
    type: str
    default: requirements.txt
  pip_args:
    description: Extra arguments for the installer, pip or uv (also used to install Poetry and uv).
    type: list
    elements: str
    default: []
  poetry_version:
    description: Poetry - the version installed in C(tools/poetry-<version>).
    type: str
    default: 2.2.1
  poetry_python:
    description: Poetry - the Python that runs Poetry.
    type: str
    default: python3
  poetry_groups:
    description: Poetry - groups installed besides C(main).
    type: list
    elements: str
    default: []
  poetry_constraints:
    description: Poetry - pip constraints (text) for Poetry's own dependencies.
    type: str
    default: ""
  poetry_mirror_url:
    description: Poetry - a PEP 503 index that replaces PyPI (empty - PyPI).
    type: str
    default: ""
  poetry_mirror_plugin:
    description: Poetry - the plugin requirement that applies O(poetry_mirror_url).
    type: str
    default: poetry-plugin-pypi-mirror==0.6.5
extends_documentation_fragment:
  - action_common_attributes
  - hknweb.deploy.lease
attributes:
  check_mode:
    support: full
    details: Builds nothing; reports whether it would.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Build the dependency set's venv (skipped when it exists)
  hknweb.deploy.venv_build:
    path: /home/hkn/hknweb/prod
    key: 3f2a9c1b7d5e4a60
    release: /home/hkn/hknweb/prod/releases/20261126T120000Z
    strategy: pip
    interpreter: python3
"""

RETURN = r"""
venv:
  description: The venv folder.
  returned: always
  type: str
packages:
  description: Number of distributions installed in the venv.
  returned: success
  type: int
seconds:
  description: Time spent building.
  returned: success
  type: float
"""

import glob
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.hknweb.deploy.plugins.module_utils import bytecode
from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import is_venv_key
from ansible_collections.hknweb.deploy.plugins.module_utils.host import Result, run, tail, user_environment
from ansible_collections.hknweb.deploy.plugins.module_utils import stages
from ansible_collections.hknweb.deploy.plugins.module_utils import uv_wheel


class BuildError(Exception):
    def __init__(self, step, done):
        super().__init__(step)
        self.step, self.done = step, done


def must(step, done):
    if not done.ok:
        raise BuildError(step, done)
    return done


def is_complete(folder):
    return os.path.exists(os.path.join(folder, layout.VENV_COMPLETE))


def mark_complete(folder):
    open(os.path.join(folder, layout.VENV_COMPLETE), "w").close()


def start_afresh(folder):
    if os.path.isdir(folder) and not is_complete(folder):
        shutil.rmtree(folder)  # half built by an interrupted run: start again


def keep_only(tools, pattern, home):
    """Remove the other versions of a tool: releases keep no reference to uv or Poetry."""
    for other in glob.glob(os.path.join(tools, pattern)):
        if other != home:
            shutil.rmtree(other, ignore_errors=True)


def make_venv(python, folder):
    start_afresh(folder)
    must("%s -m venv %s" % (python, folder), run([python, "-m", "venv", folder]))


def poetry_tool(p):
    """Poetry in its own venv, pinned (with its own dependencies constrained), built once."""
    tools = layout.tools_dir(p["path"])
    home = os.path.join(tools, "poetry-" + p["poetry_version"])
    constraints = os.path.join(home, "constraints.txt")
    try:
        with open(constraints, encoding="utf-8") as handle:
            same_pins = handle.read() == p["poetry_constraints"]
    except OSError:
        same_pins = not p["poetry_constraints"].strip()
    if is_complete(home) and same_pins:
        return home
    if os.path.isdir(home):
        shutil.rmtree(home)  # other pins for Poetry's own dependencies: install it again
    os.makedirs(tools, 0o755, exist_ok=True)
    make_venv(p["poetry_python"], home)
    packages = ["poetry==" + p["poetry_version"]]
    if p["poetry_mirror_url"]:
        packages.append(p["poetry_mirror_plugin"])
    argv = [layout.venv_program(home, "pip", linked=False), "install", "--disable-pip-version-check", "--quiet"]
    if p["poetry_constraints"].strip():
        with open(constraints, "w", encoding="utf-8") as handle:
            handle.write(p["poetry_constraints"])
        argv += ["-c", constraints]
    must("pip install " + " ".join(packages), run(argv + p["pip_args"] + packages))
    mark_complete(home)
    keep_only(tools, "poetry-[0-9]*", home)
    return home


# The pip wheel the interpreter's ensurepip would install (CPython's _bundled; Debian's python3-pip-whl).
BUNDLED_PIP = ("import ensurepip, glob, os; here = os.path.dirname(ensurepip.__file__); "
               "print('\\n'.join(sorted(glob.glob(os.path.join(here, '_bundled', 'pip-*.whl'))) "
               "+ sorted(glob.glob('/usr/share/python-wheels/pip-*.whl'))))")


def uv_tool(p):
    """uv, pinned, installed once per deploy path from the app's index into tools/uv-<version>/bin/uv."""
    tools = layout.tools_dir(p["path"])
    home = os.path.join(tools, "uv-" + p["uv_version"])
    program = layout.venv_program(home, "uv", linked=False)
    if is_complete(home):
        return program
    start_afresh(home)
    os.makedirs(tools, 0o755, exist_ok=True)
    if not uv_from_wheel(p, home, program):
        uv_by_pip(p, home)
    mark_complete(home)
    keep_only(tools, "uv-[0-9]*", home)
    return program


def uv_from_wheel(p, home, program):
    """The binary read out of uv's wheel where pip would look (uv_wheel); False sends uv to pip instead."""
    places, glibc = uv_wheel.places(p["pip_args"]), uv_wheel.glibc_version()
    if places is None or glibc is None:
        return False
    try:
        chosen = uv_wheel.choose(places, p["uv_version"], os.uname().machine, glibc, read_page, os.listdir)
        if chosen is None:
            return False
        _name, where, digest = chosen
        local = uv_wheel.local_path(where)
        # Downloaded into home itself: a run killed here leaves home without .complete, removed next time.
        wheel = local or uv_wheel.download(where, home, lambda url: open_url(url, timeout=60))
        try:
            uv_wheel.unpack(wheel, p["uv_version"], digest, program)
            return True
        finally:
            if not local:
                os.unlink(wheel)
    except uv_wheel.HashMismatch as error:
        raise BuildError("installing uv " + p["uv_version"], Result([], 1, "", str(error), 0.0)) from error
    except Exception:  # pylint: disable=broad-except  # any other miss: pip, which honours every option, tries
        start_afresh(home)
        return False


def read_page(url):
    with open_url(url, headers={"Accept": "text/html"}, timeout=30) as answer:
        return answer.read().decode("utf-8", "replace")


def uv_by_pip(p, home):
    pip = bundled_pip(p["interpreter"])
    wanted = p["pip_args"] + ["uv==" + p["uv_version"]]
    if pip:
        # uv is one static binary: pip run from its wheel puts it in <home>/bin, with no venv to make first
        # (python -m venv's ensurepip is most of the cost: measured 3.2 s of 4.1 s on the test host).
        argv = [p["interpreter"], pip + "/pip", "install", "--disable-pip-version-check", "--quiet",
                "--no-warn-script-location", "--target", home]
    else:
        make_venv(p["interpreter"], home)
        argv = [layout.venv_program(home, "pip", linked=False), "install", "--disable-pip-version-check", "--quiet"]
    must("pip install uv==" + p["uv_version"], run(argv + wanted))


def bundled_pip(python):
    done = run([python, "-c", BUNDLED_PIP])
    found = [line for line in done.out.splitlines() if line.endswith(".whl")] if done.ok else []
    return found[-1] if found else None


def uv_environment(p):
    # The deploy path's own cache; never a Python uv downloads, never a uv.toml the commit or home carries.
    return user_environment({"UV_CACHE_DIR": os.path.join(layout.tools_dir(p["path"]), "uv-cache"),
                             "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"})


def uv_install(p, venv):
    """The venv made by uv, then the exact list (lock) or the requirements file (pip) installed by uv."""
    uv, env = uv_tool(p), uv_environment(p)
    start_afresh(venv)
    must("uv venv", run([uv, "venv", "--quiet", "--no-project", "--python", p["interpreter"], venv], env=env))
    argv = [uv, "pip", "install", "--quiet", "--python", layout.venv_program(venv, "python", linked=False)]
    if p["strategy"] == "lock":
        listed = os.path.join(venv, layout.VENV_INSTALL_LIST)
        with open(listed, "w", encoding="utf-8") as handle:
            handle.write(p["install_list"])
        entries = [line for line in p["install_list"].splitlines() if line[:1] not in ("", " ", "-", "#")]
        step = "uv pip install --require-hashes --no-deps (%d packages from poetry.lock)" % len(entries)
        return must(step, run(argv + ["--require-hashes", "--no-deps", "-r", listed] + p["pip_args"], env=env))
    requirements = os.path.join(p["release"], p["requirements_file"])
    return must("uv pip install -r " + p["requirements_file"], run(argv + ["-r", requirements] + p["pip_args"],
                                                                   cwd=p["release"], env=env))


def install(p, venv):
    if p["strategy"] == "lock" or (p["strategy"] == "pip" and p["installer"] == "uv"):
        done = uv_install(p, venv)
        old = bytecode.donor(p["path"], p["key"])
        if old:  # uv compiles nothing; the live venv's .pyc files of the same cached files are valid here
            bytecode.carry(old, venv)
        return done
    make_venv(p["interpreter"], venv)
    if p["strategy"] == "pip":
        requirements = os.path.join(p["release"], p["requirements_file"])
        argv = [layout.venv_program(venv, "pip", linked=False), "install", "--disable-pip-version-check", "--quiet",
                "-r", requirements] + p["pip_args"]
        return must("pip install -r " + p["requirements_file"], run(argv, cwd=p["release"]))
    home = poetry_tool(p)
    only = ",".join(dict.fromkeys(["main"] + p["poetry_groups"]))
    env = user_environment({"VIRTUAL_ENV": venv, "POETRY_VIRTUALENVS_CREATE": "false",
                            "POETRY_CACHE_DIR": os.path.join(layout.tools_dir(p["path"]), "poetry-cache"),
                            "POETRY_NO_INTERACTION": "1"})
    if p["poetry_mirror_url"]:
        env["POETRY_PYPI_MIRROR_URL"] = p["poetry_mirror_url"]
    argv = [layout.venv_program(home, "poetry", linked=False), "install", "--only", only, "--no-root", "--no-interaction",
            "--no-ansi"]
    return must("poetry install --only " + only, run(argv, cwd=p["release"], env=env))


def count_packages(venv):
    return len(glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "*.dist-info")))


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="path", required=True),
        key=dict(type="str", required=True),
        release=dict(type="path", required=True),
        strategy=dict(type="str", required=True, choices=["pip", "poetry", "lock"]),
        installer=dict(type="str", default="uv", choices=["uv", "pip"]),
        uv_version=dict(type="str", default="0.13.9"),
        install_list=dict(type="str", default=""),
        interpreter=dict(type="str", required=True),
        requirements_file=dict(type="str", default="requirements.txt"),
        pip_args=dict(type="list", elements="str", default=[]),
        poetry_version=dict(type="str", default="2.2.1"),
        poetry_python=dict(type="str", default="python3"),
        poetry_groups=dict(type="list", elements="str", default=[]),
        poetry_constraints=dict(type="str", default=""),
        poetry_mirror_url=dict(type="str", default=""),
        poetry_mirror_plugin=dict(type="str", default="poetry-plugin-pypi-mirror==0.6.5"),
        lease=lock_.LEASE_OPTION,
    ), supports_check_mode=True)
    p = module.params
    if not is_venv_key(p["key"]):
        module.fail_json(msg="%r is not a venv key" % p["key"])
    venv = layout.venv_dir(p["path"], p["key"])
    if os.path.islink(venv) or (os.path.lexists(venv) and not os.path.isdir(venv)):
        # Only a real folder this engine built and completed is a venv: never build into or use a link.
        module.fail_json(msg="%s is a symlink or a file, not a venv the deploy built; remove it (rm %s). The "
                             "release is left incomplete." % (venv, venv), changed=False, venv=venv, stage=stages.DEPENDENCIES)
    if is_complete(venv):
        module.exit_json(changed=False, venv=venv, packages=count_packages(venv), seconds=0.0)
    if module.check_mode:
        module.exit_json(changed=True, venv=venv)
    lost = lock_.renew(p["lease"])
    if lost:
        module.fail_json(msg=lost, stage=stages.LOCK, changed=False, venv=venv)
    started = time.monotonic()
    try:
        os.makedirs(os.path.dirname(venv), 0o755, exist_ok=True)
        install(p, venv)
        if not os.path.exists(layout.venv_program(venv, "gunicorn", linked=False)):
            module.fail_json(msg="gunicorn is not among the app's dependencies (%s installed no "
                                 "%s); add it to the app's requirements." % (p["strategy"], layout.venv_program("", "gunicorn")),
                             changed=True, venv=venv, stage=stages.DEPENDENCIES)
        mark_complete(venv)
    except BuildError as error:
        done = error.done
        module.fail_json(msg="%s failed (exit %d) after %.0f s; its last lines:\n%s" % (
            error.step, done.rc, time.monotonic() - started, tail(done.err + "\n" + done.out, 20)),
            changed=True, venv=venv, stage=stages.DEPENDENCIES, stderr_tail=tail(done.err, 20))
    except OSError as error:
        module.fail_json(msg="building %s failed: %s" % (venv, error), changed=True, venv=venv)
    module.exit_json(changed=True, venv=venv, packages=count_packages(venv),
                     seconds=round(time.monotonic() - started, 1))


if __name__ == "__main__":
    main()
