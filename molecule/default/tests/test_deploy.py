"""Core deploy on the real test host: layout, links, units, HTTP, round trips, summaries, refusals,
check mode, and a second deploy. Tests run in file order."""
import json
import re

import pytest

from deploytest import (ENVS, HOME, USER, Webhook, as_root, closed_port_url, current_release, documented_json,
                        env_name, env_of, flat, health, http, json_answer, main_pid, only_on, playbook, recap, refs,
                        release_names, state)

RELEASE_NAME = re.compile(r"^\d{8}T\d{6}Z$")


def test_layout_has_releases_shared_venvs_and_a_private_mirror(host):
    base = env_of(host)["path"]
    for sub in ("releases", "shared", "repo", "venvs"):
        assert host.file(f"{base}/{sub}").is_directory
    assert host.run(f"git -C {base}/repo rev-parse --is-bare-repository").stdout.strip() == "true"
    # The URL in repo/config may carry a token: the mirror is the user's alone.
    assert host.file(f"{base}/repo").mode == 0o700


def test_current_is_a_relative_link_to_the_one_complete_release(host):
    base = env_of(host)["path"]
    link = host.file(f"{base}/current")
    assert link.is_symlink
    assert link.linked_to == f"{base}/releases/{current_release(host)}"
    assert host.run(f"readlink {base}/current").stdout.strip().startswith("releases/")
    assert RELEASE_NAME.match(current_release(host))
    assert release_names(host) == [current_release(host)]
    record = json.loads(host.file(f"{base}/current/.deploy-complete").content_string)
    assert record["sha"] == refs()[env_of(host)["default_ref"]]
    assert record["ref"] == env_of(host)["default_ref"] and record["subject"]


def test_the_release_runs_on_a_venv_of_its_dependency_set(host):
    base = env_of(host)["path"]
    target = host.run(f"readlink {base}/current/venv").stdout.strip()
    assert re.fullmatch(r"\.\./\.\./venvs/[0-9a-f]{16}", target), target
    assert host.file(f"{base}/venvs/{target.rsplit('/', 1)[1]}/.complete").exists


def test_one_run_names_the_release_once_for_every_host(host):
    # converge deployed prod and test in one run: the name was computed once, on the controller.
    first = {env: host.file(f"{ENVS[env]['path']}/revisions.log").content_string.splitlines()[0].split("\t")[2]
             for env in ENVS}
    assert first["prod"] == first["test"]


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


def test_socket_and_service_units_are_active_and_enabled(host):
    unit, socket = env_of(host)["unit"], env_of(host)["socket"]
    for name in (unit, socket):
        assert host.file(f"{HOME}/.config/systemd/user/{name}").exists
        assert host.run(f"systemctl --user is-active {name}").stdout.strip() == "active", name
        assert host.run(f"systemctl --user is-enabled {name}").stdout.strip() == "enabled", name
    assert "HKNWEB_MODE=prod" in host.run(f"systemctl --user show -p Environment {unit}").stdout
    assert socket in host.run(f"systemctl --user show -p Requires {unit}").stdout
    # systemd holds the listening socket, so restarting the service never closes it.
    listen = host.run(f"systemctl --user show -p Listen {socket}").stdout
    assert (env_of(host)["bind"].get("unix") or env_of(host)["bind"].get("tcp")) in listen


def test_gunicorn_runs_the_current_release(host):
    cwd = host.run(f"readlink /proc/{main_pid(host)}/cwd").stdout.strip()
    assert cwd == env_of(host)["path"] + "/releases/" + current_release(host)


def test_each_environment_serves_its_own_commit(host):
    want = refs()[env_of(host)["default_ref"]]
    assert health(host) == {"status": "ok", "revision": want, "mode": "prod"}
    page = http(host, "/")
    assert f'<code id="revision">{want}</code>' in page.stdout


def test_prod_listens_on_the_ocf_socket(host):
    if env_name(host) == "prod":
        assert host.socket(f"unix:///srv/apps/{USER}/{USER}.sock").is_listening
        assert host.file(f"/srv/apps/{USER}/{USER}.sock").mode == 0o666  # the web front end connects
    else:
        assert host.socket("tcp://127.0.0.1:8001").is_listening


def test_unknown_ref_fails_clearly_and_changes_nothing(host):
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=no-such-branch")
    assert done.returncode != 0
    out = flat(done.output)
    assert "the ref 'no-such-branch' is not a branch, tag or commit" in out
    live, env = current_release(host), env_name(host)
    assert f"Live now: {live} (" in out and f"{env_of(host)['unit']} runs it, GET /health answered 200" in out, out
    assert (f"Next: {live} serves, as before this run (a rollback would go one release further back); fix what the "
            f"cause above names (nothing was changed); then deploy again: ansible-playbook deploy.yml -l {env}") in out
    assert state(host) == before
    assert not host.file(env_of(host)["path"] + "/deploy.lock").exists, "a failed run gives the lock back"


def test_a_token_in_the_repository_url_is_never_printed(host):
    base = env_of(host)["path"]
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "-vvv",
                    "-e", "deploy_repo_url=https://hkn:TOKEN-s3cr3t@127.0.0.1:9/hknweb.git")
    assert done.returncode != 0
    assert "TOKEN-s3cr3t" not in done.output, "the token was printed"
    out = flat(done.output)
    assert "127.0.0.1:9/hknweb.git" in out and "stage 'begin'" in out  # the cause names the URL, not the token
    assert state(host) == before
    # The mirror (its config may hold the URL) is readable by the deploy user only.
    assert host.file(f"{base}/repo").mode == 0o700
    # The next deploy points the mirror back at the configured URL.
    assert playbook("deploy.yml", host.backend.get_hostname()).returncode == 0
    assert "TOKEN" not in host.file(f"{base}/repo/config").content_string


def test_a_ref_under_another_name_is_refused(host):
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "branch=r1")
    assert done.returncode != 0
    assert "say -e revision=<branch|tag|sha>" in flat(done.output)
    assert state(host) == before


