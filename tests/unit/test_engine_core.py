"""The release engine's pure core and disk helpers: completion records, recovery of a killed run,
the lock and its true age, shared entries, venv keys and venv pruning, the log line, and what a
run says (summary, failure ending, listing, status). No Ansible, no host: plain functions."""

import json
import os

import pytest

from conftest import SHA, build_tree, survivors

from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils import intent
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils import lock
from ansible_collections.hknweb.deploy.plugins.module_utils import prune as prune_
from ansible_collections.hknweb.deploy.plugins.module_utils import records
from ansible_collections.hknweb.deploy.plugins.module_utils import releases_disk
from ansible_collections.hknweb.deploy.plugins.module_utils import revlog
from ansible_collections.hknweb.deploy.plugins.module_utils import shared_entries
from ansible_collections.hknweb.deploy.plugins.module_utils import venvs
from ansible_collections.hknweb.deploy.plugins.module_utils import report_lines, story
from ansible_collections.hknweb.deploy.plugins.module_utils.host import redact_url, tail
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import BAD, GOOD, UNFINISHED, Release

D = {n: f"202601{n:02d}T000000Z" for n in range(1, 29)}


# --- completion records ---------------------------------------------------------------------


@pytest.mark.parametrize("record,unfinished,revision,venv,expected", [
    (True, False, "abc", False, True),     # the record decides
    (True, True, "abc", True, False),      # an unfinished marker always wins
    (False, False, "abc", True, True),     # a release of the layout before records
    (False, False, "", True, False),       # no REVISION: never complete
    (False, False, "abc", False, False),   # no venv: it cannot run
    (False, False, None, False, False),    # an empty folder (a full disk at mkdir)
])
def test_a_release_is_complete_only_when_its_record_says_so(record, unfinished, revision, venv, expected):
    assert rp.is_complete(record, unfinished, revision, venv) is expected


def test_a_built_release_without_its_record_is_incomplete_even_with_revision_and_venv(tmp_path):
    # release_build made it (REVISION, venv -> ../../venvs/<key>) and the run stopped before the
    # switch (a failed migrate): it must never pass for a release of the older layout.
    path = build_tree(tmp_path / "prod", {D[1]: "good", D[2]: "empty"}, live=D[1])
    key = venvs.venv_key({"k": 1})
    (path / "venvs" / key / "bin").mkdir(parents=True)
    (path / "venvs" / key / "bin" / "python").write_text("")
    folder = path / "releases" / D[2]
    (folder / "REVISION").write_text(SHA + "\n")
    os.symlink(f"../../venvs/{key}", folder / "venv")
    assert records.read_release(str(folder), D[2]).state == UNFINISHED
    assert rp.rollback_target(releases_disk.scan(path).releases, D[3]) == D[1]


def test_scan_reads_states_from_records_not_from_what_lies_around(tmp_path):
    path = build_tree(tmp_path / "prod", {D[1]: "legacy", D[2]: "good", D[3]: "empty", D[4]: "bad",
                                          D[5]: "unfinished"}, live=D[2])
    found = {r.name: r.state for r in releases_disk.scan(path).releases}
    assert found == {D[1]: GOOD, D[2]: GOOD, D[3]: UNFINISHED, D[4]: BAD, D[5]: UNFINISHED}
    # The empty folder is never a rollback target, even as the newest one before live.
    assert rp.rollback_target(releases_disk.scan(path).releases, D[4]) == D[2]


def test_write_record_is_the_last_word(tmp_path):
    path = build_tree(tmp_path / "prod", {D[1]: "empty"})
    folder = path / "releases" / D[1]
    (folder / "REVISION").write_text(SHA + "\n")
    assert records.read_release(str(folder), D[1]).state == UNFINISHED
    records.write_record(str(folder), {"sha": SHA, "subject": "Fix"})
    release = records.read_release(str(folder), D[1])
    assert release.state == GOOD and release.record["subject"] == "Fix"
    assert not [n for n in os.listdir(folder) if ".tmp-" in n], "no temporary file left behind"


# --- a killed run's half-done switch ------------------------------------------------------------


def rel(*pairs):
    return [Release(D[n], state) for n, state in pairs]


