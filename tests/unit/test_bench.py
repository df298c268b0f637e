"""bench/: where a run's time went (phases.split from a recorded timeline) and the many-hosts
inventory and rows of run_bench.py."""

import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "bench"))

import phases  # noqa: E402
import run_bench  # noqa: E402

# A rollback as host_calls recorded it (times relative to the launch at 100.0).
ROLLBACK = {"timeline": [
    {"task": "Name the run", "kind": "controller", "start": 100.60, "end": 100.63},
    {"task": "Say which inventory", "kind": "controller", "start": 100.64, "end": 100.69},
    {"task": "Check the deploy knobs", "kind": "controller", "start": 100.70, "end": 100.80},
    {"task": "Roll back", "kind": "calls", "start": 100.82, "end": 101.82},
    {"task": "Read what the host runs", "kind": "skipped", "start": 101.83, "end": 101.85},
    {"task": "Summary", "kind": "controller", "start": 101.86, "end": 101.94},
]}


def test_phases_of_a_rollback_add_up_to_its_wall_time():
    got = phases.split(100.0, 102.15, ROLLBACK)
    assert got["start"] == pytest.approx(0.60)
    assert got["controller"] == pytest.approx(0.03 + 0.05 + 0.10 + 0.02 + 0.08)
    assert got["host"] == pytest.approx(1.00)
    assert got["between"] == pytest.approx(0.01 * 4 + 0.02)
    assert got["end"] == pytest.approx(0.21)
    assert sum(got.values()) == pytest.approx(2.15)


def test_a_timeline_out_of_order_is_sorted_and_a_missing_one_is_all_start():
    shuffled = {"timeline": list(reversed(ROLLBACK["timeline"]))}
    assert phases.split(100.0, 102.15, shuffled) == pytest.approx(phases.split(100.0, 102.15, ROLLBACK))
    # An older host_calls (no timeline) or a playbook that failed before its first task.
    assert phases.split(5.0, 6.5, {"hosts": {}}) == {"start": 1.5, "controller": 0.0, "host": 0.0,
                                                      "between": 0.0, "end": 0.0}


def test_slowest_tasks_longest_first():
    assert [name for _, _, name in phases.slowest(ROLLBACK, 2)] == ["Roll back", "Check the deploy knobs"]


def test_many_hosts_inventory_has_n_prod_hosts_each_on_its_own_port(tmp_path):
    subject = run_bench.Subject("current", REPO_ROOT, "abc1234", tmp_path, prefix="hk-x")
    assert subject.container == "hk-x-current"
    path = run_bench.write_inventory(subject, tmp_path / "key", [2201, 2202, 2203], name="inventory-3")
    inventory = json.loads(path.read_text())
    hosts = inventory["all"]["children"]["prod"]["hosts"]
    assert hosts == {"hknweb-prod-1": {"ansible_port": 2201}, "hknweb-prod-2": {"ansible_port": 2202},
                     "hknweb-prod-3": {"ansible_port": 2203}}
    assert list(inventory["all"]["children"]) == ["prod"]
    assert "ansible_port" not in inventory["all"]["vars"]
    assert inventory["all"]["vars"]["ansible_ssh_private_key_file"] == str(tmp_path / "key")
    # Every alias reads prod's host_vars, and the checkout's group_vars.
    for alias in hosts:
        assert (path.parent / "host_vars" / alias).resolve() == REPO_ROOT / "molecule/shared/host_vars/hknweb-prod"
    assert (path.parent / "group_vars").resolve() == REPO_ROOT / "group_vars"


def test_single_host_inventory_keeps_prod_and_test_on_one_port(tmp_path):
    subject = run_bench.Subject("baseline", REPO_ROOT, "abc1234", tmp_path)
    subject.port = 2222
    run_bench.write_inventory(subject, tmp_path / "key")
    inventory = json.loads(subject.inventory.read_text())
    assert inventory["all"]["vars"]["ansible_port"] == 2222
    assert inventory["all"]["children"] == {"prod": {"hosts": {"hknweb-prod": None}},
                                            "test": {"hosts": {"hknweb-test": None}}}