def test_a_held_lock_stops_the_deploy_and_names_holder_and_true_age(host):
    base = env_of(host)["path"]
    stale = '{"holder": "alice", "purpose": "deploy r9", "epoch": %d}' % (int(host.run("date +%s").stdout) - 7200)
    host.run(f"mkdir {base}/deploy.lock && echo '{stale}' > {base}/deploy.lock/holder")
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=r1")
    assert done.returncode != 0
    out = flat(done.output)
    assert "alice, for deploy r9, taken 2 h 0 min ago" in out, out[-2000:]
    assert "deploy_break_lock=true" in out and "stage 'lock'" in out
    # The environment serves while the lock is held: said, read from the host; the way out is scoped.
    assert f"Live now: {current_release(host)} (" in out, out[-2000:]
    # A lock of an older version (no lease): only a person can tell it is dead; the way out is scoped.
    assert (f"Next: if the run that holds the lock is over (its lock, from an older version, has no lease): "
            f"ansible-playbook lock.yml -l {env_name(host)} -e break=true removes it") in out, out[-2000:]
    assert state(host) == before
    assert "alice" in host.file(f"{base}/deploy.lock/holder").content_string, "never broken silently"
    # Told to, the deploy breaks the stale lock (and says whose), deploys nothing new, gives its own back.
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "deploy_break_lock=true")
    assert done.returncode == 0, done.output[-3000:]
    assert "broke the lock of alice (deploy r9" in flat(done.output)
    assert not host.file(f"{base}/deploy.lock").exists


def test_bad_input_is_refused_before_any_change(host):
    before = state(host)
    for extra, words in [("deploy_keep_releases=0", "deploy_keep_releases: is 0"),
                         ("app_service_bind=nowhere", "app_service_bind: 'nowhere' must be"),
                         ("app_python_interpreter=python9.9", "app_python_interpreter 'python9.9' does not run"),
                         ('{"app_service_environment": {"A": "x\\nExecStartPre=/bin/touch /tmp/pwned"}}',
                          "app_service_environment: names must be"),
                         ('{"deploy_path": "~/hknweb/prod\\n"}', "deploy_path: '"),
                         ('{"app_service_name": "hknweb.service\\n"}', "app_service_name: '"),
                         ('{"deploy_shared_dirs": ["."]}', "deploy_shared_dirs entry '.' contains . or .."),
                         ('{"deploy_shared_dirs": ["media", "media/x"]}', "'media/x' lies inside 'media'"),
                         ('{"deploy_shared_files": ["/etc/passwd"]}', "is absolute"),
                         ("deploy_python=python3", "deploy_python is now app_python_interpreter"),
                         # a ref that cannot be a git ref never reaches the lock (issue 18 item 1)
                         ("revision=" + "r" * 4096, "deploy_ref: 'rrr"),
                         ('{"revision": "r1\\u001b[31m\\nx"}', "deploy_ref: 'r1")]:
        done = playbook("deploy.yml", host.backend.get_hostname(), "-e", extra)
        assert done.returncode != 0, extra
        out = flat(done.output)
        assert words in out, (extra, out[-2000:])
        assert "Nothing was changed" in out, extra
    assert state(host) == before
    assert not host.file("/tmp/pwned").exists
    assert not host.file(env_of(host)["path"] + "/deploy.lock").exists


def test_missing_linger_is_reported_before_any_change(host):
    before = state(host)
    as_root("mv", f"/var/lib/systemd/linger/{USER}", "/root/linger-saved")
    try:
        done = playbook("deploy.yml", host.backend.get_hostname())
    finally:
        as_root("mv", "/root/linger-saved", f"/var/lib/systemd/linger/{USER}")
    assert done.returncode != 0
    assert f"sudo loginctl enable-linger {USER}" in flat(done.output)
    assert state(host) == before


def test_current_pointed_at_tmp_by_hand_stops_stage_1_with_the_fix(host):
    # issue 18 item 4: refused before anything is built (not at the switch, "Live now: nothing").
    base = env_of(host)["path"]
    live = current_release(host)
    host.run(f"ln -sfn /tmp {base}/current")
    try:
        before = state(host) + tree(host)
        done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=r1")
        after = state(host) + tree(host)
    finally:
        host.run(f"ln -sfn releases/{live} {base}/current")
    assert done.returncode != 0
    out = flat(done.output)
    assert "current points to '/tmp', not to a release in" in out, out[-3000:]
    assert f"ln -sfn releases/{live} {base}/current" in out and "Nothing was changed" in out
    assert "stage 'begin'" in out
    assert after == before
    assert not host.file(f"{base}/deploy.lock").exists


def tree(host):
    """Every path under the home (the deploy paths included) with its type, link target and mtime."""
    return host.run(f"find {HOME} -path {HOME}/.ansible -prune -o -printf '%y %p %l %T@\\n' | sort").stdout


@pytest.mark.parametrize("setup,extra,words", [
    ("", '{"deploy_home_templates": [{"path": "hknweb/ENV/current", "content": "x"}]}',
     "deploy_home_templates entry 'hknweb/ENV/current' is the environment's own current"),
    ("mkdir -p /tmp/outside-hk && ln -sfn /tmp/outside-hk ~/linkdir",
     '{"deploy_home_templates": [{"path": "linkdir/x.cnf", "content": "x"}]}',
     f"passes through a symlinked folder ({HOME}/linkdir)"),
    ("", '{"app_static_link": {"path": "BASE/current"}}', "app_static_link 'BASE/current' is the environment's own current"),
    ("ln -sfn /usr BASE/venvs/0000000000000000", "revision=r1", "venvs/0000000000000000 is a symlink (to /usr)"),
])
def test_a_path_that_points_back_into_the_environment_is_refused_and_nothing_changes(host, setup, extra, words):
    # issue 18 item 3: every path the run writes is resolved and checked before the first change.
    base, env = env_of(host)["path"], env_name(host)

    def fill(text):
        return text.replace("BASE", base).replace("ENV", env)
    if setup:
        host.run(fill(setup))
    try:
        before = tree(host)
        done = playbook("deploy.yml", host.backend.get_hostname(), "-e", fill(extra))
        after = tree(host)
    finally:
        host.run(f"rm -f ~/linkdir {base}/venvs/0000000000000000")
    assert done.returncode != 0
    out = flat(done.output)
    assert fill(words) in out and "Nothing was changed" in out, out[-3000:]
    assert after == before
    assert host.file(f"{base}/current").is_symlink and health(host)["status"] == "ok"
    assert not host.file("/tmp/outside-hk/x.cnf").exists


