"""Property tests of the prune invariants, on generated release sets."""

import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import build_tree, survivors

from ansible_collections.hknweb.deploy.plugins.module_utils import release_policy as rp
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils import releases_disk
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import BAD, GOOD, UNFINISHED, Release

# No example database: it would leave a .hypothesis/ folder in the repository.
settings.register_profile("hknweb", database=None)
settings.load_profile("hknweb")

STATES = st.sampled_from([GOOD, GOOD, GOOD, BAD, UNFINISHED])  # mostly good, like real life
# Names a release folder could be confused with: none of them may ever be planned.
JUNK = st.sampled_from(["latest", "20260101T000000z", "20260101T000000Z.old", "2026", "", "README"])


EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def name_of(hour):
    return layout.release_name_for(EPOCH + timedelta(hours=hour))


@st.composite
def scenarios(draw):
    hours = draw(st.lists(st.integers(0, 5000), unique=True, max_size=25))
    releases = [Release(name_of(h), draw(STATES)) for h in hours]
    live = draw(st.one_of(st.none(), st.sampled_from([r.name for r in releases]))) if releases else None
    keep = draw(st.integers(1, 8))
    junk = [Release(name) for name in draw(st.lists(JUNK, unique=True, max_size=3))]
    return releases, junk, live, keep


def protected(releases, live):
    return {n for n in (live, rp.rollback_target(releases, live)) if n}


@given(scenarios())
def test_live_and_rollback_target_always_kept(scenario):
    releases, junk, live, keep = scenario
    plan = rp.plan_prune(releases + junk, live, keep)
    assert protected(releases, live) <= set(plan.keep)
    assert not protected(releases, live) & set(plan.remove)


@given(scenarios())
def test_non_release_entries_never_planned(scenario):
    releases, junk, live, keep = scenario
    plan = rp.plan_prune(releases + junk, live, keep)
    planned = set(plan.keep) | set(plan.remove) | set(plan.reasons)
    assert not planned & {j.name for j in junk}


@given(scenarios())
def test_keep_and_remove_partition_all_releases(scenario):
    releases, junk, live, keep = scenario
    plan = rp.plan_prune(releases + junk, live, keep)
    assert set(plan.keep) | set(plan.remove) == {r.name for r in releases}
    assert not set(plan.keep) & set(plan.remove)
    assert plan.keep == sorted(plan.keep) and plan.remove == sorted(plan.remove)


@given(scenarios())
def test_kept_good_count(scenario):
    releases, junk, live, keep = scenario
    plan = rp.plan_prune(releases, live, keep)
    good = sorted(r.name for r in releases if r.state == GOOD)
    newest = set(good[-keep:])
    extra = {n for n in protected(releases, live) if n not in newest}
    kept_good = [n for n in plan.keep if n in good]
    assert len(kept_good) == min(keep, len(good)) + len(extra & set(good))
    # Bad and unfinished ones survive only when protected.
    assert {n for n in plan.keep if n not in good} <= protected(releases, live)


@given(scenarios(), st.randoms(use_true_random=False))
def test_result_independent_of_input_order(scenario, rnd):
    releases, junk, live, keep = scenario
    shuffled = releases + junk
    rnd.shuffle(shuffled)
    assert rp.plan_prune(shuffled, live, keep) == rp.plan_prune(releases + junk, live, keep)


@given(scenarios())
def test_never_removes_newer_good_while_keeping_older_unprotected_good(scenario):
    releases, junk, live, keep = scenario
    plan = rp.plan_prune(releases, live, keep)
    state = {r.name: r.state for r in releases}
    kept_plain = [n for n in plan.keep if state[n] == GOOD and n not in protected(releases, live)]
    removed_good = [n for n in plan.remove if state[n] == GOOD]
    assert all(removed < kept for removed in removed_good for kept in kept_plain)


@settings(database=None, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios())
def test_on_disk_prune_matches_plan_and_spares_symlinks(tmp_path_factory, scenario):
    """The same invariants through scan + remove, with release-shaped symlinks planted."""
    releases, junk, live, keep = scenario
    path = tmp_path_factory.mktemp("prod")
    build_tree(path, {r.name: r.state for r in releases}, live)
    decoy = name_of(9999)  # release-shaped, newer than any generated name
    os.symlink(os.path.join("..", "..", "precious"), path / "releases" / decoy)
    os.mkdir(path / "precious")
    inv = releases_disk.scan(path)
    plan = rp.plan_prune(inv.releases, inv.require_live(), keep)
    for name in plan.remove:
        releases_disk.remove_release(path / "releases" / name)
    assert survivors(path) == sorted(plan.keep + [decoy])
    assert (path / "precious").is_dir()
