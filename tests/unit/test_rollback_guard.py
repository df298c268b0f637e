"""rollback_guard: a plain rollback after a completed rollback stays, after a deploy that never went
live it is refused; a named release or the word always goes (issue 18 item 7)."""
from ansible_collections.hknweb.deploy.plugins.module_utils import rollback_guard as guard
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import Release

A, B, C, D = "20261201T100000Z", "20261202T100000Z", "20261203T100000Z", "20261204T100000Z"


def log(*lines):
    return "".join("\t".join(fields) + "\n" for fields in lines)


def rel(name, state="good"):
    return Release(name=name, state=state, revision="x" + name, record={}, venv=None)


DEPLOYED = log(("2026-12-01T10:00:30Z", "deploy", A, "a", "r1", "ann"),
               ("2026-12-02T10:00:30Z", "deploy", B, "b", "r2", "ann"),
               ("2026-12-03T10:00:30Z", "deploy", C, "c", "r3", "ann"))
ROLLED = DEPLOYED + log(("2026-12-03T11:00:00Z", "rollback", B, "b", "r2", "bob"))


def judge(text, releases, live, **kw):
    live_good = next((r.state == "good" for r in releases if r.name == live), False)
    return guard.judge(releases, live, live_good, guard.events(text), **kw)


def test_after_plain_deploys_a_rollback_goes():
    assert judge(DEPLOYED, [rel(A), rel(B), rel(C)], C) is None


def test_the_rerun_of_a_completed_rollback_stays_and_says_when_and_by_whom():
    verdict = judge(ROLLED, [rel(A), rel(B), rel(C, "bad")], B)
    assert verdict.action == "stay" and verdict.case == "rollback completed"
    assert "2026-12-03T11:00:00Z" in verdict.why and "bob" in verdict.why and B in verdict.why
    assert guard.WORD in verdict.why


def test_the_word_or_a_name_goes_one_further():
    releases = [rel(A), rel(B), rel(C, "bad")]
    assert judge(ROLLED, releases, B, anyway=True) is None
    assert judge(ROLLED, releases, B, requested=A) is None


def test_a_rollback_target_that_is_not_live_any_more_goes():
    # the rollback's target is no longer what current names (someone switched since): nothing repeated
    assert judge(ROLLED, [rel(A), rel(B), rel(C)], C) is None
    # the release it put live is bad now (marked by hand): going back is what is wanted
    assert judge(ROLLED, [rel(A), rel(B, "bad"), rel(C, "bad")], B) is None


def test_a_deploy_killed_before_its_switch_is_refused_naming_the_live_release():
    verdict = judge(DEPLOYED, [rel(A), rel(B), rel(C), rel(D, "unfinished")], C)
    assert verdict.action == "refuse" and verdict.case == "deploy never live"
    assert D in verdict.why and "%s has served all along (live since 2026-12-03T10:00:30Z)" % C in verdict.why
    assert "Nothing was changed" in verdict.why and guard.WORD in verdict.why
    assert judge(DEPLOYED, [rel(A), rel(B), rel(C), rel(D, "unfinished")], C, anyway=True) is None


def test_a_deploy_refused_by_its_trial_run_is_a_deploy_that_never_went_live():
    # marked bad, never in the log (no switch): the same refusal
    verdict = judge(DEPLOYED, [rel(A), rel(B), rel(C), rel(D, "bad")], C)
    assert verdict and verdict.case == "deploy never live"


def test_an_unfinished_release_older_than_the_last_event_is_history_not_the_last_run():
    text = DEPLOYED + log(("2026-12-04T12:00:00Z", "deploy", C, "c", "r3", "ann"))
    assert judge(text, [rel(A), rel(B), rel(C), rel(D, "unfinished")], C) is None


def test_a_release_left_newer_by_a_rollback_is_not_a_never_live_deploy():
    # after the rollback to B, C is newer than live and was live once: the log says so
    verdict = judge(ROLLED, [rel(A), rel(B), rel(C, "bad")], B, anyway=True)
    assert verdict is None
    assert guard.unswitched_deploy([rel(A), rel(B), rel(C, "bad")], B, guard.events(ROLLED)) is None


def test_without_a_log_only_unfinished_releases_count():
    assert judge("", [rel(A), rel(B), rel(C)], B) is None
    assert judge("", [rel(A), rel(B), rel(C, "unfinished")], B).case == "deploy never live"


def test_the_dead_lock_of_a_deploy_killed_before_it_made_a_release():
    lock = {"purpose": "deploy r4", "holder": "ann", "since": "2026-12-04T09:00:00Z"}
    releases = [rel(A), rel(B), rel(C)]
    dead = judge(DEPLOYED, releases, C, lock=lock, lock_alive=False)
    assert dead.action == "refuse" and "deploy r4" in dead.why
    # a live run's lock: left to the lock's own refusal ("wait for it")
    assert judge(DEPLOYED, releases, C, lock=lock, lock_alive=True) is None
    # a dead rollback's lock, or a lock older than the last event, says nothing of a deploy
    assert judge(DEPLOYED, releases, C, lock=dict(lock, purpose="rollback "), lock_alive=False) is None
    assert judge(DEPLOYED, releases, C, lock=dict(lock, since="2026-12-01T00:00:00Z"), lock_alive=False) is None


def test_a_deploy_reverted_by_its_own_health_check_is_refused_but_a_reverted_rollback_goes():
    reverted = DEPLOYED + log(("2026-12-04T10:01:00Z", "deploy", D, "d", "r4", "ann"),
                              ("2026-12-04T10:01:09Z", "revert", C, "", "", "ann"))
    verdict = judge(reverted, [rel(A), rel(B), rel(C), rel(D, "bad")], C)
    assert verdict.action == "refuse" and verdict.case == "deploy reverted" and D in verdict.why
    failed_rollback = DEPLOYED + log(("2026-12-04T10:01:00Z", "rollback", B, "b", "r2", "ann"),
                                     ("2026-12-04T10:01:09Z", "revert", C, "", "", "ann"))
    assert judge(failed_rollback, [rel(A), rel(B, "bad"), rel(C)], C) is None


def test_after_undoing_an_interrupted_deploy_the_rollback_stays_but_an_interrupted_rollback_goes_on():
    stay = guard.after_recovery({"op": "deploy", "from": C, "to": D})
    assert stay.action == "stay" and C in stay.why and D in stay.why
    assert guard.after_recovery({"op": "rollback", "from": C, "to": B}) is None
    assert guard.after_recovery({"op": "deploy", "from": C, "to": D}, anyway=True) is None
    assert guard.after_recovery({"op": "deploy", "from": C, "to": D}, requested=B) is None


def test_lines_that_do_not_parse_are_skipped():
    text = "garbage\n\n" + ROLLED + "2026-12-05T00:00:00Z\tnote\n"
    assert [e.kind for e in guard.events(text)] == ["deploy", "deploy", "deploy", "rollback"]
