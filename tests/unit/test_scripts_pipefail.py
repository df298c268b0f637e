"""The shell scripts under `set -o pipefail` must not die of SIGPIPE (issue 12).

`make demo` failed now and then with exit 141: scripts/testhost-up ended with
`podman port NAME 22/tcp | head -n1 | sed ...`. The demo host publishes port 22 twice (the
default 127.0.0.1::22 and 127.0.0.1:22022:22), so podman prints two lines; head exits after the
first, podman can be killed by SIGPIPE writing the second, and pipefail makes that the script's
failure.

These tests run the real scripts without containers: a fake `podman` (and fake curl,
ansible-playbook) first on PATH. The fake `podman port` prints its second line late, or so many
lines that the writer is certainly still writing when a `head -n1` reader has gone, so the old
form fails every time. (Two lines written back to back, podman's real shape, fail only now and
then: about 1 run in 70 here.)
"""

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
SIGPIPE_EXIT = 128 + 13

FAKE_PODMAN = r"""#!/usr/bin/env bash
# Fake podman: logs its arguments and answers what scripts/testhost-up asks.
echo "$*" >> "$FAKE_LOG"
case $1 in
  port)
    # One line per binding of the port, like podman. Each printf is its own write(2), so a line
    # written after the reader has exited kills this process with SIGPIPE, as it kills podman.
    ((FAKE_PORT_LINES > 0)) || exit 0
    printf '127.0.0.1:%s\n' "$FAKE_FIRST_PORT"
    [[ ${FAKE_PORT_DELAY:-0} == 0 ]] || sleep "$FAKE_PORT_DELAY"
    for ((i = 1; i < FAKE_PORT_LINES; i++)); do printf '127.0.0.1:%s\n' $((30000 + i % 30000)); done
    ;;
  exec)
    case " $* " in
      *" is-system-running "*) echo running ;;
      *" id -u "*) echo 1000 ;;
    esac
    [[ $2 == -i ]] && cat > /dev/null
    ;;
esac
exit 0
"""

SHA = "0123456789abcdef0123456789abcdef01234567"

# Fake curl: the sample app's status page, with the revision line repeated so that a `| head -n1`
# reader is gone long before the writer is done (forces what a longer page could do by chance).
FAKE_CURL = r"""#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
printf '<html><body><table>\n'
for ((i = 0; i < ${FAKE_REVISION_LINES:-1}; i++)); do
  printf '<tr><th>Revision</th><td><code id="revision">%s</code></td></tr>\n' "$FAKE_SHA"
done
printf '</table></body></html>\n'
"""

FAKE_OK = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$FAKE_LOG"
exit 0
"""


def write_exe(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fakes(tmp_path):
    """A bin folder with the fakes and the environment that puts it first on PATH."""
    bin_dir = tmp_path / "bin"
    write_exe(bin_dir / "podman", FAKE_PODMAN)
    write_exe(bin_dir / "curl", FAKE_CURL)
    write_exe(bin_dir / "ansible-playbook", FAKE_OK)
    write_exe(bin_dir / "ssh-keygen", FAKE_OK)
    log = tmp_path / "calls.log"
    pubkey = tmp_path / "id_ed25519.pub"
    pubkey.write_text("ssh-ed25519 AAAA test\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_FIRST_PORT": "22022",
        "FAKE_PORT_LINES": "2",
        "FAKE_PORT_DELAY": "0",
        "FAKE_SHA": SHA,
        "HKNWEB_CACHE": str(tmp_path / "cache"),
    }
    return {"env": env, "log": log, "pubkey": pubkey, "tmp": tmp_path}


def run(argv, env, cwd=None):
    # restore_signals (the default) gives the children SIGPIPE's default action back, as in a shell.
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def start_testhost(fakes, **fake_env):
    env = {**fakes["env"], **{k: str(v) for k, v in fake_env.items()}}
    return run([str(SCRIPTS / "testhost-up"), "hknweb-demo", str(fakes["pubkey"]),
                "--publish", "127.0.0.1:22022:22", "--publish", "127.0.0.1:18000:8000"], env)


@pytest.mark.parametrize(
    "lines, delay",
    [
        pytest.param(2, 0.2, id="two-lines-second-late"),
        pytest.param(20000, 0, id="many-lines"),
    ],
)
def test_testhost_up_reads_every_port_line(fakes, lines, delay):
    """Several bindings of 22/tcp: the script prints the first port and does not die of SIGPIPE."""
    result = start_testhost(fakes, FAKE_PORT_LINES=lines, FAKE_PORT_DELAY=delay)
    assert result.returncode != SIGPIPE_EXIT, f"killed by SIGPIPE under pipefail: {result.stderr}"
    assert result.returncode == 0, result.stderr
    assert result.stdout == "22022\n"
    assert "port hknweb-demo 22/tcp" in fakes["log"].read_text()


def test_testhost_up_repeated_like_the_demo_loop(fakes):
    """Podman's real shape (two lines written back to back), many times over."""
    for _ in range(8):
        result = start_testhost(fakes, FAKE_PORT_LINES=2)
        assert (result.returncode, result.stdout) == (0, "22022\n"), result.stderr


