"""Example-based tests of the release policy core: pure decisions first, then disk helpers."""

import os
from pathlib import Path

import pytest

from conftest import SHA, live_of, sha_for, survivors

from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils import records
from ansible_collections.hknweb.deploy.plugins.module_utils import releases_disk
from ansible_collections.hknweb.deploy.plugins.module_utils import revlog
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import (
    BAD,
    GOOD,
    UNFINISHED,
    Release,
    ReleaseError,
)

# Short aliases so the tables below stay readable: day N of 2026 at midnight.
D = {n: f"202601{n:02d}T000000Z" for n in range(1, 29)}


def rels(**states):
    """rels(d1=GOOD, d2=BAD) -> [Release(D[1], GOOD), Release(D[2], BAD)]"""
    return [Release(D[int(key[1:])], state) for key, state in states.items()]


# --- names and keep -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["20261125T110425Z", "19991231T235959Z"])
def test_release_names_recognised(name):
    assert layout.is_release_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "20261125T110425z",  # lower-case zone
        "20261125T110425Z\n",  # "$" would have accepted this
        "20261125T110425",
        "2026-11-25T11:04:25Z",
        "20261125T110425Z.old",
        "latest",
        "",
        None,
        20261125,
    ],
)
def test_names_not_recognised(name):
    assert not layout.is_release_name(name)


@pytest.mark.parametrize("value,expected", [(1, 1), (5, 5), ("3", 3), (" 2 ", 2), (100, 100)])
def test_keep_accepted(value, expected):
    assert rp.validate_keep(value) == expected


@pytest.mark.parametrize("value", [0, "0", -1, "-1", 2.5, "2.5", 2.0, "abc", "", True, False, None, [3]])
def test_keep_refused_with_the_fix(value):
    with pytest.raises(ReleaseError, match=r"keep must be a whole number of at least 1.*Set keep to 1 or more"):
        rp.validate_keep(value)


# --- rollback target and choice -------------------------------------------------------


@pytest.mark.parametrize(
    "releases,live,expected",
    [
        (rels(d1=GOOD, d2=GOOD, d3=GOOD), D[3], D[2]),
        (rels(d1=GOOD, d2=BAD, d3=GOOD), D[3], D[1]),  # skips the bad one
        (rels(d1=GOOD, d2=UNFINISHED, d3=GOOD), D[3], D[1]),  # and the unfinished one
        (rels(d1=GOOD, d2=GOOD, d3=GOOD), D[2], D[1]),  # newer releases do not matter
        (rels(d1=GOOD, d2=GOOD), D[1], None),  # live is the oldest
        (rels(d1=BAD, d2=GOOD), D[2], None),
        (rels(d1=GOOD), None, None),  # nothing live
        ([], None, None),
    ],
)
def test_rollback_target(releases, live, expected):
    assert rp.rollback_target(releases, live) == expected


def test_rollback_target_ignores_input_order():
    releases = rels(d3=GOOD, d1=GOOD, d2=GOOD)
    assert rp.rollback_target(releases, D[3]) == D[2]


def test_choose_rollback_defaults_to_rollback_target():
    assert rp.choose_rollback(rels(d1=GOOD, d2=GOOD, d3=GOOD), D[3]) == D[2]


@pytest.mark.parametrize("requested", [D[1], D[4], D[2]])  # older good, newer, bad
def test_choose_rollback_explicit_may_be_older_newer_or_bad(requested):
    releases = rels(d1=GOOD, d2=BAD, d3=GOOD, d4=GOOD)
    assert rp.choose_rollback(releases, D[3], requested) == requested


def commits(**revs):
    """commits(d1="a", d2="b") -> good releases running those commits."""
    return [rp.Release(D[int(k[1:])], GOOD, revision=v) for k, v in revs.items()]


