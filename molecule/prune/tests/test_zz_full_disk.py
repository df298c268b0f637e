"""A full disk (after test_prune.py, on the prod alias): an environment of its own whose deploy path is a
small filesystem (testhost-up --tmpfs, HKNWEB_TESTHOST_TMPFS in molecule.yml). Two good releases
serve; root fills the filesystem; the next deploy fails half-way. The old release keeps serving, the
half release is never a rollback target, and once there is room again the next deploy prunes it.
Tests run in file order."""
import os

from deploytest import as_root, flat, only_on, playbook, refs

MOUNT = os.environ.get("HKNWEB_TESTHOST_TMPFS", "/srv/small:160m").split(":")[0]
PATH = MOUNT + "/full"
FILLER = MOUNT + "/filler"
ENV = ["-e", f"deploy_path={PATH}", "-e", "app_service_name=full.service",
       "-e", "app_service_bind=127.0.0.1:8097"]
SEEN = {}  # release names by the ref they were deployed from


def prod_only(host):
    only_on(host, "prod", "the full-disk environment is deployed through the prod alias")


def deploy(*args):
    return playbook("deploy.yml", "hknweb-prod", *ENV, *args)


def served(host):
    out = host.run("curl -sS --fail --max-time 10 http://127.0.0.1:8097/health")
    assert out.rc == 0, out.stderr
    import json
    return json.loads(out.stdout)["revision"]


def current(host):
    return os.path.basename(host.file(PATH + "/current").linked_to)


def names(host):
    return sorted(host.run(f"ls -1 {PATH}/releases").stdout.split())


def free_bytes():
    return int(as_root("df", "-B1", "--output=avail", MOUNT).stdout.split()[-1])


def test_two_good_releases_serve_from_the_small_filesystem(host):
    prod_only(host)
    for ref in ("r1", "r2"):
        done = deploy("-e", f"revision={ref}")
        assert done.returncode == 0, done.output[-3000:]
        SEEN[ref] = current(host)
    assert served(host) == refs()["r2"]


def test_a_deploy_on_a_full_disk_fails_and_the_old_release_keeps_serving(host):
    prod_only(host)
    before, live = names(host), current(host)
    pid = host.run("systemctl --user show -p MainPID --value full.service").stdout.strip()
    # Leave a few pages: enough for the lock, not for the commit's files (the extract fails).
    as_root("fallocate", "-l", str(free_bytes() - 24 * 1024), FILLER)
    done = deploy("-e", "revision=r3")
    out = flat(done.output)
    assert done.returncode != 0, out[-3000:]
    assert "No space left on device" in out, out[-3000:]
    assert "failed at stage 'Extract the commit" in out, out[-3000:]
    # Read from the host after the failure: the old release's master runs and answers.
    assert (f'Live now: {live} ({refs()["r2"][:12]}, "Release r2 (VERSION r2)", r2): full.service runs it, '
            "GET /health answered 200") in out, out[-3000:]
    assert (f"Next: free space on the filesystem of {PATH} (df -h {PATH} on the host), then ansible-playbook "
            "deploy.yml -l prod (a deploy prunes what this run left)") in out, out[-3000:]
    assert current(host) == live == SEEN["r2"] and served(host) == refs()["r2"]
    assert host.run("systemctl --user show -p MainPID --value full.service").stdout.strip() == pid, \
        "the old release was not even restarted"
    half = [n for n in names(host) if n not in before]
    assert len(half) == 1, (before, names(host))
    SEEN["half"] = half[0]
    assert not host.file(f"{PATH}/releases/{half[0]}/.deploy-complete").exists
    # The lock was given back (the rescue), so nothing is needed before the next run.
    assert not host.file(f"{PATH}/deploy.lock").exists


def test_the_half_release_is_never_a_rollback_target(host):
    prod_only(host)
    half = SEEN["half"]
    listing = flat(playbook("releases.yml", "hknweb-prod", *ENV).stdout)
    assert f"{half} unfinished " in listing and f"{SEEN['r1']} good <-back " in listing, listing[-3000:]
    as_root("rm", "-f", FILLER)  # room again: the refusals below are about the release, not the disk
    refused = playbook("rollback.yml", "hknweb-prod", *ENV, "-e", f"release={half}")
    assert refused.returncode != 0 and f"release {half} is unfinished" in flat(refused.output), \
        flat(refused.output)[-3000:]
    assert current(host) == SEEN["r2"] and served(host) == refs()["r2"]
    # The deploy that left it never went live: a plain rollback says r2 has served all along and changes
    # nothing (issue 18 item 7); at the officer's word it goes back, never onto the half release.
    kept = playbook("rollback.yml", "hknweb-prod", *ENV)
    assert kept.returncode != 0 and f"the deploy of release {half} " in flat(kept.output), flat(kept.output)[-3000:]
    assert current(host) == SEEN["r2"] and served(host) == refs()["r2"]
    back = playbook("rollback.yml", "hknweb-prod", *ENV, "-e", "deploy_rollback_anyway=true")
    assert back.returncode == 0, back.output[-3000:]
    assert current(host) == SEEN["r1"] and served(host) == refs()["r1"]


def test_with_room_again_the_next_deploy_succeeds_and_prunes_the_half_release(host):
    prod_only(host)
    done = deploy("-e", "revision=r3")
    assert done.returncode == 0, done.output[-3000:]
    assert served(host) == refs()["r3"]
    summary, = done.summaries
    assert SEEN["half"] in summary["pruned"], summary
    assert SEEN["half"] not in names(host)


def test_on_a_100_percent_full_disk_no_lock_is_half_made_and_rollback_works_once_there_is_room(host):
    # issue 18 item 1: the lock is built aside and renamed; a full disk leaves none (not one without holder).
    prod_only(host)
    live = current(host)
    as_root("fallocate", "-l", str(free_bytes()), FILLER)
    try:
        for name in ("deploy.yml", "rollback.yml"):
            done = playbook(name, "hknweb-prod", *ENV)
            out = flat(done.output)
            assert done.returncode != 0 and "no lock was left behind" in out, out[-3000:]
            assert host.run(f"ls -A {PATH} | grep deploy.lock").stdout == "", f"{name} left a lock behind"
    finally:
        as_root("rm", "-f", FILLER)
    back = playbook("rollback.yml", "hknweb-prod", *ENV)  # the emergency rollback, nothing broken by hand
    assert back.returncode == 0, back.output[-3000:]
    assert current(host) != live
    host.run("systemctl --user disable --now full.socket full.service")