def test_the_doctor_passes_on_a_good_host_and_changes_nothing(host):
    before = state(host)
    done = playbook("check.yml", host.backend.get_hostname())
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert "is ready for a deploy" in out and "FAIL " not in out
    for name in ("linger and user manager", "git", "free disk", "repository and ref", "shared files", "bind", "python"):
        assert "PASS " + name in out, name
    assert done.calls == {host.backend.get_hostname(): 1}, done.calls
    assert state(host) == before


def test_the_doctor_names_the_fix_for_missing_linger_and_a_missing_ref(host):
    as_root("mv", f"/var/lib/systemd/linger/{USER}", "/root/linger-saved")
    try:
        done = playbook("check.yml", host.backend.get_hostname(), "-e", "revision=no-such-ref")
    finally:
        as_root("mv", "/root/linger-saved", f"/var/lib/systemd/linger/{USER}")
    assert done.returncode != 0
    out = flat(done.output)
    assert "FAIL linger and user manager" in out and f"sudo loginctl enable-linger {USER}" in out
    assert "FAIL repository and ref" in out and "'no-such-ref' is not a branch, tag or commit" in out
    assert "PASS git" in out, "one failure does not hide the other checks"


def test_status_shows_the_live_release_service_and_a_killed_runs_lock_with_its_true_age(host):
    base, name = env_of(host)["path"], host.backend.get_hostname()
    stale = '{"holder": "carol", "purpose": "deploy r5", "epoch": %d}' % (int(host.run("date +%s").stdout) - 3 * 3600)
    host.run(f"mkdir {base}/deploy.lock && echo '{stale}' > {base}/deploy.lock/holder")
    try:
        done = playbook("status.yml", name)
        shown = playbook("lock.yml", name)
    finally:
        broken = playbook("lock.yml", name, "-e", "break=true")
        lock_left = host.file(f"{base}/deploy.lock").exists
        host.run(f"rm -rf {base}/deploy.lock")  # so a failure here does not stop every later test
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.stdout)
    assert f"live: {current_release(host)}" in out and "service: active (running)" in out, out[-3000:]
    assert f"runs {current_release(host)}" in out and "health: GET /health answered 200" in out, out[-3000:]
    assert "lock: held by carol for deploy r5, taken 3 h 0 min ago" in out
    assert done.calls == {name: 1}
    assert "held by carol for deploy r5" in flat(shown.output)
    assert broken.returncode == 0 and not lock_left, broken.output[-3000:]


@pytest.mark.parametrize("kind", ["status", "releases", "lock", "check"])
def test_each_read_only_playbook_writes_one_json_document_of_the_documented_shape(host, kind):
    only_on(host, "prod", "one run answers for both environments")
    done, doc = json_answer(f"{kind}.yml", "prod,test")
    assert done.returncode == 0, done.output[-3000:]
    shapes = documented_json()
    assert doc is not None, done.output[-3000:]
    assert set(doc) == set(shapes["document"]) and doc["version"] == 1 and doc["kind"] == kind
    by_env = {e["environment"]: e for e in doc["environments"]}
    assert set(by_env) == {"prod", "test"}
    for entry in by_env.values():
        assert set(entry) == set(shapes[kind]), entry
    prod = by_env["prod"]
    if kind == "status":
        assert prod["live"]["name"] == current_release(host) and prod["service"]["active"] == "active"
        assert set(prod["live"]) == set(shapes["status"]["live"]) and prod["lock"] is None
    elif kind == "releases":
        assert prod["live"] == current_release(host) and current_release(host) in [r["name"] for r in prod["releases"]]
    elif kind == "lock":
        assert prod["held"] is False and prod["lock"] is None
    else:
        assert prod["ready"] is True and {c["name"] for c in prod["checks"]} >= {"git", "bind"}


def test_check_mode_says_what_a_real_run_would_do_and_changes_nothing(host):
    before = state(host)
    done = playbook("deploy.yml", host.backend.get_hostname(), "--check", "--diff", "-e", "revision=r1")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    assert f'deploy {refs()["r1"][:12]} "Sample app (VERSION r1)" as a new release' in out, out[-3000:]
    assert "Check mode (nothing changed): would deploy" in out
    assert "goes live" in out  # the switch and the restart it would do
    assert state(host) == before


def test_check_mode_on_a_new_environment_writes_nothing(host):
    # First contact with an empty deploy path: a dry run says what it would do and writes NOTHING.
    listing = f"find {HOME} /srv/apps -xdev -newer /etc/hostname 2>/dev/null | sort"
    before = host.run(listing).stdout
    fresh = f"{HOME}/fresh-{env_name(host)}"
    done = playbook("deploy.yml", host.backend.get_hostname(), "--check", "-e", f"deploy_path={fresh}",
                    "-e", f"app_service_name=fresh-{env_name(host)}.service", "-e", "app_service_bind=127.0.0.1:8099")
    assert done.returncode == 0, done.output[-3000:]
    assert "as a new release" in flat(done.output)
    assert host.run(listing).stdout == before


