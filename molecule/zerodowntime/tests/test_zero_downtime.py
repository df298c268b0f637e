"""No request fails across deploys and rollbacks: systemd's socket unit holds the listening
socket, so while gunicorn restarts new connections wait in its queue instead of being refused.
Load runs inside the test host (tests/tools/loadgen.py) on the environment's own bind. Tests run
in file order, each starting from what the previous one left live."""
import sys

from deploytest import REPO, container, env_of, flat, health, main_pid, playbook, refs

sys.path.insert(0, str(REPO / "tests" / "tools"))
from hostload import assert_no_failures, assert_switched, describe_revisions, under_load  # noqa: E402


def bind_of(host):
    bind = env_of(host)["bind"]
    return {"unix": bind.get("unix"), "tcp": bind.get("tcp")}


def deploy_under_load(host, playbook_name, *args):
    with under_load(container(), **bind_of(host)) as load:
        done = playbook(playbook_name, host.backend.get_hostname(), *args)
    return done, load.result


def test_code_only_deploy_drops_no_request(host):
    old = health(host)["revision"]
    done, result = deploy_under_load(host, "deploy.yml", "-e", "revision=r2")
    assert done.returncode == 0, done.output[-3000:]
    assert_no_failures(result)
    assert_switched(result, old, refs()["r2"])


def test_deploy_with_new_requirements_drops_no_request(host):
    done, result = deploy_under_load(host, "deploy.yml", "-e", "revision=deps-1")
    assert done.returncode == 0, done.output[-3000:]
    assert "new dependency set" in flat(done.output), "this deploy had to build a venv"
    assert_no_failures(result)
    assert_switched(result, refs()["r2"], refs()["deps-1"])
    # uv compiles nothing; the new venv took the live venv's bytecode for the files both hard-link from
    # the uv cache (bytecode.py): Django's __init__ .pyc is the very file r2's venv compiled, not a new one.
    base = env_of(host)["path"]
    new = host.run(f"readlink -f {base}/current/venv").stdout.strip()
    pycs = host.run(f"stat -c '%i %n' {base}/venvs/*/lib/python3*/site-packages/django/__pycache__/__init__.*.pyc")
    inodes = dict(line.split(" ", 1)[::-1] for line in pycs.stdout.split("\n") if line)
    ours = [inode for path, inode in inodes.items() if path.startswith(new + "/")]
    theirs = [inode for path, inode in inodes.items() if not path.startswith(new + "/")]
    assert ours and ours[0] in theirs, pycs.stdout
    # uv itself was read out of its wheel in the wheel folder (uv_wheel.py), not installed by pip.
    tools = host.run(f"cd {base}/tools/uv-0.13.9 && find . | sort").stdout.split()
    assert tools == [".", "./.complete", "./bin", "./bin/uv"], tools


def test_rollback_drops_no_request(host):
    done, result = deploy_under_load(host, "rollback.yml")
    assert done.returncode == 0, done.output[-3000:]
    assert_no_failures(result)
    assert_switched(result, refs()["deps-1"], refs()["r2"])


def test_a_release_that_fails_its_trial_run_costs_no_request(host):
    done, result = deploy_under_load(host, "deploy.yml", "-e", "revision=broken-import",
                                     "-e", "app_django_migrate=false", "-e", "app_django_collectstatic=false")
    assert done.returncode != 0
    assert "failed its trial run, so it never went live" in flat(done.output), done.output[-3000:]
    assert_no_failures(result)
    served = {run["revision"] for run in result["revisions"]}
    assert served == {refs()["r2"]}, describe_revisions(result)


def test_a_release_that_fails_after_the_switch_is_put_back_at_once(host):
    # Without the trial run the broken release does go live: its workers fail to boot and its
    # master exits. The health check notices at once (it does not wait in the socket's queue for
    # an answer that cannot come), the old release is started again, and the requests that
    # waited meanwhile are answered by it: none fails.
    done, result = deploy_under_load(host, "deploy.yml", "-e", "revision=broken-import", "-e", "deploy_trial_run=false",
                                     "-e", "app_django_migrate=false", "-e", "app_django_collectstatic=false")
    assert done.returncode != 0
    assert "is live again" in flat(done.output), done.output[-3000:]
    assert "the service exited after it started" in flat(done.output), done.output[-3000:]
    assert_no_failures(result)
    served = {run["revision"] for run in result["revisions"]}
    assert served == {refs()["r2"]}, describe_revisions(result)
    assert health(host)["revision"] == refs()["r2"]


def killed_and_back(host, timeout=10):
    """kill -9 the master; milliseconds until /health answers again from a new master (a request
    sent meanwhile waits in the socket's queue, so the first answer marks the moment)."""
    env, pid = env_of(host), main_pid(host)
    curl = env["curl"].replace("--max-time 10", "--max-time 2")
    done = host.run(f"s=$(date +%s%N); kill -9 {pid}; i=0; while [ $i -lt {timeout * 10} ]; do i=$((i+1)); "
                    f"{curl}/health >/dev/null 2>&1 && p=$(systemctl --user show -p MainPID --value {env['unit']}) "
                    f"&& [ \"$p\" != 0 ] && [ \"$p\" != {pid} ] && break; sleep 0.05; done; "
                    "echo $(( ($(date +%s%N) - s) / 1000000 ))")
    return int(done.stdout.split()[-1])


def test_a_killed_gunicorn_master_is_serving_again_within_three_seconds(host):
    # issue 18 item 8: systemd used to wait out the stop timeout (10 s) for a "cgroup empty" notice
    # these hosts (systemd in a container on a cgroup v1 machine) never send. Now the unit's
    # ExecStop (<deploy_path>/stop) stops the orphaned workers itself and gunicorn is started again
    # after RestartSec=200ms: idle (the figure is printed) and under load (no request fails). 11.7 s before.
    idle = killed_and_back(host)
    print(f"{env_of(host)['unit']}: kill -9 of the master, idle: serving again after {idle} ms")
    assert idle <= 3000, f"serving again only after {idle} ms"
    with under_load(container(), timeout=20.0, **bind_of(host)) as load:
        loaded = killed_and_back(host)
    print(f"{env_of(host)['unit']}: kill -9 of the master, under load: serving again after {loaded} ms")
    assert loaded <= 3000, f"serving again only after {loaded} ms under load"
    assert_no_failures(load.result)
    assert health(host)["revision"] == refs()["r2"]


def test_pip_installs_uv_when_the_pip_arguments_hold_an_option_the_wheel_reader_does_not_know(host):
    # uv_wheel.py reads uv out of its wheel only for index and find-links options; with any other (here
    # --pre, which changes nothing for pinned versions) pip, which honours every option, installs it.
    base = env_of(host)["path"]
    host.run(f"rm -rf {base}/tools/uv-0.13.9")
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=r3",
                    "-e", "app_python_pip_extra_args='--no-index --find-links /srv/wheels --pre'")
    assert done.returncode == 0, done.output[-3000:]
    assert "new dependency set" in flat(done.output), "other installer arguments make another venv"
    tools = host.run(f"ls -A {base}/tools/uv-0.13.9").stdout.split()
    assert "uv-0.13.9.dist-info" in tools and ".complete" in tools, tools  # pip's --target install
    assert host.run(f"{base}/tools/uv-0.13.9/bin/uv --version").stdout.startswith("uv 0.13.9")
    assert health(host)["revision"] == refs()["r3"]
