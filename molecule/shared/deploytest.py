"""Helpers for the Molecule (testinfra) suites: run the project's real playbooks against this
scenario's test host, and read what is on it. Nothing here is mocked: git, ssh and systemd are real.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER = "hkn"
HOME = f"/home/{USER}"

# What group_vars and molecule/shared/host_vars set for the two aliases of the one test host.
ENVS = {
    "prod": {"path": f"{HOME}/hknweb/prod", "unit": "hknweb.service", "default_ref": "master",
             "curl": f"curl -sS --fail --max-time 10 --unix-socket /srv/apps/{USER}/{USER}.sock http://localhost"},
    "test": {"path": f"{HOME}/hknweb/test", "unit": "hknweb-test.service", "default_ref": "develop",
             "curl": "curl -sS --fail --max-time 10 http://127.0.0.1:8001"},
}


def env_name(host):
    """'prod' or 'test' from the inventory alias (hknweb-prod / hknweb-test)."""
    return host.backend.get_hostname().rsplit("-", 1)[-1]


def env_of(host):
    return ENVS[env_name(host)]


def refs():
    """Branch/tag -> SHA of the sample repository create.yml built."""
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "refs.json"
    return json.loads(path.read_text())


def container():
    return "hknweb-molecule-" + os.environ["MOLECULE_SCENARIO_NAME"]


def as_root(*argv):
    """Run a command as root inside the test host (for test set-up only, never for the deploy)."""
    return subprocess.run(["podman", "exec", container(), *argv], capture_output=True, text=True, check=True)


def playbook(name, limit, *args):
    """Run one of the project's entry points (deploy.yml, rollback.yml, ...) from the repo root."""
    binary = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
    cmd = [binary, str(REPO / name), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-l", limit, *args]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    done.output = done.stdout + done.stderr
    return done


def recap(done, host):
    """The PLAY RECAP counters of one host, e.g. {'ok': 10, 'changed': 0, ...}."""
    for line in done.stdout.splitlines():
        if line.startswith(host + " ") and "ok=" in line:
            return {k: int(v) for k, v in (f.split("=") for f in line.split()[2:])}
    raise AssertionError(f"no recap for {host} in:\n{done.output}")


def http(host, path="/health"):
    """GET path from the environment's gunicorn, from inside the host (unix socket or TCP)."""
    return host.run(env_of(host)["curl"] + path)


def health(host):
    out = http(host, "/health")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def current_release(host):
    """Name of the release `current` points to, read from the link itself."""
    target = host.file(env_of(host)["path"] + "/current").linked_to
    return Path(target).name


def release_names(host):
    out = host.run(f"ls -1 {env_of(host)['path']}/releases")
    return sorted(n for n in out.stdout.split() if n)


def state(host):
    """Everything a deploy could change: releases, marks, current target, REVISION of current."""
    base = env_of(host)["path"]
    out = host.run(f"cd {base} && readlink current; ls -1a releases/*/ 2>/dev/null | grep -E '^releases/|^\\.deploy' ;"
                   " cat current/REVISION; wc -l < revisions.log")
    return out.stdout