def test_second_commit_moves_current_reuses_the_venv_in_four_round_trips(host):
    name = host.backend.get_hostname()
    first = current_release(host)
    venv = host.run(f"readlink {env_of(host)['path']}/current/venv").stdout
    master = main_pid(host)
    # Watch `current` through the whole deploy: it must never be missing (atomic rename, no ln -sfn gap).
    watch = f"/tmp/watch-{env_name(host)}"
    host.run(f"rm -f {watch}.*; nohup sh -c 'touch {watch}.run; while [ -e {watch}.run ]; do "
             f"[ -e {env_of(host)['path']}/current/REVISION ] || echo missing >> {watch}.log; done' "
             f">/dev/null 2>&1 &")
    done = playbook("deploy.yml", name, "-e", "revision=r2")
    host.run(f"rm -f {watch}.run")
    assert done.returncode == 0, done.output[-3000:]
    assert not host.file(f"{watch}.log").exists, "current was missing during the switch"
    second = current_release(host)
    assert host.run(f"readlink /proc/{main_pid(host)}/cwd").stdout.strip().endswith("/releases/" + second)
    # Only the code changed: gunicorn was reloaded (HUP), not restarted: the master stays, and every
    # worker runs in the new release (none of the old one is left to answer).
    assert main_pid(host) == master
    workers = host.run(f"for w in $(cat /proc/{master}/task/{master}/children); do readlink /proc/$w/cwd; done")
    assert workers.stdout.split() and all(w.endswith("/releases/" + second) for w in workers.stdout.split()), workers.stdout
    assert second != first and release_names(host) == sorted([first, second])
    assert health(host)["revision"] == refs()["r2"]
    # The trial run (r2's gunicorn on a private socket) is gone, process and socket: it is killed outright.
    base = env_of(host)["path"]
    assert host.run("pgrep -u hkn -f '[.]trial-[0-9]+[.]sock'").stdout == "", "the trial's gunicorn is still running"
    assert host.run(f"ls -A {base} | grep '^[.]trial-'").stdout == ""
    # Same requirements: the same venv, and no installer ran.
    assert host.run(f"readlink {env_of(host)['path']}/current/venv").stdout == venv
    assert "no installer runs" in flat(done.output)
    # Round trips (budget: code-only deploy <= 10): begin, build, django, activate.
    assert done.calls == {name: 4}, done.calls
    summary, = done.summaries
    assert summary["release"] == second and summary["previous"] == first and summary["result"] == "ok"
    assert summary["commit"] == refs()["r2"] and summary["subject"] == "Release r2 (VERSION r2)"
    assert summary["ref"] == "r2" and summary["deployer"] and summary["seconds"] > 0
    assert summary["health"].startswith("GET /health answered 200 from " + second)
    assert summary["environment"] == env_name(host) and summary["served_at"]
    assert summary["reloaded"] and not summary["restarted"]
    assert any("graceful reload" in reason for reason in summary["restart_reasons"]), summary


def test_a_no_op_deploy_restarts_nothing_in_two_round_trips(host):
    name = host.backend.get_hostname()
    pid, releases = main_pid(host), release_names(host)
    again = playbook("deploy.yml", name, "-e", "revision=r2")
    assert again.returncode == 0, again.output[-3000:]
    assert recap(again, name)["changed"] == 0, again.output[-3000:]
    assert release_names(host) == releases and main_pid(host) == pid
    assert again.calls == {name: 2}, again.calls  # budget: no-op deploy <= 5
    # Controller tasks cost no round trip but 50-100 ms each: name and say the run, one knob check
    # per role, the Python plan and its line, render, static link, summary.
    assert again.controller[name] <= 12, again.controller
    assert "no new release: that commit was live already" in again.output


def test_a_service_and_socket_systemd_gave_up_on_are_brought_back_by_the_next_run(host):
    # A crash loop can hit systemd's start limit; the socket unit then fails with the service
    # (service-start-limit-hit) and refuses every connection. Played here by restarting too often.
    unit = env_of(host)["unit"]
    socket_unit = unit.replace(".service", ".socket")
    host.run(f"for i in $(seq 8); do systemctl --user restart {unit}; done; true")
    http(host, "/health")  # a connection the socket cannot hand to the refused service
    assert host.run(f"systemctl --user is-failed {socket_unit} {unit}").rc == 0, "systemd did not give up"
    assert http(host, "/health").rc != 0, "the socket still answers"
    done = playbook("deploy.yml", host.backend.get_hostname(), "-e", "revision=r2")  # the live commit
    assert done.returncode == 0, done.output[-3000:]
    assert health(host)["revision"] == refs()["r2"]
    assert host.run(f"systemctl --user is-active {socket_unit} {unit}").rc == 0


def test_a_rotated_secret_is_written_and_restarts_the_service(host):
    name = host.backend.get_hostname()
    pid, releases = main_pid(host), release_names(host)
    secret = 'SECRET_KEY = "rotated"\nSECRETS_LABEL = "rotated"\n'
    done = playbook("deploy.yml", name, "-e", "revision=r2", "-e", json.dumps(
        {"deploy_shared_templates": [{"path": "hknweb/settings/secrets.py", "content": secret, "mode": "0600"}]}))
    assert done.returncode == 0, done.output[-3000:]
    assert "shared files rewritten: hknweb/settings/secrets.py" in flat(done.output)
    assert "rotated" not in done.output, "the content is never shown"
    assert host.file(env_of(host)["path"] + "/shared/hknweb/settings/secrets.py").content_string == secret
    assert main_pid(host) != pid and release_names(host) == releases
    assert "rotated" in http(host, "/").stdout


def test_rollback_takes_one_round_trip_and_puts_the_first_release_back(host):
    name = host.backend.get_hostname()
    first, second = release_names(host)
    done = playbook("rollback.yml", name)
    assert done.returncode == 0, done.output[-3000:]
    assert current_release(host) == first and health(host)["revision"] == refs()[env_of(host)["default_ref"]]
    assert done.calls == {name: 1}, done.calls  # budget: rollback <= 4
    # No round trip, 50-100 ms each: name and say the run, two knob checks, render, summary.
    assert done.controller[name] <= 6, done.controller
    summary, = done.summaries
    assert (summary["action"], summary["release"], summary["previous"], summary["marked_bad"]) == (
        "rollback", first, second, second)


