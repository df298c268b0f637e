"""The engine's process helpers on real processes: a trial run dies with the module that started
it, and the next run stops (and cleans up after) one a killed run left anyway."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import COLLECTIONS  # noqa: F401  (puts the collection on sys.path)
from ansible_collections.hknweb.deploy.plugins.module_utils import host


def gone(pid, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def test_a_trial_run_dies_with_the_module_that_started_it(tmp_path):
    parent = textwrap.dedent(f"""
        import subprocess, sys, time
        sys.path.insert(0, {str(COLLECTIONS)!r})
        from ansible_collections.hknweb.deploy.plugins.module_utils.host import die_with_parent
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=die_with_parent)
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    assert os.getpgid(child) == child, "a session of its own"
    proc.kill()  # SIGKILL: the module never gets to stop its trial run
    proc.wait()
    assert gone(child), "the trial run outlived the killed module"


def test_the_next_run_stops_a_trial_run_left_behind_and_removes_its_socket(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f".trial-{dead.pid}.sock"
    left.write_text("")
    mine = tmp_path / f".trial-{os.getpid()}.sock"  # a run still going: left alone
    mine.write_text("")
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--bind", f"unix:{left}"],
                              start_new_session=True)
    try:
        # Until it has exec'd, /proc shows the forking test's command line, not the socket's path.
        deadline = time.monotonic() + 5
        while str(left).encode() not in Path(f"/proc/{orphan.pid}/cmdline").read_bytes():
            assert time.monotonic() < deadline, "the stand-in trial run did not start"
            time.sleep(0.01)
        assert host.sweep_trials(str(tmp_path)) == [left.name]
        assert gone(orphan.pid) and not left.exists() and mine.exists()
        assert host.sweep_trials(str(tmp_path)) == []
    finally:
        orphan.kill()
        orphan.wait()