@pytest.mark.parametrize("intent,live,expected", [
    # deploy killed after the switch: the earlier release comes back, the new one is marked bad
    ({"op": "deploy", "from": D[1], "to": D[2]}, D[2], (D[1], D[2])),
    # deploy killed before the switch: current is right; the built release is still never trusted
    ({"op": "deploy", "from": D[1], "to": D[2]}, D[1], (None, D[2])),
    # the first deploy: nothing to go back to, keep it (restarted and checked by the next run)
    ({"op": "deploy", "from": None, "to": D[2]}, D[2], (None, None)),
    # rollback killed after the switch: back to where it started, the target stays good, so the
    # next rollback lands on it again (not one further back)
    ({"op": "rollback", "from": D[2], "to": D[1]}, D[1], (D[2], None)),
    # the release it came from is gone or incomplete: leave current, mark nothing of a rollback
    ({"op": "rollback", "from": D[3], "to": D[1]}, D[1], (None, None)),
])
def test_recovery_undoes_the_half_done_switch(intent, live, expected):
    releases = rel((1, GOOD), (2, GOOD), (3, UNFINISHED))
    assert rp.plan_recovery(intent, releases, live) == expected


def test_recovery_then_rollback_lands_on_the_intended_release():
    releases = rel((1, GOOD), (2, GOOD), (3, GOOD))
    # A rollback from 3 to 2 was killed after switching: undo puts 3 back, the rollback goes to 2.
    restore, bad = rp.plan_recovery({"op": "rollback", "from": D[3], "to": D[2]}, releases, D[2])
    assert (restore, bad) == (D[3], None)
    assert rp.choose_rollback(releases, restore) == D[2]


def test_intent_record_round_trip(tmp_path):
    assert intent.read_intent(str(tmp_path)) is None
    intent.write_intent(str(tmp_path), "deploy", D[1], D[2], "switching", "run-1")
    record = intent.read_intent(str(tmp_path))
    assert (record["op"], record["from"], record["to"], record["run"]) == ("deploy", D[1], D[2], "run-1")
    assert intent.clear_intent(str(tmp_path)) and intent.read_intent(str(tmp_path)) is None


# --- the lock -------------------------------------------------------------------------------------