def test_both_environments_still_serve_after_each_others_deploys(host):
    # prod and test share one account: deploying one must not disturb the other.
    other = "test" if env_name(host) == "prod" else "prod"
    assert host.run(f"systemctl --user is-active {ENVS[other]['unit']}").stdout.strip() == "active"


def test_a_bind_another_program_holds_is_refused_before_the_switch(host):
    # Something else listens on the port: refused in stage 1 (deploy_begin), before the layout or a
    # unit file is written, with the cause that is true and the knob to change.
    name = host.backend.get_hostname()
    units = host_units(host)
    host.run("nohup python3 -m http.server 8099 --bind 127.0.0.1 >/dev/null 2>&1 & sleep 1")
    try:
        done = playbook("deploy.yml", name, "-e", f"deploy_path={HOME}/other-{env_name(host)}",
                        "-e", f"app_service_name=other-{env_name(host)}.service", "-e", "app_service_bind=127.0.0.1:8099")
    finally:
        host.run("pkill -f 'http.server 8099'")
    assert done.returncode != 0
    out = flat(done.output)
    assert "app_service_bind: another program listens on 127.0.0.1:8099. Fix: " in out, out[-3000:]
    assert "Nothing was changed" in out and "stage 'begin'" in out
    assert not host.file(f"{HOME}/other-{env_name(host)}").exists, "refused before the layout"
    assert host_units(host) == units


# --- binds: what is ON THE HOST decides, not what one run's inventory says -------------------


def host_units(host):
    """Everything of the account's services a bind change could touch: unit files (and their
    content), the socket folder, what each socket unit listens on, the units' states."""
    return host.run(f"cd {HOME}/.config/systemd/user && ls -la . && md5sum *.socket *.service; "
                    f"ls -la /srv/apps/{USER}; systemctl --user list-sockets --all --no-legend --full; "
                    "systemctl --user list-units --all --no-legend --plain 'hknweb*' 'intruder*'").stdout


def watch_prod(host):
    """Start asking prod every 0.1 s in the background; returns the file that collects failures."""
    log = "/tmp/prod-watch"
    host.run(f"rm -f {log}.*; touch {log}.run; nohup sh -c 'while [ -e {log}.run ]; do "
             f"{ENVS['prod']['curl']}/health >/dev/null 2>&1 || echo fail >> {log}.fail; "
             f"echo ok >> {log}.ok; sleep 0.1; done' >/dev/null 2>&1 &")
    return log


def stop_watching(host, log):
    host.run(f"rm -f {log}.run; sleep 0.3")
    asked = len(host.run(f"cat {log}.ok").stdout.split())
    failed = len(host.run(f"cat {log}.fail 2>/dev/null").stdout.split())
    return asked, failed


def test_a_second_environment_given_prods_socket_or_port_is_refused_before_any_change(host):
    # issue 17 item 2: test was deployed with prod's socket and took it over. An environment that
    # is not in this run (prod) is seen on the host: by its registry record, and - moved aside
    # here, as for an environment deployed before the registry existed - by its socket unit.
    only_on(host, "test", "the intruder is deployed through the test alias")
    name, registry = host.backend.get_hostname(), f"{HOME}/.local/state/hknweb-deploy/environments"
    assert host.run(f"ls {registry}").stdout.split(), "the deploys recorded their environments"
    before, prod_serves, log = host_units(host), health_of("prod"), watch_prod(host)
    intruder = ["-e", f"deploy_path={HOME}/intruder", "-e", "app_service_name=intruder.service"]
    try:
        by_record = playbook("deploy.yml", name, *intruder, "-e", f"app_service_bind=unix:/srv/apps/{USER}/{USER}.sock")
        host.run(f"mv {registry} {registry}.aside")
        by_unit = playbook("deploy.yml", name, *intruder, "-e", f"app_service_bind=unix:/srv/apps/{USER}/{USER}.sock")
        by_port = playbook("deploy.yml", name, *intruder, "-e", "app_service_bind=127.0.0.1:8001")  # test's own port
        by_name = playbook("deploy.yml", name, "-e", f"deploy_path={HOME}/intruder", "-e", "app_service_name=hknweb.service",
                           "-e", "app_service_bind=127.0.0.1:8098")
    finally:
        host.run(f"mv {registry}.aside {registry}")
        asked, failed = stop_watching(host, log)
    for done, words in ((by_record, "app_service_bind: the bind unix:/srv/apps/hkn/hkn.sock is prod"),
                        (by_unit, "app_service_bind: /srv/apps/hkn/hkn.sock is held by the socket unit hknweb.socket"),
                        (by_port, "app_service_bind: 127.0.0.1:8001 is held by the socket unit hknweb-test.socket"),
                        (by_name, "app_service_name: the unit hknweb.service already runs")):
        out = flat(done.output)
        assert done.returncode != 0 and words in out, (words, out[-2000:])
        assert "Nothing was changed" in out and "Fix: " in out
        # Refused in stage 1 (deploy_begin); the failure ending then reads what is live (releases_info).
        assert done.calls == {name: 2}, done.calls
    assert host_units(host) == before
    assert not host.file(f"{HOME}/intruder").exists
    assert asked > 5 and failed == 0, f"prod failed {failed} of {asked} requests"
    assert health_of("prod") == prod_serves


