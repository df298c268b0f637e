"""Core deploy on the real test host: layout, links, unit, HTTP, and a second deploy."""
import re

from deploytest import (ENVS, HOME, USER, as_root, current_release, env_name, env_of, health, http,
                        playbook, recap, refs, release_names, state)

RELEASE_NAME = re.compile(r"^\d{8}T\d{6}Z$")


def test_layout_has_releases_shared_and_a_bare_mirror(host):
    base = env_of(host)["path"]
    for sub in ("releases", "shared", "repo"):
        assert host.file(f"{base}/{sub}").is_directory
    assert host.run(f"git -C {base}/repo rev-parse --is-bare-repository").stdout.strip() == "true"


def test_current_is_a_relative_link_to_the_one_release(host):
    base = env_of(host)["path"]
    link = host.file(f"{base}/current")
    assert link.is_symlink
    assert link.linked_to == f"{base}/releases/{current_release(host)}"
    assert host.run(f"readlink {base}/current").stdout.strip().startswith("releases/")
    assert RELEASE_NAME.match(current_release(host))
    assert release_names(host) == [current_release(host)]


def test_one_run_names_the_release_once_for_every_host(host):
    # converge deployed prod and test in one run: the name was computed once, on the controller.
    first = {env: host.file(f"{ENVS[env]['path']}/revisions.log").content_string.splitlines()[0].split("\t")[2]
             for env in ENVS}
    assert first["prod"] == first["test"]


def test_revision_is_the_environments_commit(host):
    want = refs()[env_of(host)["default_ref"]]
    assert host.file(env_of(host)["path"] + "/current/REVISION").content_string == want + "\n"
    assert not host.file(env_of(host)["path"] + "/current/.deploy-unfinished").exists


def test_revisions_log_records_the_deploy(host):
    lines = host.file(env_of(host)["path"] + "/revisions.log").content_string.splitlines()
    fields = lines[-1].split("\t")
    assert fields[1:5] == ["deploy", current_release(host), refs()[env_of(host)["default_ref"]],
                           env_of(host)["default_ref"]]


def test_shared_paths_are_links_into_shared(host):
    base = env_of(host)["path"]
    release = f"{base}/releases/{current_release(host)}"
    for rel in ("media", "data", "hknweb/settings/secrets.py"):
        f = host.file(f"{release}/{rel}")
        assert f.is_symlink, rel
        assert f.linked_to == f"{base}/shared/{rel}"
    # git ships media/PLACEHOLDER.txt: the link replaced that copy, shared/ got nothing from git.
    assert not host.file(f"{base}/shared/media/PLACEHOLDER.txt").exists


def test_secrets_file_is_private_and_templated(host):
    secrets = host.file(env_of(host)["path"] + "/shared/hknweb/settings/secrets.py")
    assert secrets.mode == 0o600
    assert secrets.user == USER
    assert f"molecule {env_name(host)}" in secrets.content_string


def test_unit_is_active_and_enabled_under_the_user_manager(host):
    unit = env_of(host)["unit"]
    assert host.file(f"{HOME}/.config/systemd/user/{unit}").exists
    assert host.run(f"systemctl --user is-active {unit}").stdout.strip() == "active"
    assert host.run(f"systemctl --user is-enabled {unit}").stdout.strip() == "enabled"
    env = host.run(f"systemctl --user show -p Environment {unit}").stdout
    assert "HKNWEB_MODE=prod" in env


def test_gunicorn_runs_the_current_release(host):
    # The main pid's working directory is the release current pointed to at start.
    pid = host.run(f"systemctl --user show -p MainPID --value {env_of(host)['unit']}").stdout.strip()
    cwd = host.run(f"readlink /proc/{pid}/cwd").stdout.strip()
    assert cwd == env_of(host)["path"] + "/releases/" + current_release(host)


def test_each_environment_serves_its_own_commit(host):
    want = refs()[env_of(host)["default_ref"]]
    assert health(host) == {"status": "ok", "revision": want, "mode": "prod"}
    page = http(host, "/")
    assert f'<code id="revision">{want}</code>' in page.stdout


def test_prod_listens_on_the_ocf_socket(host):
    if env_name(host) == "prod":
        assert host.socket(f"unix:///srv/apps/{USER}/{USER}.sock").is_listening
    else:
        assert host.socket("tcp://127.0.0.1:8001").is_listening


def test_unknown_ref_fails_clearly_and_changes_nothing(host):
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=no-such-branch")
    assert done.returncode != 0
    assert "The ref 'no-such-branch'" in done.output
    assert "file:///srv/git/sample-app.git" in done.output
    assert state(host) == before
    assert not host.file(env_of(host)["path"] + "/deploy.lock").exists, "a failed run gives the lock back"