@pytest.mark.parametrize("releases,live,expected", [
    (commits(d1="a", d2="b", d3="b"), D[3], D[1]),  # a deploy_force=true of the live commit is skipped
    (commits(d1="a", d2="a", d3="b", d4="b"), D[4], D[2]),  # the newest of another commit
    (commits(d1="a", d2="b", d3="a"), D[3], D[2]),  # only the live commit is skipped, not older repeats
    (commits(d1=None, d2=None), D[2], D[1]),  # unknown commits never count as the same
])
def test_rollback_never_lands_on_the_commit_it_leaves(releases, live, expected):
    assert rp.rollback_target(releases, live) == expected
    assert rp.choose_rollback(releases, live) == expected


def test_a_rollback_with_only_the_live_commit_behind_it_is_refused_naming_the_release_to_use():
    releases = commits(d1="b", d2="b", d3="b")
    with pytest.raises(ReleaseError, match=r"every good release older than the live release %s runs the same "
                                           r"commit .*Nothing was changed. To restart on that commit anyway: "
                                           r"-e release=%s" % (D[3], D[2])):
        rp.choose_rollback(releases, D[3])
    assert rp.rollback_target(releases, D[3]) is None


def test_a_release_of_the_live_commit_asked_for_by_name_is_honoured():
    assert rp.choose_rollback(commits(d1="a", d2="b", d3="b"), D[3], D[2]) == D[2]


def test_choose_rollback_explicit_live_is_returned_as_is():
    assert rp.choose_rollback(rels(d1=GOOD, d2=GOOD), D[2], D[2]) == D[2]


@pytest.mark.parametrize(
    "requested,message",
    [
        (D[9], r"'20260109T000000Z' is not a release in releases/\. Available: 20260101T000000Z, "
               r"20260102T000000Z, 20260104T000000Z"),
        ("latest", r"'latest' is not a release"),
        (D[3], r"release 20260103T000000Z is unfinished .*Available: 20260101T000000Z, 20260102T000000Z"),
    ],
)
def test_choose_rollback_explicit_refusals_list_available(requested, message):
    releases = rels(d1=GOOD, d2=BAD, d3=UNFINISHED, d4=GOOD)
    with pytest.raises(ReleaseError, match=message):
        rp.choose_rollback(releases, D[4], requested)


@pytest.mark.parametrize(
    "releases,live,message",
    [
        (rels(d1=GOOD), D[1], r"no good release older than the live release 20260101T000000Z"),
        (rels(d1=BAD, d2=GOOD), D[2], r"no good release older.*Available: 20260101T000000Z, 20260102T000000Z"),
        (rels(d1=GOOD), None, r"nothing is live"),
    ],
)
def test_choose_rollback_without_target_fails_clearly(releases, live, message):
    with pytest.raises(ReleaseError, match=message):
        rp.choose_rollback(releases, live)


# --- prune plan -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "case,releases,live,keep,removed",
    [
        ("live newest", rels(d1=GOOD, d2=GOOD, d3=GOOD, d4=GOOD), D[4], 2, [D[1], D[2]]),
        ("live oldest keeps live and the newest", rels(d1=GOOD, d2=GOOD, d3=GOOD), D[1], 1, [D[2]]),
        ("keep of 1 keeps live and rollback target",
         rels(d1=GOOD, d2=GOOD, d3=GOOD), D[3], 1, [D[1]]),
        ("bad do not count toward keep",
         rels(d1=GOOD, d2=GOOD, d3=GOOD, d4=BAD, d5=BAD), D[3], 2, [D[1], D[4], D[5]]),
        ("failed newest deploy does not push out the last good",
         rels(d1=GOOD, d2=GOOD, d3=UNFINISHED, d4=BAD), D[2], 1, [D[3], D[4]]),
        ("rollback target far back survives",
         rels(d1=GOOD, d2=BAD, d3=BAD, d4=GOOD, d5=GOOD), D[4], 1, [D[2], D[3]]),
        ("live after a rollback keeps newer good ones within keep",
         rels(d1=GOOD, d2=GOOD, d3=GOOD, d4=BAD), D[2], 2, [D[4]]),
        ("live bad is still kept", rels(d1=GOOD, d2=GOOD, d3=BAD), D[3], 1, [D[1]]),
        ("live unfinished is still kept", rels(d1=GOOD, d2=GOOD, d3=UNFINISHED), D[3], 1, [D[1]]),
        ("only bad and unfinished besides live", rels(d1=BAD, d2=UNFINISHED, d3=GOOD), D[3], 5, [D[1], D[2]]),
        ("keep larger than everything", rels(d1=GOOD, d2=GOOD), D[2], 10, []),
        ("no current: nothing live", rels(d1=GOOD, d2=GOOD, d3=GOOD, d4=BAD), None, 2, [D[1], D[4]]),
        ("empty", [], None, 3, []),
    ],
)
def test_plan_prune(case, releases, live, keep, removed):
    plan = rp.plan_prune(releases, live, keep)
    everything = sorted(r.name for r in releases)
    assert plan.remove == removed, case
    assert plan.keep == [n for n in everything if n not in removed], case
    assert set(plan.reasons) == set(everything)
    if live:
        assert live in plan.keep and plan.reasons[live].startswith("live")


