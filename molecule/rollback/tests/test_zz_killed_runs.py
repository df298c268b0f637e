"""Runs killed half-way (after test_rollback.py, on prod): the whole run dies the moment the switch
is under way (.deploy-intent written) - the module on the host is killed with SIGKILL and so is the
controller. The next run must undo the half switch, say so, and never land on what the killed run
left; the lock it left is broken only when told."""
import os
import signal
import subprocess
import sys
import time

from deploytest import (current_release, env_of, flat, health, marks, only_on, playbook, refs, release_names,
                        REPO)

KILLED = "/tmp/killed-run"


def prod_only(host):
    only_on(host, "prod", "the killed runs are played on prod")


def run_and_kill_at_the_switch(host, name, *args):
    """Start a playbook; when the host shows .deploy-intent, freeze the module (SIGSTOP, so neither it
    nor the controller's rescue can finish anything), SIGKILL the controller, then the module."""
    base = env_of(host)["path"]
    host.run(f"rm -f {KILLED}; nohup sh -c 'while [ ! -e {base}/.deploy-intent ]; do sleep 0.01; done; "
             f"pkill -STOP -u hkn -f ^/usr/bin/python3; touch {KILLED}' >/dev/null 2>&1 & echo $! > {KILLED}.pid")
    binary = str(REPO / ".venv" / "bin" / "ansible-playbook")
    if not os.path.exists(binary):
        binary = str(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"))
    proc = subprocess.Popen([binary, str(REPO / name), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-l",
                             host.backend.get_hostname(), *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not host.file(KILLED).exists and proc.poll() is None:
        time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    host.run("pkill -9 -u hkn -f ^/usr/bin/python3")
    host.run(f"kill $(cat {KILLED}.pid) 2>/dev/null; rm -f {KILLED}.pid; true")  # the watcher, if it never fired
    assert host.file(KILLED).exists, "the run ended before it reached the switch"


def test_a_deploy_killed_at_the_switch_is_undone_by_the_next_run(host):
    prod_only(host)
    before = current_release(host)
    served = health(host)["revision"]
    run_and_kill_at_the_switch(host, "deploy.yml", "-e", "revision=r5")
    left = [n for n in release_names(host) if n > before][-1]
    # The killed run holds the lock: the next run stops and names it, until told to break it.
    refused = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5")
    assert refused.returncode != 0 and "deploy_break_lock=true" in flat(refused.output)
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5", "-e", "deploy_break_lock=true")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert f"an interrupted deploy ({before} -> {left}) was undone" in out, out[-3000:]
    # The killed run's release was never proven healthy: marked bad (and so pruned by this very
    # deploy when it is past the newest good ones), never a rollback target.
    summary, = done.summaries
    assert ".deploy-bad" in marks(host, left) or left in summary["pruned"], (summary, marks(host, left))
    assert current_release(host) not in (before, left) and health(host)["revision"] == refs()["r5"]
    back = playbook("rollback.yml", "hknweb-prod")
    assert back.returncode == 0, back.output[-3000:]
    assert current_release(host) == before and health(host)["revision"] == served


def test_a_rollback_killed_at_the_switch_lands_on_its_target_when_run_again(host):
    prod_only(host)
    start = current_release(host)
    assert playbook("deploy.yml", "hknweb-prod", "-e", "revision=r6").returncode == 0
    newest = current_release(host)
    run_and_kill_at_the_switch(host, "rollback.yml")
    done = playbook("rollback.yml", "hknweb-prod", "-e", "deploy_break_lock=true")
    assert done.returncode == 0, done.output[-3000:]
    assert "an interrupted rollback" in flat(done.output)
    # Not one further back: the target of the killed rollback, which stays good.
    assert current_release(host) == start and ".deploy-bad" not in marks(host, start)
    assert ".deploy-bad" in marks(host, newest)
    assert not host.file(env_of(host)["path"] + "/.deploy-intent").exists