def test_a_held_lock_stops_the_deploy_and_names_its_holder(host):
    base = env_of(host)["path"]
    host.run(f"mkdir {base}/deploy.lock && echo 'holder=alice purpose=deploy epoch=1' > {base}/deploy.lock/holder")
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=r1")
    assert done.returncode != 0
    assert "holder=alice" in done.output and "deploy_break_lock=true" in done.output
    assert state(host) == before
    assert host.file(f"{base}/deploy.lock/holder").content_string.startswith("holder=alice"), "never broken silently"
    # Told to, the deploy breaks the stale lock, deploys (nothing new here) and gives its own lock back.
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "deploy_break_lock=true")
    assert done.returncode == 0, done.output[-3000:]
    assert not host.file(f"{base}/deploy.lock").exists


def test_bad_input_is_refused_before_any_change(host):
    before = state(host)
    for extra, words in [("deploy_keep_releases=0", "deploy_keep_releases is 0"),
                         ("deploy_bind=nowhere", "deploy_bind 'nowhere'"),
                         ("deploy_python=python9.9", "deploy_python 'python9.9'")]:
        done = playbook("deploy.yml", host.backend.get_hostname(), "-e", extra)
        assert done.returncode != 0, extra
        assert words in done.output, done.output[-2000:]
        assert "Nothing was changed" in done.output
    assert state(host) == before


def test_missing_linger_is_reported_before_any_change(host):
    before = state(host)
    as_root("mv", f"/var/lib/systemd/linger/{USER}", "/root/linger-saved")
    try:
        done = playbook("deploy.yml", host.backend.get_hostname())
    finally:
        as_root("mv", "/root/linger-saved", f"/var/lib/systemd/linger/{USER}")
    assert done.returncode != 0
    assert f"loginctl enable-linger {USER}" in done.output
    assert state(host) == before


def test_check_mode_reports_and_changes_nothing(host):
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "--check", "--diff", "-e", "revision=r1")
    assert done.returncode == 0, done.output[-3000:]
    assert f"r1 is {refs()['r1']}" in done.output
    assert "check mode: nothing is built" in done.output
    assert state(host) == before


def test_check_mode_on_a_new_environment_builds_nothing(host):
    # First contact with an empty deploy path: a dry run says what it would do and builds nothing.
    fresh = f"{HOME}/fresh-{env_name(host)}"
    done = playbook("deploy.yml", host.backend.get_hostname(), "--check", "-e", f"deploy_path={fresh}",
                    "-e", f"deploy_service_name=fresh-{env_name(host)}.service", "-e", "deploy_bind=127.0.0.1:8099")
    assert done.returncode == 0, done.output[-3000:]
    assert "would restart" in done.output
    assert not host.file(f"{fresh}/releases").exists
    assert not host.file(f"{fresh}/current").exists
    assert not host.file(f"{HOME}/.config/systemd/user/fresh-{env_name(host)}.service").exists


def test_second_commit_moves_current_and_keeps_the_previous_release(host):
    name = host.backend.get_hostname()
    first = current_release(host)
    # Watch `current` through the whole deploy: it must never be missing (atomic rename, no ln -sfn gap).
    watch = f"/tmp/watch-{env_name(host)}"
    host.run(f"rm -f {watch}.*; nohup sh -c 'touch {watch}.run; while [ -e {watch}.run ]; do "
             f"[ -e {env_of(host)['path']}/current/REVISION ] || echo missing >> {watch}.log; done' "
             f">/dev/null 2>&1 &")
    done = playbook("deploy.yml", name, "-e", "revision=r2")
    host.run(f"rm -f {watch}.run")
    assert done.returncode == 0, done.output[-3000:]
    assert recap(done, name)["failed"] == 0
    assert not host.file(f"{watch}.log").exists, "current was missing during the switch"
    second = current_release(host)
    # The restarted gunicorn runs the new release (the run script cds through the link).
    pid = host.run(f"systemctl --user show -p MainPID --value {env_of(host)['unit']}").stdout.strip()
    assert host.run(f"readlink /proc/{pid}/cwd").stdout.strip().endswith("/releases/" + second)
    assert second != first
    assert release_names(host) == sorted([first, second])
    assert health(host)["revision"] == refs()["r2"]
    # Same commit again: no new release and no restart.
    pid = host.run(f"systemctl --user show -p MainPID --value {env_of(host)['unit']}").stdout
    again = playbook("deploy.yml", name, "-e", "revision=r2")
    assert recap(again, name)["changed"] == 0, again.output[-3000:]
    assert release_names(host) == sorted([first, second])
    assert host.run(f"systemctl --user show -p MainPID --value {env_of(host)['unit']}").stdout == pid


def test_both_environments_still_serve_after_each_others_deploys(host):
    # prod and test share one account: deploying one must not disturb the other.
    other = "test" if env_name(host) == "prod" else "prod"
    assert host.run(f"systemctl --user is-active {ENVS[other]['unit']}").stdout.strip() == "active"