def test_plan_prune_gives_reasons():
    plan = rp.plan_prune(rels(d1=GOOD, d2=GOOD, d3=UNFINISHED, d4=BAD, d5=GOOD, d6=GOOD), D[5], 1)
    assert plan.reasons == {
        D[1]: "older than the 1 newest good releases",
        D[2]: "rollback target (newest good release before the live one)",
        D[3]: "unfinished release; does not count toward keep",
        D[4]: "bad release; does not count toward keep",
        D[5]: "live (current points here)",
        D[6]: "one of the 1 newest good releases",
    }


def test_plan_prune_leaves_names_it_does_not_recognise_out():
    releases = rels(d1=GOOD, d2=GOOD) + [Release("latest"), Release("20260103T000000z")]
    plan = rp.plan_prune(releases, D[2], 1)
    assert plan.keep == [D[1], D[2]] and plan.remove == []
    assert "latest" not in plan.reasons


@pytest.mark.parametrize("live", [D[9], "../../etc", "latest"])
def test_plan_prune_refuses_a_live_release_it_does_not_know(live):
    with pytest.raises(ReleaseError, match="refusing to prune"):
        rp.plan_prune(rels(d1=GOOD, d2=GOOD), live, 1)


@pytest.mark.parametrize("keep", [0, -1, 2.5, "abc", True])
def test_plan_prune_validates_keep(keep):
    with pytest.raises(ReleaseError, match="keep must be"):
        rp.plan_prune(rels(d1=GOOD), D[1], keep)


def test_plan_prune_refuses_duplicates():
    with pytest.raises(ReleaseError, match="listed twice"):
        rp.plan_prune(rels(d1=GOOD) + rels(d1=BAD), None, 1)


# --- revisions.log --------------------------------------------------------------------


def test_parse_revisions_log_uses_last_deploy_line_and_skips_junk():
    text = "\n".join([
        f"2026-01-01T00:00:00Z\tdeploy\t{D[1]}\t{'a' * 40}\tmain\talice",
        f"2026-01-02T00:00:00Z\tdeploy\t{D[2]}\t{'b' * 40}\tmain\tbob",
        f"2026-01-03T00:00:00Z\trollback\t{D[1]}\t{'a' * 40}\tmain\tcarol",  # not a deploy
        f"2026-01-04T00:00:00Z\tdeploy\t{D[2]}\t{'c' * 40}\tv2\tdave\r",  # redeploy, CRLF
        "garbage without tabs",
        f"2026-01-05T00:00:00Z\tdeploy\t{D[3]}",  # cut short by a crash
        f"2026-01-06T00:00:00Z\tdeploy\tlatest\t{'d' * 40}\tmain\terin",  # not a release
        "",
        "\t\t\t\t\t",
    ])
    assert revlog.parse_revisions_log(text) == {
        D[1]: {"sha": "a" * 40, "ref": "main", "deployer": "alice", "time": "2026-01-01T00:00:00Z"},
        D[2]: {"sha": "c" * 40, "ref": "v2", "deployer": "dave", "time": "2026-01-04T00:00:00Z"},
    }


@pytest.mark.parametrize("text", ["", "\n\n", "no\ttabs\there", "\x00\x01"])
def test_parse_revisions_log_tolerates_empty_and_garbage(text):
    assert revlog.parse_revisions_log(text) == {}