def test_testhost_up_one_binding(fakes):
    """Molecule's hosts publish 22 once: that port, alone on stdout (create.yml reads an int)."""
    result = start_testhost(fakes, FAKE_PORT_LINES=1, FAKE_FIRST_PORT=40123)
    assert (result.returncode, result.stdout) == (0, "40123\n"), result.stderr


def test_testhost_up_no_binding_is_an_error(fakes):
    """Nothing published for 22/tcp is a failure that says so, not an empty port."""
    result = start_testhost(fakes, FAKE_PORT_LINES=0)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "22/tcp" in result.stderr


def test_demo_end_to_end_with_fakes(fakes):
    """scripts/demo as `make demo` runs it (real demo, testhost-up and testhost-image scripts, in
    a copy of the tree), with podman, ansible-playbook and curl faked: two port lines, and a status
    page long enough that a `| head -n1` reader leaves the writer behind."""
    root = fakes["tmp"] / "tree"
    for name in ("demo", "testhost-up", "testhost-image"):
        write_exe(root / "scripts" / name, (SCRIPTS / name).read_text())
    write_exe(root / "scripts" / "build-wheelhouse", FAKE_OK)
    write_exe(root / "tests" / "fixtures" / "make_sample_repo.py", FAKE_OK)
    demo_cache = Path(fakes["env"]["HKNWEB_CACHE"]) / "demo"
    demo_cache.mkdir(parents=True)
    shutil.copy(fakes["pubkey"], demo_cache / "id_ed25519.pub")
    (demo_cache / "id_ed25519").write_text("fake private key\n")

    env = {**fakes["env"], "FAKE_PORT_LINES": "2", "FAKE_PORT_DELAY": "0.2",
           "FAKE_REVISION_LINES": "5000"}
    result = run([str(root / "scripts" / "demo")], env)
    assert result.returncode != SIGPIPE_EXIT, f"killed by SIGPIPE under pipefail: {result.stderr}"
    assert result.returncode == 0, result.stderr
    for port in (18000, 18001):
        assert f"live: http://127.0.0.1:{port}/  (serving commit {SHA})\n" in result.stdout
    calls = fakes["log"].read_text()
    assert "port hknweb-demo 22/tcp" in calls
    assert calls.count("ansible-playbook ") == 3


# A pipe (not `||`) into a reader that can stop before the writer is done.
EARLY_EXIT_READER = re.compile(
    r"(?<!\|)\|(?!\|)\s*"
    r"(head\b|grep\b[^|;]*\s-[a-zA-Z]*[qlm]|sed\b[^|;]*[;'{ ]q\b|awk\b[^|;]*\bexit\b)"
)


def test_no_pipe_into_an_early_exiting_reader_under_pipefail():
    """Under pipefail, `cmd | head`, `| grep -q`, `| sed q`, `| awk '...exit'` can fail with 141
    whenever cmd writes after the reader is gone: read everything, then pick (issue 12)."""
    offenders = []
    for script in sorted(p for p in SCRIPTS.rglob("*") if p.is_file()):
        text = script.read_text(errors="replace")
        if "pipefail" not in text:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            code = line.split(" #", 1)[0]
            if not code.lstrip().startswith("#") and EARLY_EXIT_READER.search(code):
                offenders.append(f"{script.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert not offenders, "pipes that can SIGPIPE under pipefail:\n" + "\n".join(offenders)
