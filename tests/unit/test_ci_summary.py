""".ci/run's closing line, "N passed, N failed, N skipped" (scripts/ci-summary), from synthetic
logs of `make -k test`; and .ci/run itself with a fake `make` first on PATH (the real one takes
20+ minutes and test containers)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SUMMARY = REPO_ROOT / "scripts" / "ci-summary"
CI_RUN = REPO_ROOT / ".ci" / "run"

LOG = """\
CHECK PASS: ansible-lint
CHECK PASS: yamllint
CHECK PASS: role specs
pytest -q -p no:cacheprovider tests/unit
........s.s...
==================== 3 passed, 1 skipped in 2.0s ====================
=== molecule scenario: default
PLAY RECAP *********************************************************************
hknweb-molecule-default    : ok=12   changed=3    unreachable=0    failed=0    skipped=4    rescued=0
5 passed, 2 skipped, 1 failed in 3.1s
        echo "CHECK PASS: this is make printing a recipe line, not a result"
CHECK FAIL: molecule default
=== molecule scenario: rollback
== 1 failed, 4 passed, 1 error, 3 skipped, 2 warnings in 65.20s (0:01:05) ==
CHECK FAIL: molecule rollback
"""


def summarize(tmp_path, log, status):
    path = tmp_path / "make.log"
    path.write_text(log)
    result = subprocess.run([sys.executable, str(SUMMARY), str(path), str(status)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_both_summary_formats_checks_and_skips(tmp_path):
    # passed: 3 CHECK PASS + 3 + 5 + 4; failed: 1 + 1 failed + 1 error + 2 CHECK FAIL; skipped: 1 + 2 + 3
    assert summarize(tmp_path, LOG, 2) == "15 passed, 5 failed, 6 skipped\n"


def test_framed_and_unframed_summaries(tmp_path):
    log = "===== 3 passed, 1 skipped in 2.0s =====\n5 passed, 2 skipped, 1 failed in 3.1s\n"
    assert summarize(tmp_path, log, 1) == "8 passed, 1 failed, 3 skipped\n"


def test_all_green(tmp_path):
    log = "CHECK PASS: ansible-lint\nCHECK PASS: yamllint\n12 passed in 0.50s\n"
    assert summarize(tmp_path, log, 0) == "14 passed, 0 failed, 0 skipped\n"


def test_failure_outside_any_check_counts_once(tmp_path):
    log = "ERROR: Could not find a version that satisfies the requirement ansible-core\nmake: *** [venv] Error 1\n"
    assert summarize(tmp_path, log, 2) == "0 passed, 1 failed, 0 skipped\n"


@pytest.mark.parametrize("status", [0, 2])
def test_ci_run_ends_with_the_summary_and_keeps_make_status(tmp_path, status):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "canned.log").write_text(LOG)
    fake_make = bin_dir / "make"
    fake_make.write_text(f'#!/usr/bin/env bash\n[[ "$*" == "-k test" ]] || exit 99\n'
                         f'cat "{tmp_path}/canned.log"\nexit {status}\n')
    fake_make.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", TMPDIR=str(tmp_path))
    result = subprocess.run(["bash", str(CI_RUN)], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == status, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:-1] == LOG.splitlines()
    assert lines[-1] == "15 passed, 5 failed, 6 skipped"