# --- scan -----------------------------------------------------------------------------


def test_scan_reads_states_revision_live_and_log(deploy):
    path = deploy({D[1]: "good", D[2]: "bad", D[3]: "unfinished", D[4]: "both", D[5]: "good"}, live=D[5])
    (path / "revisions.log").write_text(f"2026-01-05T00:00:00Z\tdeploy\t{D[5]}\t{SHA}\tmain\talice\n")
    inv = releases_disk.scan(path)
    assert [(r.name, r.state) for r in inv.releases] == [
        (D[1], GOOD), (D[2], BAD), (D[3], UNFINISHED), (D[4], UNFINISHED), (D[5], GOOD)]
    assert [r.revision for r in inv.releases] == [sha_for(D[n]) for n in range(1, 6)]
    assert inv.live == D[5] and inv.current_problem is None and inv.current_target == f"releases/{D[5]}"
    assert inv.log[D[5]]["deployer"] == "alice"


def test_scan_ignores_entries_that_are_not_releases(deploy, tmp_path):
    path = deploy({D[1]: "good", D[2]: "good"}, live=D[2])
    releases = path / "releases"
    outside = tmp_path / "outside"
    outside.mkdir()
    (releases / "latest").mkdir()
    (releases / "notes.txt").write_text("x")
    (releases / D[3]).write_text("a plain file with a release-shaped name")
    os.symlink(outside, releases / D[4])  # release-shaped symlink to a folder outside
    os.symlink(D[1], releases / D[5])  # release-shaped symlink to a real release
    os.symlink("nowhere", releases / D[6])  # dangling
    inv = releases_disk.scan(path)
    assert inv.names() == [D[1], D[2]]
    assert list(inv.ignored) == sorted(["latest", "notes.txt", D[3], D[4], D[5], D[6]])


def test_scan_does_not_follow_a_symlinked_revision_or_marker(deploy, tmp_path):
    path = deploy({D[1]: "good"}, live=D[1])
    secret = tmp_path / "secret"
    secret.write_text("not a revision")
    release = path / "releases" / D[1]
    (release / "REVISION").unlink()
    os.symlink(secret, release / "REVISION")
    assert releases_disk.scan(path).releases[0].revision is None


@pytest.mark.parametrize(
    "link,problem",
    [
        ("/etc", r"current points to '/etc' which is not a release inside"),
        ("../elsewhere/releases/20260101T000000Z", r"which is not a release inside"),
        (f"releases/{D[9]}", r"which is not a release folder \(missing"),
        ("releases/latest", r"which is not a release inside"),
    ],
)
def test_scan_reports_current_that_is_not_a_release(deploy, link, problem):
    path = deploy({D[1]: "good"})
    os.symlink(link, path / "current")
    inv = releases_disk.scan(path)
    assert inv.live is None
    with pytest.raises(ReleaseError, match=problem):
        inv.require_live()


def test_scan_current_pointing_at_release_shaped_symlink_is_refused(deploy):
    path = deploy({D[1]: "good"})
    os.symlink(D[1], path / "releases" / D[2])
    os.symlink(f"releases/{D[2]}", path / "current")
    with pytest.raises(ReleaseError, match="not a release folder"):
        releases_disk.scan(path).require_live()


def test_scan_accepts_an_absolute_current_into_releases(deploy):
    path = deploy({D[1]: "good"})
    os.symlink(path / "releases" / D[1], path / "current")
    assert releases_disk.scan(path).require_live() == D[1]


def test_scan_without_current_or_releases(tmp_path):
    inv = releases_disk.scan(tmp_path)
    assert inv.releases == () and inv.live is None and inv.require_live() is None


def test_scan_current_real_directory(deploy):
    path = deploy({D[1]: "good"})
    (path / "current").mkdir()
    inv = releases_disk.scan(path)
    assert inv.current_kind == "directory"
    with pytest.raises(ReleaseError, match="is a real directory, not a symlink"):
        inv.require_live()


def test_scan_missing_deploy_path(tmp_path):
    with pytest.raises(ReleaseError, match="does not exist"):
        releases_disk.scan(tmp_path / "nope")


