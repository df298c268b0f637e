"""No request fails across deploys and rollbacks: systemd's socket unit holds the listening
socket, so while gunicorn restarts new connections wait in its queue instead of being refused.
Load runs inside the test host (tests/tools/loadgen.py) on the environment's own bind. Tests run
in file order, each starting from what the previous one left live."""
import sys

from deploytest import REPO, container, env_of, flat, health, playbook, refs

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


def test_a_killed_gunicorn_master_is_replaced_within_seconds(host):
    # kill -9 of the master: it is started again (Restart=on-failure, RestartSec=1) within the stop
    # timeout (app_service_stop_timeout, 10 s; in these cgroup v1 containers systemd misses that the
    # cgroup emptied and waits it out: it was 90 s); requests meanwhile wait in the socket's queue.
    unit = env_of(host)["unit"]
    pid = host.run(f"systemctl --user show -p MainPID --value {unit}").stdout.strip()
    with under_load(container(), timeout=20.0, **bind_of(host)) as load:
        host.run(f"kill -9 {pid}")
        back = host.run("for i in $(seq 150); do "
                        f"p=$(systemctl --user show -p MainPID --value {unit}); "
                        f"[ \"$p\" != 0 ] && [ \"$p\" != {pid} ] && systemctl --user is-active -q {unit} && exit 0; "
                        "sleep 0.1; done; exit 1")
    assert back.rc == 0, "the service was not back within 15 s"
    assert_no_failures(load.result)
    assert health(host)["revision"] == refs()["r2"]