def test_the_lock_names_holder_purpose_and_true_age(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy r9", "run-a", now=1000)
    with pytest.raises(lock.LockHeld, match=r"alice, for deploy r9, taken 2 h 0 min ago.*deploy_break_lock=true"):
        lock.take_lock(str(tmp_path), "bob", "deploy r10", "run-b", now=1000 + 7200)
    assert lock.read_lock(str(tmp_path), now=1000 + 90)["age_seconds"] == 90


def test_only_the_run_that_took_the_lock_gives_it_back(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "deploy", "run-a")
    assert lock.give_lock(str(tmp_path), "run-b") is False and lock.read_lock(str(tmp_path))
    assert lock.give_lock(str(tmp_path), "run-a") is True and lock.read_lock(str(tmp_path)) is None


def test_breaking_a_stale_lock_reports_whose_it_was(tmp_path):
    lock.take_lock(str(tmp_path), "alice", "rollback", "run-a", now=0)
    broken = lock.take_lock(str(tmp_path), "bob", "deploy", "run-b", break_stale=True, now=600)
    assert (broken["holder"], broken["purpose"], broken["age_seconds"]) == ("alice", "rollback", 600)
    assert lock.read_lock(str(tmp_path))["holder"] == "bob"


def test_a_lock_of_the_older_format_still_has_an_age(tmp_path):
    os.mkdir(tmp_path / "deploy.lock")
    (tmp_path / "deploy.lock" / "holder").write_text("holder=alice purpose=deploy since=x epoch=100\n")
    info = lock.read_lock(str(tmp_path), now=160)
    assert (info["holder"], info["age_seconds"]) == ("alice", 60)


# --- shared entries --------------------------------------------------------------------------------


@pytest.mark.parametrize("dirs,files,templates,words", [
    ([""], [], [], "is empty"),
    (["."], [], [], "contains . or .."),
    (["media/../.."], [], [], "contains . or .."),
    (["/srv"], [], [], "is absolute"),
    (["media/"], [], [], "ends with /"),
    (["a//b"], [], [], "empty path part"),
    (["media"], ["media"], [], "listed twice"),
    (["media"], ["media/x.txt"], [], "lies inside 'media'"),
    ([], [], [{"path": "../secrets.py"}], "contains . or .."),
    (["venv"], [], [], "a part of the release the deploy owns"),
    (["media\nx"], [], [], "line break"),
])
def test_shared_entries_that_could_escape_or_clash_are_refused(dirs, files, templates, words):
    with pytest.raises(rp.ReleaseError, match="Nothing was changed") as error:
        shared_entries.check_shared(dirs, files, templates)
    assert words in str(error.value)


def test_good_shared_entries_come_back_in_link_order():
    assert shared_entries.check_shared(["media", "data"], ["db.sqlite3"], [{"path": "hknweb/settings/secrets.py"}]) == [
        "media", "data", "db.sqlite3", "hknweb/settings/secrets.py"]


# --- venvs ---------------------------------------------------------------------------------------------


def test_venv_keys_are_stable_short_and_differ_by_any_part():
    one = venvs.venv_key({"strategy": "pip", "dependencies": ("a",), "python": "/usr/bin/python3.11"})
    assert venvs.is_venv_key(one) and one == venvs.venv_key({"python": "/usr/bin/python3.11", "dependencies": ("a",),
                                                       "strategy": "pip"})
    assert one != venvs.venv_key({"strategy": "pip", "dependencies": ("b",), "python": "/usr/bin/python3.11"})


def test_prune_removes_releases_and_the_venvs_no_kept_release_uses(tmp_path):
    path = build_tree(tmp_path / "prod", {D[n]: "good" for n in range(1, 5)}, live=D[4])
    keys = {n: venvs.venv_key({"n": n}) for n in range(1, 5)}
    for n, key in keys.items():
        (path / "venvs" / key).mkdir(parents=True)
        (path / "venvs" / key / ".complete").write_text("")
        os.symlink(f"../../venvs/{key}", path / "releases" / D[n] / "venv")
    (path / "venvs" / "half-built").mkdir()  # not a key: never touched
    plan, removed, removed_venvs, before = prune_.prune(str(path), 2)
    assert removed == [D[1], D[2]] and survivors(path) == [D[3], D[4]]
    assert removed_venvs == sorted([keys[1], keys[2]])
    assert sorted(os.listdir(path / "venvs")) == sorted([keys[3], keys[4], "half-built"])
    assert venvs.venv_keys(str(path), complete_only=True) == sorted([keys[3], keys[4]])


def test_prune_in_check_mode_names_what_it_would_remove_and_removes_nothing(tmp_path):
    path = build_tree(tmp_path / "prod", {D[n]: "good" for n in range(1, 5)}, live=D[4])
    _, removed, _, _ = prune_.prune(str(path), 1, check_mode=True)
    assert removed == [D[1], D[2]] and len(survivors(path)) == 4


# --- revisions.log --------------------------------------------------------------------------------------


def test_a_log_line_cannot_be_split_or_extended_by_its_values(tmp_path):
    line = revlog.log_line("deploy", D[1], SHA, "feature\tx\nrollback", "al\nice", when="T")
    assert line.count("\t") == 5 and line.count("\n") == 1
    revlog.append_log(str(tmp_path), line)
    assert revlog.parse_revisions_log((tmp_path / "revisions.log").read_text())[D[1]]["ref"] == "feature x rollback"
    assert revlog.log_tail(str(tmp_path)) == [line.rstrip("\n")]


# --- secrets out of messages -------------------------------------------------------------------------------


def test_credentials_are_cut_out_of_urls_and_errors():
    text = "fatal: unable to access 'https://hkn:TOKEN@github.com/compserv/hknweb.git/': 403"
    assert redact_url(text) == "fatal: unable to access 'https://***@github.com/compserv/hknweb.git/': 403"
    assert tail("a\n\nb\nc\n", 2) == "b\nc"


# --- what a run says -----------------------------------------------------------------------------------


BEGIN = {"sha": SHA, "subject": "Fix the footer", "needed": True, "shared_changed": [],
         "live": {"name": D[1], "revision": "1" * 40, "subject": "Old", "ref": "master"},
         "releases": [{"name": D[1], "revision": "1" * 40, "subject": "Old", "ref": "master"}]}
ACTIVATE = {"live": D[2], "previous": D[1], "health": {"detail": "GET / answered 200"}, "restarted": True,
            "restart_reasons": [f"{D[2]} goes live"], "removed": [D[1]], "removed_venvs": []}


def test_the_summary_says_what_is_live_where_and_what_changed():
    out, lines = story.summary({"action": "deploy", "environment": "prod", "host": "h", "begin": BEGIN,
                                "activate": ACTIVATE, "release": D[2], "ref": "master", "deployer": "alice",
                                "bind": "unix:/srv/apps/hkn/hkn.sock", "seconds": 4.2})
    assert (out["release"], out["commit"], out["subject"], out["previous"]) == (D[2], SHA, "Fix the footer", D[1])
    assert (out["served_at"], out["pruned"], out["result"]) == ("socket /srv/apps/hkn/hkn.sock", [D[1]], "ok")
    text = "\n".join(lines)
    assert f'{SHA[:12]} "Fix the footer"' in text and "pruned:    " + D[1] in text and "by:        alice" in text
    json.dumps(out)  # a JSON line


def test_the_summary_says_which_django_steps_ran_skipped_and_what_was_created():
    begin = dict(BEGIN, shared_created=["db.sqlite3"], shared_changed=["~/.my.cnf"])
    out, lines = story.summary({"action": "deploy", "environment": "test", "host": "h", "begin": begin,
                                "activate": ACTIVATE, "release": D[2], "django": [
                                    {"command": "migrate --noinput", "changed": True},
                                    {"command": "collectstatic --noinput", "changed": False,
                                     "skipped": "the settings have no STATIC_ROOT"}]})
    text = "\n".join(lines)
    assert "django:    migrate --noinput (changed); collectstatic --noinput skipped (the settings have no STATIC_ROOT)" in text
    assert "shared files created empty: db.sqlite3" in text and "shared files written: ~/.my.cnf" in text
    assert out["shared_created"] == ["db.sqlite3"]
    assert "shared files created empty: db.sqlite3" in story.begin_story(begin, "deploy")


@pytest.mark.parametrize("plan,words", [
    ({"reused": True, "key": "ad0c8abd8da5ce0f"}, "venv ad0c8abd8da5ce0f exists: no installer runs"),
    ({"reused": False, "key": "0123456789abcdef"}, "new dependency set: venv 0123456789abcdef is built next"),
    ({"reused": False, "key": ""}, "the venv is planned once the commit is fetched"),
])
def test_the_python_line_says_interpreter_range_installer_and_venv(plan, words):
    plan = dict(plan, python="3.9.2", executable="/usr/bin/python3.9", strategy="poetry",
                strategy_reason="the commit has poetry.lock", requires_python=[])
    line = story.python_line(plan)
    assert line.startswith("Python 3.9.2 (/usr/bin/python3.9); no declared range; install with poetry "
                           "(the commit has poetry.lock); "), line
    assert words in line, line
    assert "; >=3.9,<3.10;" in story.python_line(dict(plan, requires_python=[">=3.9,<3.10"]))
    assert story.python_line({"failed": True}) == "no Python plan"


def test_a_failure_ends_with_stage_cause_what_is_live_and_the_next_command():
    data = {"action": "deploy", "environment": "prod", "begin": BEGIN, "failed": True, "stage": "django",
            "cause": "manage.py migrate --noinput failed (exit 1); its last lines:\nRuntimeError: boom",
            "hints": [{"match": "migrate", "say": "look at the migration"}, {"match": "nope", "say": "never"}]}
    data["seen"] = {"deploy_path": "/p", "live": D[1], "releases": BEGIN["releases"],
                    "service": {"runs": D[1], "health_status": 200, "health": "GET / answered 200"}}
    message, out, _ = story.failure_ending(data)
    assert "failed at stage 'django'" in message and "RuntimeError: boom" in message
    assert f"Live now: {D[1]} ({'1' * 12}" in message and "Next: " + D[1] + " serves, as before this run" in message
    assert "Hint: look at the migration" in message and "never" not in message
    assert out["result"] == "failed"


def test_a_failed_batch_of_a_rolling_run_names_the_hosts_it_leaves_alone():
    data = {"action": "deploy", "environment": "prod", "begin": BEGIN, "failed": True, "stage": "health check",
            "cause": "boom", "batch": ["web-1"], "play_hosts": ["web-1", "web-2", "web-3"]}
    message, _, _ = story.failure_ending(data)
    assert "Not deployed: web-2, web-3 (a failed batch stops the later ones)" in message
    message, _, _ = story.failure_ending(dict(data, batch=["web-1", "web-2"]))
    assert "Not deployed: web-3 (when every host of this batch, web-1, web-2, fails; else they go on)" in message
    message, _, _ = story.failure_ending(dict(data, batch=["web-3"]))
    assert "Not deployed" not in message


def test_the_listing_has_headers_and_marks_live_and_target():
    info = {"deploy_path": "/p", "releases": [
        {"name": D[1], "state": "good", "live": False, "rollback_target": True, "revision": SHA, "subject": "A"},
        {"name": D[2], "state": "good", "live": True, "rollback_target": False, "revision": SHA, "ref": "main"}]}
    lines = report_lines.releases_table(info)
    assert lines[1].split() == ["RELEASE", "STATE", "COMMIT", "REF", "BY", "TIME", "SUBJECT"]
    assert lines[2].startswith(D[2]) and "good LIVE" in lines[2] and "<-back" in lines[3]


def test_status_shows_a_service_running_something_else_and_the_lock_age():
    info = {"deploy_path": "/p", "live": D[2], "rollback_target": None, "releases": BEGIN["releases"] + [
        {"name": D[2], "revision": SHA, "subject": "New"}], "lock": {"holder": "bob", "purpose": "deploy",
                                                                     "age_seconds": 3 * 86400},
            "service": {"active": "active", "sub": "running", "pid": 7, "runs": D[1]}, "log_tail": ["a\tb"]}
    text = "\n".join(report_lines.status_lines(info, "prod"))
    assert "NOT the live release" in text and "held by bob for deploy, taken 3 days ago" in text


def test_shared_files_created_empty_are_linked_like_files_and_checked_alike():
    assert shared_entries.check_shared(["media"], ["secrets.env"], [{"path": "s.py"}], ["db.sqlite3"]) == [
        "media", "secrets.env", "db.sqlite3", "s.py"]
    with pytest.raises(rp.ReleaseError, match="deploy_shared_files_create entry '../db' contains . or .."):
        shared_entries.check_shared([], [], [], ["../db"])
    with pytest.raises(rp.ReleaseError, match="listed twice"):
        shared_entries.check_shared([], ["db.sqlite3"], [], ["db.sqlite3"])


@pytest.mark.parametrize("path,words", [
    ("", "is empty"), ("/etc/passwd", "is absolute"), ("~/.my.cnf", "is absolute"),
    ("../x", "contains . or .."), ("a/./b", "contains . or .."), (".my.cnf\n", "line break"),
    (".config/", "ends with /"),
])
def test_home_templates_stay_plain_paths_under_the_home(path, words):
    with pytest.raises(rp.ReleaseError, match="Nothing was changed") as error:
        shared_entries.check_home_templates([{"path": path, "content": "x"}])
    assert "deploy_home_templates entry" in str(error.value) and words in str(error.value)


def test_home_templates_refuse_a_path_twice_and_return_good_ones():
    paths = [{"path": ".my.cnf"}, {"path": ".config/app/env"}]
    assert shared_entries.check_home_templates(paths) == [".my.cnf", ".config/app/env"]
    with pytest.raises(rp.ReleaseError, match="twice"):
        shared_entries.check_home_templates([{"path": ".my.cnf"}, {"path": ".my.cnf"}])


def test_service_files_rendered_before_the_home_is_known_carry_the_mark_the_engine_replaces():
    from ansible_collections.hknweb.deploy.plugins.filter.paths import home_marked
    assert home_marked("~/hknweb/prod") == layout.HOME_MARK + "/hknweb/prod"
    assert home_marked("~") == layout.HOME_MARK
    assert home_marked("/srv/hknweb/prod") == "/srv/hknweb/prod" and home_marked("~bob/x") == "~bob/x"