def test_scan_reads_the_tail_of_a_huge_log(deploy, monkeypatch):
    path = deploy({D[1]: "good"}, live=D[1])
    filler = "x" * 100 + "\n"
    with open(path / "revisions.log", "w") as log:
        log.write(filler * 50_000)  # about 5 MB, beyond what is read
        log.write(f"2026-01-01T00:00:00Z\tdeploy\t{D[1]}\t{SHA}\tmain\tlast\n")
    assert releases_disk.scan(path).log[D[1]]["deployer"] == "last"


# --- switching current ----------------------------------------------------------------


def test_switch_leaves_a_valid_relative_link(deploy):
    path = deploy({D[1]: "good", D[2]: "good"}, live=D[2])
    releases_disk.switch_current(path, D[1])
    assert live_of(path) == f"releases/{D[1]}"
    assert (path / "current" / "REVISION").read_text() == sha_for(D[1]) + "\n"
    assert sorted(os.listdir(path)) == ["current", "releases"]  # no temporary link left


def test_switch_creates_current_when_missing(deploy):
    path = deploy({D[1]: "good"})
    releases_disk.switch_current(path, D[1])
    assert live_of(path) == f"releases/{D[1]}"


def test_switch_never_leaves_a_moment_without_current(deploy, monkeypatch):
    path = deploy({D[1]: "good", D[2]: "good"}, live=D[2])
    current = str(path / "current")
    seen = []
    real_rename, real_unlink = os.rename, os.unlink

    def rename(src, dst):
        seen.append(("rename", os.path.lexists(current)))
        return real_rename(src, dst)

    def unlink(target, *args, **kwargs):
        assert str(target) != current, "current must be replaced, never unlinked"
        return real_unlink(target, *args, **kwargs)

    monkeypatch.setattr(releases_disk.os, "rename", rename)
    monkeypatch.setattr(releases_disk.os, "unlink", unlink)
    releases_disk.switch_current(path, D[1])
    assert seen == [("rename", True)]
    assert live_of(path) == f"releases/{D[1]}"


