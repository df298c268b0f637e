"""Runs killed half-way (after test_rollback.py, on prod): the whole run dies the moment the switch
is under way (.deploy-intent written) - the module on the host is killed with SIGKILL and so is the
controller. The next run must undo the half switch, say so, and never land on what the killed run
left; the lock it left is taken over by the next run once its lease (short here: -e deploy_lock_lease)
has run out, without a manual break; a live run's lock is never broken."""
import os
import signal
import subprocess
import sys
import time

from deploytest import (current_release, env_of, flat, health, main_pid, marks, only_on, playbook, refs,
                        release_names, state, REPO)

KILLED = "/tmp/killed-run"
LEASE = 3  # seconds: the killed runs' lease (-e deploy_lock_lease), so the next run may take their lock over


def after_lease(seconds=LEASE):
    """Wait until a killed run's lease has run out (it was last renewed before the kill)."""
    time.sleep(seconds + 1)


def prod_only(host):
    only_on(host, "prod", "the killed runs are played on prod")


def run_and_kill(host, when, name, *args, act=None, kill_controller=None):
    """Start a playbook; when the shell condition `when` holds on the host, freeze the run (SIGSTOP the
    module and any pip it runs, so neither it nor the controller's rescue can finish anything),
    SIGKILL the controller, then the module. `act` (shell) replaces the freeze: the run goes on, and
    with kill_controller=True only the controller dies (what a closed laptop does to a rollback)."""
    freeze = act is None
    kill = freeze if kill_controller is None else kill_controller
    act = act or ("pkill -STOP -u hkn -f ^/usr/bin/python3; pkill -STOP -u hkn -f bin/pi[p].install")
    host.run(f"rm -f {KILLED}; nohup sh -c 'until {when}; do sleep 0.01; done; {act}; "
             f"touch {KILLED}' >/dev/null 2>&1 & echo $! > {KILLED}.pid")
    binary = str(REPO / ".venv" / "bin" / "ansible-playbook")
    if not os.path.exists(binary):
        binary = str(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"))
    proc = subprocess.Popen([binary, str(REPO / name), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-l",
                             host.backend.get_hostname(), "-e", f"deploy_lock_lease={LEASE}", *args], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not host.file(KILLED).exists and proc.poll() is None:
        time.sleep(0.3)
    if kill:
        os.killpg(proc.pid, signal.SIGKILL)
    if freeze:
        host.run("pkill -9 -u hkn -f ^/usr/bin/python3; pkill -9 -u hkn -f bin/pi[p].install")
    proc.wait()
    host.run(f"kill $(cat {KILLED}.pid) 2>/dev/null; rm -f {KILLED}.pid; true")  # the watcher, if it never fired
    assert host.file(KILLED).exists, f"the run ended before the watcher fired ({when})"


def service_moving(host):
    """Shell condition: the service is being restarted (a new master) or reloaded (gunicorn HUP:
    the same master has moved to another release and is replacing its workers)."""
    unit, pid = env_of(host)["unit"], main_pid(host)
    cwd = host.run(f"readlink /proc/{pid}/cwd").stdout.strip()
    return (f"p=$(systemctl --user show -p MainPID --value {unit}); [ -n \"$p\" ] && [ \"$p\" != 0 ] && "
            f"{{ [ \"$p\" != {pid} ] || [ \"$(readlink /proc/$p/cwd)\" != {cwd} ]; }}")


def run_and_kill_at_the_switch(host, name, *args):
    """Kill the run the moment the host shows .deploy-intent (the switch is under way)."""
    run_and_kill(host, f"[ -e {env_of(host)['path']}/.deploy-intent ]", name, *args)


def test_a_deploy_killed_at_the_switch_is_undone_by_the_next_run(host):
    prod_only(host)
    before = current_release(host)
    served = health(host)["revision"]
    run_and_kill_at_the_switch(host, "deploy.yml", "-e", "revision=r5", "-e", "deploy_lock_lease=20")
    killed = time.monotonic()  # its last renewal (the switch's stage began) was before this
    left = [n for n in release_names(host) if n > before][-1]
    # The killed run's lease still runs: the next run stops and says until when; asked to break it, too.
    refused = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5", "-e", "deploy_break_lock=true")
    assert refused.returncode != 0 and "its lease runs out in" in flat(refused.output), flat(refused.output)[-2000:]
    time.sleep(max(0, killed + 22 - time.monotonic()))
    # Then the lease has run out and no stage of the run is left on the host: taken over, no manual step.
    # What serves is read from the host (the killed run may have moved current already), and the way on
    # is scoped to this environment: wait, the lock is taken over by itself.
    # Which release that is depends on how far systemd got with a restart the frozen module had asked for
    # (killed at the intent record, before or after the switch): the ending must name the one the master runs.
    out = flat(refused.output)
    runs = host.run(f"readlink /proc/{main_pid(host)}/cwd").stdout.strip().rsplit("/", 1)[-1]
    assert runs in (before, left), runs
    assert f"Live now: {runs} (" in out and "hknweb.service runs it, GET /health answered 200" in out, out[-3000:]
    assert "Next: wait for the run that holds the lock" in out and "ansible-playbook lock.yml -l prod" in out, out[-3000:]
    done = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert "took over the lock of a dead run" in out and "no stage of it runs on the host" in out, out[-3000:]
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
    after_lease()
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    assert "an interrupted rollback" in flat(done.output)
    # Not one further back: the target of the killed rollback, which stays good.
    assert current_release(host) == start and ".deploy-bad" not in marks(host, start)
    assert ".deploy-bad" in marks(host, newest)
    assert not host.file(env_of(host)["path"] + "/.deploy-intent").exists


# --- more stages (issue 8): each case starts from a good live release B, kills a deploy at one stage,
# checks what the killed run left, deploys again once its lease has run out, then rolls back: the
# rollback must land on B, never on the killed run's release.

def prod_state(host):
    base = env_of(host)["path"]
    live = current_release(host)
    complete = host.file(f"{base}/releases/{live}/.deploy-complete").exists
    return live, complete, health(host)["revision"]


def killed_deploy_then_recover(host, ref, when, act=None, after=None, extra=()):
    base = env_of(host)["path"]
    before, complete, served = prod_state(host)
    assert complete
    existing = set(release_names(host))
    run_and_kill(host, when, "deploy.yml", "-e", f"revision={ref}", *extra, act=act)
    if after:
        host.run(after)
    left = sorted(set(release_names(host)) - existing)
    # Right after the kill: current is a complete release and the site answers with a good commit:
    # the one that served before, or (killed once the new gunicorn was up) the new release's own.
    live, complete, now = prod_state(host)
    assert complete, f"current -> {live}, which has no completion record"
    assert now in (served, refs()[ref]), (now, served)
    after_lease()
    done = playbook("deploy.yml", "hknweb-prod", "-e", f"revision={ref}", *extra)
    assert done.returncode == 0, done.output[-3000:]
    if act is None:  # killed (not left to go on): its lock was taken over, and the output says so
        assert "took over the lock of a dead run" in flat(done.output), flat(done.output)[-3000:]
    assert health(host)["revision"] == refs()[ref]
    recovered = current_release(host)
    assert recovered not in left or not left, "the killed run's release went live without being rebuilt"
    assert not host.file(f"{base}/.deploy-intent").exists and not host.file(f"{base}/deploy.lock").exists
    back = playbook("rollback.yml", "hknweb-prod")
    assert back.returncode == 0, back.output[-3000:]
    assert current_release(host) == before, (
        f"the rollback after the recovery landed on {current_release(host)}, not on {before}; "
        f"the killed run left {left}: {[(n, marks(host, n)) for n in left]}")
    assert health(host)["revision"] == served
    return left


def newer_release(host):
    """A shell condition: releases/ holds an entry it did not hold when this was called."""
    base = env_of(host)["path"]
    count = len(host.run(f"ls -1 {base}/releases").stdout.split())
    return f"[ $(ls -1 {base}/releases | wc -l) -gt {count} ]"


def test_a_deploy_killed_during_extract(host):
    prod_only(host)
    killed_deploy_then_recover(host, "r4", newer_release(host))


def test_a_deploy_killed_during_pip(host):
    prod_only(host)
    base = env_of(host)["path"]
    venvs = set(host.run(f"ls -1 {base}/venvs").stdout.split())
    # pip, not uv (the pip strategy's default installer): uv installs deps-1 from its cache in about 0.1 s,
    # too short a window to catch; what is tested - a venv without .complete is never linked, and is
    # built again - is venv_build's rule for every installer.
    killed_deploy_then_recover(host, "deps-1", "pgrep -u hkn -f bin/pi[p].install >/dev/null",
                               extra=("-e", "app_python_installer=pip"))
    # The half venv the killed pip left was never used: the recovery rebuilt it (complete now).
    for key in set(host.run(f"ls -1 {base}/venvs").stdout.split()) - venvs:
        assert host.file(f"{base}/venvs/{key}/.complete").exists


def test_a_deploy_killed_in_its_trial_run_just_before_the_switch(host):
    prod_only(host)
    base = env_of(host)["path"]
    try:
        killed_deploy_then_recover(host, "r7", f"ls {base}/.trial-*.sock >/dev/null 2>&1")
        left = host.run(f"pgrep -u hkn -f prod/.tria[l]-; ls {base}/ | grep '^.trial-'").stdout.split()
        TRIAL_LEFT.extend(left)
    finally:
        host.run("pkill -u hkn -f prod/.tria[l]-")
        host.run(f"rm -f {base}/.trial-*.sock")


TRIAL_LEFT = []  # processes and sockets of the trial run a killed deploy left, seen after the next deploy


def test_the_next_deploy_leaves_no_trial_run_of_a_killed_deploy_behind(host):
    prod_only(host)
    assert TRIAL_LEFT == [], f"still there after the next deploy: {TRIAL_LEFT}"


def test_a_deploy_that_dies_between_the_completion_record_and_the_intent_record(host):
    # Deterministic stand-in for a kill (or ENOSPC) between the two writes just before the switch:
    # a folder where .deploy-intent goes makes the intent write fail right after the record is written.
    prod_only(host)
    base = env_of(host)["path"]
    try:
        killed_deploy_then_recover(host, "r6", f"ls {base}/.trial-*.sock >/dev/null 2>&1",
                                   act=f"mkdir -p {base}/.deploy-intent/blocked", after=f"rm -rf {base}/.deploy-intent")
    finally:
        host.run(f"rm -rf {base}/.deploy-intent")


def test_a_deploy_killed_just_after_the_switch(host):
    prod_only(host)
    base = env_of(host)["path"]
    live = current_release(host)
    left = killed_deploy_then_recover(host, "r4", f"[ \"$(readlink {base}/current)\" != releases/{live} ]")
    assert all(".deploy-bad" in marks(host, n) or not marks(host, n) for n in left)


def test_a_deploy_killed_during_the_restart(host):
    prod_only(host)
    killed_deploy_then_recover(host, "r7", service_moving(host))


def test_a_rollback_killed_during_its_health_check_then_a_second_rollback(host):
    prod_only(host)
    start = current_release(host)
    assert playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5").returncode == 0
    newest, served = current_release(host), health(host)["revision"]
    run_and_kill(host, service_moving(host), "rollback.yml")
    live, complete, _ = prod_state(host)
    assert complete and live in (start, newest)
    after_lease()
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    # The second rollback finishes the first one's work: it lands on the same target, not one further back.
    assert current_release(host) == start, flat(done.output)[-3000:]
    assert ".deploy-bad" not in marks(host, start) and ".deploy-bad" in marks(host, newest)
    assert health(host)["revision"] != served
    assert not host.file(env_of(host)["path"] + "/.deploy-intent").exists
    # And the next deploy goes through without any unlock.
    assert playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5").returncode == 0


def start_deploy(host, *args):
    """A deploy running in the background (its own process group), its output and summaries kept."""
    binary = str(REPO / ".venv" / "bin" / "ansible-playbook")
    if not os.path.exists(binary):
        binary = str(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.Popen([binary, str(REPO / "deploy.yml"), "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-l",
                             host.backend.get_hostname(), *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_a_live_runs_lock_is_never_broken_and_exactly_one_release_goes_live(host):
    # issue 18 item 2: two runs on one environment, a break of the live lock attempted in between.
    prod_only(host)
    base = env_of(host)["path"]
    before = current_release(host)
    first = start_deploy(host, "-e", "revision=r6", "-e", "deploy_force=true")
    try:
        waited = host.run(f"timeout 120 sh -c 'until [ -e {base}/deploy.lock/holder ]; do sleep 0.05; done'")
        assert waited.rc == 0, "the first deploy never took the lock"
        os.killpg(first.pid, signal.SIGSTOP)  # the first run, alive but between two stages, holds its lease
        try:
            broken = playbook("lock.yml", "hknweb-prod", "-e", "break=true")
            second = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r4", "-e", "deploy_break_lock=true")
        finally:
            os.killpg(first.pid, signal.SIGCONT)
        output, _ = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    out = flat(broken.output)
    assert broken.returncode != 0 and "It is not broken" in out and "its lease runs out in" in out, out[-2000:]
    out = flat(second.output)
    assert second.returncode != 0 and "another deploy or rollback holds" in out and "stage 'lock'" in out, out[-2000:]
    assert "Live now: " + before in out or "Live now: " in out
    assert first.returncode == 0, output[-3000:]
    live = current_release(host)
    assert live != before and live in flat(output) and health(host)["revision"] == refs()["r6"]
    assert not host.file(f"{base}/deploy.lock").exists


def test_a_run_whose_dead_lock_was_taken_over_stops_before_its_switch(host):
    # The frozen run outlives its lease (its host stage is over): the next run takes the lock over
    # and deploys; the frozen run, resumed, must stop at its next stage and switch nothing.
    prod_only(host)
    base = env_of(host)["path"]
    first = start_deploy(host, "-e", "revision=r4", "-e", "deploy_force=true", "-e", f"deploy_lock_lease={LEASE}")
    try:
        waited = host.run(f"timeout 120 sh -c 'until [ -e {base}/deploy.lock/holder ]; do sleep 0.05; done; "
                          f"while pgrep -u hkn -f ^/usr/bin/python3 >/dev/null; do sleep 0.05; done'")
        assert waited.rc == 0
        os.killpg(first.pid, signal.SIGSTOP)
        after_lease()
        second = playbook("deploy.yml", "hknweb-prod", "-e", "revision=r5")
        live = current_release(host)
        os.killpg(first.pid, signal.SIGCONT)
        output, _ = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert second.returncode == 0, second.output[-3000:]
    assert "took over the lock of a dead run" in flat(second.output)
    assert first.returncode != 0
    assert "this run no longer holds" in flat(output), flat(output)[-3000:]
    assert current_release(host) == live and health(host)["revision"] == refs()["r5"]
    assert not host.file(f"{base}/deploy.lock").exists


# --- issue 18 item 7: rollback.yml run again after a killed run does what the user meant ---------------

def test_a_rollback_whose_controller_was_killed_completes_and_the_rerun_stays_at_its_target(host):
    prod_only(host)
    base = env_of(host)["path"]
    start = current_release(host)  # the rollback target once r7 is live (another commit, good)
    assert playbook("deploy.yml", "hknweb-prod", "-e", "revision=r7").returncode == 0
    newest = current_release(host)
    # Only the controller dies once the switch is under way; the module on the host goes on to the end.
    run_and_kill(host, f"[ -e {base}/.deploy-intent ]", "rollback.yml", act=":", kill_controller=True)
    host.run(f"timeout 60 sh -c 'while [ -e {base}/deploy.lock ]; do sleep 0.1; done'")
    completed = not host.file(f"{base}/.deploy-intent").exists
    done = playbook("rollback.yml", "hknweb-prod")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    # It lands on (or stays at) the release the first rollback meant, never one further back.
    assert current_release(host) == start and ".deploy-bad" not in marks(host, start), out[-3000:]
    assert ".deploy-bad" in marks(host, newest)
    if completed:  # the usual case: the rerun says when and by whom the rollback was done, and stays
        assert f"the last rollback already completed: {start} went live at " in out, out[-3000:]
        assert done.summaries[0]["stayed"] and done.summaries[0]["marked_bad"] is None
    else:  # the module died with the controller: its half switch is undone, then the same target chosen
        assert "an interrupted rollback" in out, out[-3000:]


def test_a_rollback_after_a_deploy_killed_before_its_switch_changes_nothing_without_the_word(host):
    prod_only(host)
    base = env_of(host)["path"]
    live, served = current_release(host), health(host)["revision"]
    run_and_kill(host, newer_release(host), "deploy.yml", "-e", "revision=r6")
    after_lease()
    before = state(host)
    refused = playbook("rollback.yml", "hknweb-prod")
    out = flat(refused.output)
    assert refused.returncode != 0 and "never went live" in out and f"{live} has served all along" in out, out[-3000:]
    assert f"Next: nothing to undo: {live} has served all along" in out, out[-3000:]
    assert "ansible-playbook rollback.yml -l prod -e deploy_rollback_anyway=true" in out
    # Nothing changed, not even the dead run's lock (the next deploy or the worded rollback takes it over).
    assert state(host) == before and host.file(f"{base}/deploy.lock").exists
    assert current_release(host) == live and health(host)["revision"] == served
    done = playbook("rollback.yml", "hknweb-prod", "-e", "deploy_rollback_anyway=true")
    assert done.returncode == 0, done.output[-3000:]
    assert "took over the lock of a dead run" in flat(done.output)
    assert current_release(host) < live and ".deploy-bad" in marks(host, live)