def test_a_refused_bind_change_leaves_the_environment_serving_as_it_was(host):
    # issue 17 item 3: moving a live environment to a port another program holds, or to a socket in
    # a folder the user cannot write, is refused in stage 1: units, socket and master untouched.
    only_on(host, "test", "played on the test alias")
    as_root("install", "-d", "-o", "root", "-m", "0755", "/srv/apps/locked")
    name, served, pid, before = host.backend.get_hostname(), health(host)["revision"], main_pid(host), host_units(host)
    host.run("nohup python3 -m http.server 8097 --bind 127.0.0.1 >/dev/null 2>&1 & sleep 1")
    try:
        held = playbook("deploy.yml", name, "-e", "app_service_bind=127.0.0.1:8097")
        locked = playbook("deploy.yml", name, "-e", "app_service_bind=unix:/srv/apps/locked/test.sock")
        doctor = playbook("check.yml", name, "-e", "app_service_bind=unix:/srv/apps/locked/test.sock")
    finally:
        host.run("pkill -f 'http.server 8097'")
    assert "app_service_bind: another program listens on 127.0.0.1:8097" in flat(held.output), held.output[-2000:]
    out = flat(locked.output)
    assert "app_service_bind: the socket folder /srv/apps/locked is not writable by hkn" in out, out[-2000:]
    assert "holds that address" not in out and "Nothing was changed" in out
    assert held.returncode != 0 and locked.returncode != 0
    # check.yml says the same, with the same words (one check function).
    assert doctor.returncode != 0 and "FAIL bind" in flat(doctor.output)
    assert "the socket folder /srv/apps/locked is not writable by hkn" in flat(doctor.output)
    assert host_units(host) == before and main_pid(host) == pid and health(host)["revision"] == served


def test_a_prod_socket_broken_by_hand_is_repaired_by_the_next_prod_deploy(host):
    # issue 17 item 2: the socket unit says active, but its path is gone (removed by hand; or taken
    # over by another unit that went away): nothing answers. The next prod deploy restarts it.
    only_on(host, "prod", "prod's socket")
    sock = f"/srv/apps/{USER}/{USER}.sock"
    host.run(f"rm -f {sock}")
    assert host.run(f"systemctl --user is-active {ENVS['prod']['socket']}").rc == 0, "systemd still says active"
    assert http(host, "/health").rc != 0, "nothing answers on the removed path"
    done = playbook("deploy.yml", host.backend.get_hostname())  # the live commit: nothing to build
    assert done.returncode == 0, done.output[-3000:]
    assert host.socket(f"unix://{sock}").is_listening and host.file(sock).mode == 0o666
    assert health(host)["revision"] == refs()[env_of(host)["default_ref"]]
    assert done.calls == {host.backend.get_hostname(): 2}, done.calls  # inside the no-op deploy's two calls


def test_a_rolling_deploy_stops_at_the_first_failed_batch_and_names_releases_once(host):
    # One run covers both environments (prod is the first batch). testinfra runs every test of prod,
    # then every test of test: on test's turn this is the very last test, so it disturbs no other.
    if env_name(host) != "test":
        return
    served = {env: health_of(env) for env in ENVS}
    done = playbook("deploy.yml", "prod,test", "-e", "deploy_batch=1", "-e", "revision=broken-import",
                    "-e", "app_django_migrate=false", "-e", "app_django_collectstatic=false")
    assert done.returncode != 0
    assert "failed its trial run" in flat(done.output)
    assert "hknweb-test" not in done.calls, "the second batch never started after the first failed"
    assert {env: health_of(env) for env in ENVS} == served
    # A good rolling deploy: batch by batch, one release name for all.
    done = playbook("deploy.yml", "prod,test", "-e", "deploy_batch=1", "-e", "revision=r3")
    assert done.returncode == 0, done.output[-3000:]
    names = {s["environment"]: s["release"] for s in done.summaries}
    assert set(names) == {"prod", "test"} and len(set(names.values())) == 1, names
    assert {env: health_of(env) for env in ENVS} == {env: refs()["r3"] for env in ENVS}


def health_of(env):
    """The revision an environment serves, asked from inside the host."""
    out = as_root("su", "-", USER, "-c", ENVS[env]["curl"] + "/health")
    return json.loads(out.stdout)["revision"]


# Three hosts of their own (aliases of this one test host, each with its own deploy path, unit and
# bind), in an inventory written next to Molecule's: a rolling deploy whose first batch fails.
ROLLING = {f"roll-{n}": {"deploy_path": f"{HOME}/roll-{n}", "app_service_name": f"roll-{n}.service",
                         "app_service_bind": f"127.0.0.1:810{n}"} for n in (1, 2, 3)}
ROLLED = {}  # what the three-host tests saw, for the test that reads the failed run's output


def rolling_inventory():
    import os
    from pathlib import Path
    import yaml
    molecule = yaml.safe_load(Path(os.environ["MOLECULE_INVENTORY_FILE"]).read_text())
    connection = molecule["all"]["hosts"]["hknweb-test"]
    testhost = yaml.safe_load((Path(__file__).resolve().parents[2] / "shared" / "testhost.yml").read_text())
    inventory = {"rolling": {"hosts": {name: {**connection, **testhost, **own} for name, own in ROLLING.items()}}}
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "rolling.yml"
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def served_by(host, name):
    out = host.run(f"curl -sS --fail --max-time 10 http://{ROLLING[name]['app_service_bind']}/health")
    assert out.rc == 0, (name, out.stderr)
    return json.loads(out.stdout)["revision"]


def rolled_state(host):
    return {name: (host.file(own["deploy_path"] + "/current").linked_to, served_by(host, name))
            for name, own in ROLLING.items()}


