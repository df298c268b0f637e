"""Helpers for the Molecule (testinfra) suites: run the project's real playbooks against this
scenario's test host, and read what is on it. Nothing here is mocked: git, ssh and systemd are real.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER = "hkn"
# The account's home: /home/hkn, or the OCF layout a scenario asks for (TESTHOST_HOME, molecule.yml).
HOME = os.environ.get("TESTHOST_HOME") or f"/home/{USER}"

# What group_vars and molecule/shared/host_vars set for the two aliases of the one test host.
ENVS = {
    "prod": {"path": f"{HOME}/hknweb/prod", "unit": "hknweb.service", "default_ref": "master",
             "socket": "hknweb.socket", "bind": {"unix": f"/srv/apps/{USER}/{USER}.sock"},
             "curl": f"curl -sS --fail --max-time 10 --unix-socket /srv/apps/{USER}/{USER}.sock http://localhost"},
    "test": {"path": f"{HOME}/hknweb/test", "unit": "hknweb-test.service", "default_ref": "develop",
             "socket": "hknweb-test.socket", "bind": {"tcp": "127.0.0.1:8001"},
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
    return (os.environ.get("HKNWEB_TESTHOST_PREFIX") or "hknweb-molecule") + "-" + os.environ["MOLECULE_SCENARIO_NAME"]


def as_root(*argv):
    """Run a command as root inside the test host (for test set-up only, never for the deploy)."""
    return subprocess.run(["podman", "exec", container(), *argv], capture_output=True, text=True, check=True)


def playbook(name, limit, *args, env=None):
    """Run one of the project's entry points (deploy.yml, rollback.yml, ...) from the repo root.

    The result also carries `calls` ({host: module calls on that host}, counted by the callback in
    tests/callback_plugins), `controller` ({host: tasks that ran on the controller for it}) and
    `summaries` (the JSON lines DEPLOY_SUMMARY_JSON received)."""
    binary = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
    cmd = [binary, str(REPO / name), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-l", limit, *args]
    with tempfile.TemporaryDirectory() as tmp:
        calls, summary = Path(tmp) / "calls.json", Path(tmp) / "summary.jsonl"
        run_env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                       ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "callback_plugins"),
                       ANSIBLE_CALLBACKS_ENABLED="host_calls", HOST_CALLS_FILE=str(calls),
                       DEPLOY_SUMMARY_JSON=str(summary))
        run_env.update(env or {})
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=run_env)
        done.output = done.stdout + done.stderr
        counted = json.loads(calls.read_text())["hosts"] if calls.exists() else {}
        done.calls = {h: v["calls"] for h, v in counted.items() if v["calls"]}
        done.controller = {h: v["controller"] for h, v in counted.items()}
        done.summaries = ([json.loads(line) for line in summary.read_text().splitlines()]
                          if summary.exists() else [])
    return done


def flat(output):
    """Ansible's output with YAML quoting and line folding undone, for matching messages."""
    return " ".join(output.replace('\\"', '"').replace("''", "'").split())


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
                   " cat current/REVISION; wc -l < revisions.log; ls venvs; ls -a; ls -l shared")
    return out.stdout


def main_pid(host):
    return int(host.run(f"systemctl --user show -p MainPID --value {env_of(host)['unit']}").stdout.strip() or 0)


def only_on(host, env, why):
    """Skip a test on the other alias (a scenario's history is built on one environment)."""
    if env_name(host) != env:
        import pytest
        pytest.skip(why)


def backups_of(host):
    """{name: (mode, bytes)} of everything in the environment's shared/backups (dot-names too)."""
    folder = env_of(host)["path"] + "/shared/backups"
    out = host.run(f"find {folder} -mindepth 1 -maxdepth 1 -printf '%f %m %s\\n' 2>/dev/null; true")
    return {n: (m, int(b)) for n, m, b in (line.split() for line in out.stdout.splitlines())}


def installed_distributions(host, venv):
    """{canonical name: version} of the .dist-info folders in a venv's site-packages, whatever its Python."""
    names = host.run(f"ls {venv}/lib/python*/site-packages").stdout.split()
    pairs = [n[:-len(".dist-info")].rsplit("-", 1) for n in names if n.endswith(".dist-info")]
    return {canonical(name): version for name, version in pairs}


def canonical(name):
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def marks(host, name):
    """The .deploy-* files of one release (empty when the release is gone)."""
    out = host.run(f"ls -A {env_of(host)['path']}/releases/{name}")
    return {m for m in out.stdout.split() if m.startswith(".deploy-")}


def documented_json():
    """The JSON shapes docs/json-answers.md documents: {'document': {...}, 'status': {...}, ...}."""
    import re
    text = (REPO / "docs" / "json-answers.md").read_text()
    found = {"document": json.loads(re.search(r"Every document:\n\n```json\n(.*?)```", text, re.S).group(1))}
    for kind in ("status", "releases", "lock", "check"):
        body = text.split("## " + kind + "\n", 1)[1]
        found[kind] = json.loads(re.search(r"```json\n(.*?)```", body, re.S).group(1))
    return found


def json_answer(name, limit, *args):
    """Run a read-only playbook with DEPLOY_JSON set: (the run, the parsed document or None)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answer.json"
        done = playbook(name, limit, *args, env={"DEPLOY_JSON": str(path)})
        doc = json.loads(path.read_text()) if path.exists() else None
    return done, doc


class Webhook:
    """A small HTTP receiver on the controller's 127.0.0.1 (a thread): `url`, and `received`, the JSON
    bodies POSTed to it. `status` is what it answers. Use as a context manager."""

    def __init__(self, status=200):
        import http.server
        import threading
        received, self.status = [], status
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.received = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook/T0KEN-SECRET" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (a port bound then released)."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return "http://127.0.0.1:%d/hook/T0KEN-SECRET" % port