def test_switch_failure_leaves_current_and_no_temp_link(deploy, monkeypatch):
    path = deploy({D[1]: "good", D[2]: "good"}, live=D[2])

    def broken_rename(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(releases_disk.os, "rename", broken_rename)
    with pytest.raises(OSError, match="disk on fire"):
        releases_disk.switch_current(path, D[1])
    assert live_of(path) == f"releases/{D[2]}"
    assert sorted(os.listdir(path)) == ["current", "releases"]


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_switch_refuses_a_real_current(deploy, kind):
    path = deploy({D[1]: "good"})
    if kind == "directory":
        (path / "current").mkdir()
        (path / "current" / "keep-me").write_text("x")
    else:
        (path / "current").write_text("x")
    with pytest.raises(ReleaseError, match=f"is a real {kind}, not a symlink"):
        releases_disk.switch_current(path, D[1])
    assert not os.path.islink(path / "current")


@pytest.mark.parametrize("name", [D[9], "latest", "../releases/" + D[1]])
def test_switch_refuses_what_is_not_a_release_folder(deploy, name):
    path = deploy({D[1]: "good", D[2]: "good"}, live=D[2])
    with pytest.raises(ReleaseError):
        releases_disk.switch_current(path, name)
    assert live_of(path) == f"releases/{D[2]}"


def test_switch_refuses_a_release_shaped_symlink(deploy):
    path = deploy({D[1]: "good"}, live=D[1])
    os.symlink(D[1], path / "releases" / D[2])
    with pytest.raises(ReleaseError, match="not a release folder"):
        releases_disk.switch_current(path, D[2])


# --- rollback sequences on disk (the same calls the module makes) ---------------------


def rollback(path, reason="test"):
    inv = releases_disk.scan(path)
    live = inv.require_live()
    target = rp.choose_rollback(inv.releases, live)
    releases_disk.switch_current(path, target)
    records.clear_bad(path / "releases" / target)
    records.mark_bad(path / "releases" / live, reason)
    return target


def test_second_rollback_goes_one_further_back(deploy):
    path = deploy({D[1]: "good", D[2]: "good", D[3]: "good"}, live=D[3])
    assert rollback(path) == D[2]
    assert rollback(path) == D[1]
    states = {r.name: r.state for r in releases_disk.scan(path).releases}
    assert states == {D[1]: GOOD, D[2]: BAD, D[3]: BAD}  # the evidence is kept
    assert live_of(path) == f"releases/{D[1]}"
    with pytest.raises(ReleaseError, match="no good release older"):
        rollback(path)


def test_explicit_rollback_to_a_bad_release_clears_its_mark(deploy):
    path = deploy({D[1]: "good", D[2]: "bad", D[3]: "good"}, live=D[3])
    inv = releases_disk.scan(path)
    target = rp.choose_rollback(inv.releases, inv.live, D[2])
    releases_disk.switch_current(path, target)
    assert records.clear_bad(path / "releases" / D[2]) is True
    records.mark_bad(path / "releases" / D[3], "broken")
    inv = releases_disk.scan(path)
    assert inv.live == D[2] and inv.get(D[2]).state == GOOD and inv.get(D[3]).state == BAD


def test_mark_bad_writes_time_and_reason(deploy):
    path = deploy({D[1]: "good"})
    records.mark_bad(path / "releases" / D[1], "500s\nafter deploy", when="2026-11-25T11:04:25Z")
    text = (path / "releases" / D[1] / ".deploy-bad").read_text()
    assert text == "time: 2026-11-25T11:04:25Z\nreason: 500s after deploy\n"
    assert records.clear_bad(path / "releases" / D[1]) is True
    assert records.clear_bad(path / "releases" / D[1]) is False


def test_mark_bad_does_not_write_through_a_planted_symlink(deploy, tmp_path):
    path = deploy({D[1]: "good"})
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    os.symlink(victim, path / "releases" / D[1] / ".deploy-bad")
    with pytest.raises(OSError):
        records.mark_bad(path / "releases" / D[1], "x")
    assert victim.read_text() == "untouched"


# --- removing -------------------------------------------------------------------------


def test_remove_release_refuses_symlinks(deploy, tmp_path):
    path = deploy({D[1]: "good"})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("x")
    os.symlink(outside, path / "releases" / D[2])
    with pytest.raises(ReleaseError, match="is a symlink"):
        releases_disk.remove_release(path / "releases" / D[2])
    assert (outside / "precious").exists() and os.path.islink(path / "releases" / D[2])


def test_remove_release_retries_read_only_folders_without_following_links(deploy, tmp_path, monkeypatch):
    path = deploy({D[1]: "good"})
    release = path / "releases" / D[1]
    locked = release / "locked"
    locked.mkdir()
    (locked / "f").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    outside.chmod(0o500)
    os.symlink(outside, locked / "link")
    locked.chmod(0o500)
    # Root ignores permissions, so make the first attempt fail the way it would for a user.
    real_rmtree, calls = releases_disk.shutil.rmtree, []

    def rmtree(target, *args, **kwargs):
        calls.append(target)
        if len(calls) == 1:
            raise PermissionError(13, "Permission denied", str(locked / "f"))
        return real_rmtree(target, *args, **kwargs)

    monkeypatch.setattr(releases_disk.shutil, "rmtree", rmtree)
    releases_disk.remove_release(release)
    assert survivors(path) == [] and len(calls) == 2
    assert outside.is_dir() and (outside.stat().st_mode & 0o777) == 0o500  # link not followed


def test_prune_on_disk_touches_only_planned_releases(deploy, tmp_path):
    path = deploy({D[1]: "good", D[2]: "good", D[3]: "bad", D[4]: "good", D[5]: "unfinished"}, live=D[4])
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, path / "releases" / D[6])
    (path / "releases" / "README").write_text("hands off")
    inv = releases_disk.scan(path)
    plan = rp.plan_prune(inv.releases, inv.require_live(), 1)
    for name in plan.remove:
        releases_disk.remove_release(path / "releases" / name)
    assert survivors(path) == sorted([D[2], D[4], D[6], "README"])
    assert outside.is_dir() and Path(path / "releases" / D[6]).is_symlink()