def test_a_rolling_deploy_to_three_hosts_stops_after_the_first_host_fails_its_health_check(host):
    # On test's turn, after every other test (it touches only its own three environments).
    if env_name(host) != "test":
        pytest.skip("played once, on test's turn")
    inventory = rolling_inventory()
    first = playbook("deploy.yml", "rolling", "-i", inventory, "-e", "revision=r2")
    assert first.returncode == 0, first.output[-3000:]
    before = rolled_state(host)
    assert {sha for _, sha in before.values()} == {refs()["r2"]}
    # roll-1 goes live (no trial run), fails its health check and is put back; roll-2 and roll-3 wait.
    done = playbook("deploy.yml", "rolling", "-i", inventory, "-e", "deploy_batch=1", "-e", "revision=broken-import",
                    "-e", "deploy_trial_run=false", "-e", "app_django_migrate=false",
                    "-e", "app_django_collectstatic=false")
    ROLLED["failed"] = done
    try:
        assert done.returncode != 0
        out = flat(done.output)
        assert "is live again" in out and "is marked bad" in out, out[-3000:]
        assert set(done.calls) == {"roll-1"}, f"only the first batch ran: {done.calls}"
        assert not {s.get("host") for s in done.summaries} & {"roll-2", "roll-3"}, done.summaries
        # Every host keeps its release and its commit: roll-1 put back, roll-2 and roll-3 untouched.
        assert rolled_state(host) == before
        for name in ("roll-2", "roll-3"):
            path = ROLLING[name]["deploy_path"]
            assert len(host.run(f"ls -1 {path}/releases").stdout.split()) == 1, f"{name} got no new release"
    finally:
        host.run("systemctl --user disable --now " + " ".join(
            f"roll-{n}.socket roll-{n}.service" for n in (1, 2, 3)))


def test_a_failed_rolling_deploy_says_which_hosts_were_not_deployed(host):
    if env_name(host) != "test":
        pytest.skip("played once, on test's turn")
    done = ROLLED.get("failed")
    assert done is not None, "runs after the three-host rolling deploy"
    out = flat(done.output)
    # The first line names all three hosts it touches; the ending must say which were never reached
    # (it is on stderr, after the recap on stdout).
    assert re.search(r"not (been )?deployed.{0,120}roll-2.{0,40}roll-3|roll-2.{0,40}roll-3.{0,120}not (been )?deployed",
                     out, re.I), out[-3000:]


def test_a_deploy_from_r6_to_r8_lists_the_commits_between_and_a_rollback_those_it_takes_back(host):
    # Also the notification (item 3): an unreachable webhook is a warning only; a local receiver gets the
    # summary of a success, a rollback and a failure.
    only_on(host, "prod", "one history is enough")
    name, sha = host.backend.get_hostname(), refs()
    six = playbook("deploy.yml", name, "-e", "revision=r6", "-e", "deploy_notify_url=" + closed_port_url(),
                   "-e", "deploy_notify_timeout=2")
    assert six.returncode == 0 and health(host)["revision"] == sha["r6"], six.output[-3000:]
    assert "[WARNING]: the notification was not sent" in six.output and "T0KEN" not in six.output
    assert recap(six, name)["failed"] == 0 and six.summaries[-1]["result"] == "ok"
    check = playbook("deploy.yml", name, "--check", "-e", "revision=r8")
    with Webhook() as hook:
        done = playbook("deploy.yml", name, "-e", "revision=r8", "-e", "deploy_notify_url=" + hook.url)
        back = playbook("rollback.yml", name, "-e", "deploy_notify_url=" + hook.url)
        failed = playbook("deploy.yml", name, "-e", "revision=no-such-ref", "-e", "deploy_notify_url=" + hook.url)
    between = [f"{sha[r][:12]} Release {r} (VERSION {r}) (Sample Author)" for r in ("r8", "r7")]
    for run in (check, done):
        assert run.returncode == 0, run.output[-3000:]
        out = flat(run.output)
        first = out.index("commits going out (2):")
        built = out.index("Extract the commit, link shared paths")
        assert out.index(between[0], first) < out.index(between[1], first) < built, out[-3000:]
        assert "commits taken back" not in out and "Release r6 (VERSION r6) (Sample" not in out
    summary, = done.summaries
    assert [c["sha"] for c in summary["pending"]["out"]["commits"]] == [sha["r8"], sha["r7"]]
    assert summary["pending"]["out"]["count"] == 2 and summary["pending"]["back"]["count"] == 0
    assert back.returncode == 0 and health(host)["revision"] == sha["r6"], back.output[-3000:]
    out = flat(back.output)
    taken = out.index("commits taken back (2):")
    assert taken < out.index(between[0], taken) < out.index(between[1], taken), out[-3000:]
    rolled, = back.summaries
    assert [c["subject"] for c in rolled["pending"]["back"]["commits"]] == ["Release r8 (VERSION r8)",
                                                                         "Release r7 (VERSION r7)"]
    assert failed.returncode != 0 and health(host)["revision"] == sha["r6"]
    # The webhook heard all three, each with its summary record and the printed text.
    assert [(b["action"], b["result"]) for b in hook.received] == [("deploy", "ok"), ("rollback", "ok"),
                                                                    ("deploy", "failed")]
    assert hook.received[0]["release"] == summary["release"] and hook.received[0]["pending"] == summary["pending"]
    assert hook.received[0]["text"].startswith("Deployed prod on " + name)
    assert hook.received[1]["release"] == rolled["release"] and "commits taken back (2)" in hook.received[1]["text"]
    assert "no-such-ref" in hook.received[2]["cause"] and hook.received[2]["text"]
    assert all("T0KEN" not in run.output for run in (done, back, failed))


def test_a_failing_before_switch_hook_stops_the_deploy_with_the_live_release_untouched(host):
    only_on(host, "prod", "one history is enough")
    name, live, pid = host.backend.get_hostname(), current_release(host), main_pid(host)
    hooks = {"deploy_hooks_before_switch": ["examples/hooks/django-check.yml", "tests/fixtures/hooks/fails.yml"]}
    done = playbook("deploy.yml", name, "-e", "revision=r7", "-e", json.dumps(hooks))
    assert done.returncode != 0
    out = flat(done.output)
    assert "hook says no (before_switch)" in out and "the live release was not touched" in out, out[-3000:]
    assert "Run manage.py check in the new release" in out  # the example ran first, and passed
    assert current_release(host) == live and main_pid(host) == pid and health(host)["revision"] != refs()["r7"]
    assert f"Live now: {live}" in out, out[-3000:]
    made = done.summaries[-1]["attempted"]["release"]
    assert host.file(f"{env_of(host)['path']}/releases/{made}/hook-before_switch.mark").exists  # it ran in the new release
    assert not host.file(f"{env_of(host)['path']}/releases/{made}/.deploy-complete").exists