def test_many_hosts_rows_are_code_only_on_every_host_they_target():
    """Each row deploys a ref no host it targets runs, run after run (4 rows, a cycle of 4 refs)."""
    live = dict.fromkeys(range(1, 6), "r1")  # the set-up deploy
    for _ in range(3):
        for (_, size, _), ref in zip(run_bench.MANY_ROWS, run_bench.MANY_REFS, strict=True):
            targets = range(1, size + 1)
            assert all(live[h] != ref for h in targets), (ref, live)
            live.update(dict.fromkeys(targets, ref))


def test_many_hosts_arguments_forks_at_least_the_hosts_and_a_batch_of_one_when_rolling():
    assert run_bench.many_args(1, False, "r2") == ["-f", "5", "-e", "revision=r2"]
    assert run_bench.many_args(8, True, "r3") == ["-f", "8", "-e", "revision=r3", "-e", "deploy_batch=1"]


def test_rows_left_out_are_not_in_the_table(tmp_path):
    subject = run_bench.Subject("current", REPO_ROOT, "abc1234", tmp_path)
    subject.add("many-5", {"ok": True, "seconds": 9.0, "calls": 20, "phase_host": 6.0, "phase_controller": 1.0})
    text = run_bench.table([subject])
    assert "code-only deploy, 5 hosts" in text and "6.00 s" in text
    assert "rollback" not in text and "first deploy" not in text


def test_rollback_phases_are_rows_with_ratios_and_the_notes_say_where_time_went(tmp_path):
    current = run_bench.Subject("current", REPO_ROOT, "abc1234", tmp_path)
    baseline = run_bench.Subject("baseline", REPO_ROOT, "2464eb0", tmp_path)
    for subject, scale in ((current, 1.0), (baseline, 2.0)):
        split = phases.split(100.0, 102.15, ROLLBACK)
        subject.add("rollback", {"ok": True, "seconds": 2.15 * scale, "calls": 1,
                                 "slowest": phases.slowest(ROLLBACK),
                                 **{f"phase_{k}": v * scale for k, v in split.items()}})
    lines = run_bench.table([current, baseline]).splitlines()
    host_row = next(line for line in lines if line.strip().startswith("host calls"))
    assert "1.00 s" in host_row and "2.00 s" in host_row and host_row.rstrip().endswith("0.50")
    assert [line[2:].split("  ")[0] for line in lines if line.startswith("  ")] == [
        phases.LABELS[k] for k in phases.PHASES]
    notes = run_bench.scaling_notes(current)
    assert notes == ["current, rollback, slowest tasks of the last run: Roll back 1.00 s (calls); "
                     "Check the deploy knobs 0.10 s (controller); Summary 0.08 s (controller); "
                     "Say which inventory 0.05 s (controller); Name the run 0.03 s (controller)"]


def test_five_hosts_against_one_in_the_notes(tmp_path):
    subject = run_bench.Subject("current", REPO_ROOT, "abc1234", tmp_path)
    for seconds in (4.0, 5.0, 4.5):
        subject.add("many-1", {"ok": True, "seconds": seconds, "calls": 4})
    subject.add("many-5", {"ok": True, "seconds": 9.9, "calls": 20})
    subject.add("many-5", {"ok": False, "seconds": 1.0, "calls": None, "error": "x"})
    assert run_bench.scaling_notes(subject) == ["current: 5 hosts / 1 host = 2.20 (code-only deploy, medians)"]


def test_floor_rows_follow_the_rollback_and_the_notes_give_the_rollback_above_the_one_call_floor(tmp_path):
    subject = run_bench.Subject("current", REPO_ROOT, "abc1234", tmp_path)
    subject.add("rollback", {"ok": True, "seconds": 2.7, "calls": 1})
    for seconds in (1.1, 1.3, 1.2):
        subject.add("floor-one", {"ok": True, "seconds": seconds, "calls": 1})
    subject.add("floor-none", {"ok": True, "seconds": 0.8, "calls": 0})
    labels = [line.split("  ")[0] for line in run_bench.table([subject]).splitlines()[2:] if line[:1] != " "]
    assert labels == ["rollback", "floor: ansible-playbook, no task", "floor: ansible-playbook, one module call (ping)"]
    assert run_bench.scaling_notes(subject)[0].startswith("current: rollback - one-call floor = 1.50 s (medians)")
    # The playbooks the rows run exist and make the calls the rows say (none, one ping).
    books = {key: (REPO_ROOT / "bench" / name).read_text() for key, name in run_bench.FLOORS}
    assert "tasks: []" in books["floor-none"] and books["floor-one"].count("ansible.builtin.ping") == 1