def test_a_failing_after_live_hook_is_reported_and_never_reverts_the_release(host):
    only_on(host, "prod", "one history is enough")
    name = host.backend.get_hostname()
    hooks = {"deploy_hooks_before_switch": ["examples/hooks/django-check.yml"],
             "deploy_hooks_after_live": ["examples/hooks/warm-up.yml", "tests/fixtures/hooks/fails.yml"]}
    done = playbook("deploy.yml", name, "-e", "revision=r7", "-e", json.dumps(hooks))
    assert done.returncode != 0
    out = flat(done.output)
    live = current_release(host)
    assert f"The new release {live} is live and healthy and stays live: nothing was reverted" in out, out[-3000:]
    assert "GET / from the live release" in out and "hook says no (after_live)" in out
    assert health(host)["revision"] == refs()["r7"] and done.summaries[-1]["result"] == "ok"
    assert host.file(f"{env_of(host)['path']}/releases/{live}/hook-after_live.mark").exists
    assert not host.file(f"{env_of(host)['path']}/releases/{live}/.deploy-bad").exists


def test_a_held_environment_refuses_a_deploy_and_a_rollback_with_its_message_until_lifted(host):
    only_on(host, "prod", "one history is enough")
    name, base = host.backend.get_hostname(), env_of(host)["path"]
    held = playbook("lock.yml", name, "-e", "hold='career fair until Friday'")
    try:
        assert held.returncode == 0, held.output[-3000:]
        before = state(host)
        done = playbook("deploy.yml", name, "-e", "revision=r5", "-e", "deploy_break_lock=true")
        back = playbook("rollback.yml", name)
        broken = playbook("lock.yml", name, "-e", "break=true")
        status = playbook("status.yml", name)
        after = state(host)
    finally:
        lifted = playbook("lock.yml", name, "-e", "unhold=true")
    for run in (done, back):
        out = flat(run.output)
        assert run.returncode != 0 and '"career fair until Friday"' in out and "held on purpose by" in out, out[-3000:]
        assert f"ansible-playbook lock.yml -l {env_name(host)} -e unhold=true" in out, out[-3000:]
    assert after == before, "a held environment changed"
    assert broken.returncode != 0 and "held on purpose" in flat(broken.output)
    assert "deploys and rollbacks are refused until it is lifted" in flat(status.output)
    assert lifted.returncode == 0 and not host.file(f"{base}/deploy.lock").exists, lifted.output[-3000:]


def test_a_waiting_deploy_goes_on_once_a_live_runs_lock_is_given_back(host):
    import threading
    import time
    only_on(host, "prod", "one history is enough")
    name, base = host.backend.get_hostname(), env_of(host)["path"]
    now = int(host.run("date +%s").stdout)
    record = json.dumps({"holder": "carol", "purpose": "deploy r4", "run": "carols-run", "epoch": now,
                         "lease_until": now + 600, "lease_seconds": 600})
    host.run(f"mkdir {base}/deploy.lock && echo '{record}' > {base}/deploy.lock/holder")
    refused = playbook("deploy.yml", name, "-e", "revision=r7")  # no wait: refused at once
    results = []
    waiting = threading.Thread(target=lambda: results.append(
        playbook("deploy.yml", name, "-e", "revision=r7", "-e", "deploy_lock_wait=90")))
    waiting.start()
    time.sleep(12)
    still_carols = "carols-run" in host.file(f"{base}/deploy.lock/holder").content_string
    host.run(f"rm -rf {base}/deploy.lock")  # carol's run gives its lock back
    waiting.join(180)
    assert refused.returncode != 0 and "holds" in flat(refused.output) and "carol" in flat(refused.output)
    assert still_carols, "the waiting deploy took a live run's lock"
    done, = results
    assert done.returncode == 0, done.output[-3000:]
    assert re.search(r"waited \d+(\.\d)? s for another run's lock", flat(done.output)), done.output[-3000:]
    assert not host.file(f"{base}/deploy.lock").exists and health(host)["revision"] == refs()["r7"]


def test_a_run_writes_its_log_file_where_the_user_chose_and_the_summary_names_it(host, tmp_path):
    only_on(host, "prod", "one history is enough")
    name = host.backend.get_hostname()
    folder = tmp_path / "deploy-logs"
    done = playbook("deploy.yml", name, "-e", "revision=r7", env={
        "DEPLOY_LOG_DIR": str(folder), "ANSIBLE_CALLBACKS_ENABLED": "host_calls,hknweb.deploy.run_log"})
    assert done.returncode == 0, done.output[-3000:]
    log, = folder.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z-deploy-\d+\.log", log.name)
    summary, = done.summaries
    assert summary["log_file"] == str(log) and f"log: {log}" in flat(done.output)
    text = log.read_text()
    # The summary is the deploy role's entry point: its task name carries the role ("deploy : ").
    assert re.search(r"\[%s\] (deploy : )?Summary: what is live, where, what changed: ok" % re.escape(name), text), text
    assert "RECAP " + name in text
    assert done.calls == {name: 2}, "the log costs no round trip"


def test_logs_shows_the_journal_of_the_service_and_socket_since_the_last_deploy(host):
    only_on(host, "prod", "one history is enough")
    name = host.backend.get_hostname()
    done = playbook("logs.yml", name, "-e", "lines=20", "-e", "since_deploy=true")
    assert done.returncode == 0, done.output[-3000:]
    out = flat(done.output)
    last = host.run(f"tail -1 {env_of(host)['path']}/revisions.log").stdout.split("\t")[0]
    assert "prod: hknweb.service and hknweb.socket, since " + last in out, out[-3000:]
    shown = int(re.search(r"\((\d+) lines\)", out).group(1))
    assert 0 < shown <= 20
    assert done.calls == {name: 1}
    refused = playbook("logs.yml", name, "-e", "lines=0")
    assert refused.returncode != 0 and "lines is 0; give 1 to 10000" in flat(refused.output)
