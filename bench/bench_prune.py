#!/usr/bin/env python3
"""Time pruning on 1,000 releases: the core in-process, a prune check as its own Python process,
(where the collection has a prune_releases module) a real `ansible localhost -m
hknweb.deploy.prune_releases --check`, and a real prune.

Run with the project's controller Python, for example:
    .venv/bin/python bench/bench_prune.py
Exits 1 if scan + plan takes more than 1 s (the budget for a prune step in a deploy).
Works with both release layouts of release_policy: releases marked finished by the absence of
.deploy-unfinished, and releases with a completion record plus venvs shared per dependency set
(prune.prune() then also removes the venvs no kept release uses).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = REPO_ROOT / "collections"
sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.hknweb.deploy.plugins.module_utils import layout, release_policy, releases_disk, venvs  # noqa: E402
from ansible_collections.hknweb.deploy.plugins.module_utils import prune as prune_  # noqa: E402

MODULE = COLLECTIONS / "ansible_collections/hknweb/deploy/plugins/modules/prune_releases.py"
RELEASES, KEEP, BUDGET_S, ROUNDS = 1000, 5, 1.0, 5
# Layout with completion records and venvs/<key> shared by the releases of one dependency set.
RECORDS = hasattr(layout, "COMPLETE_RECORD")
VENVS = hasattr(layout, "VENVS_DIR") and hasattr(layout, "VENV_LINK")
RELEASES_PER_VENV = 100


def build(root):
    """1,000 releases (every 50th bad, the newest unfinished), each with a REVISION and a few
    small files, plus entries that are not releases; `current` on the newest complete one."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    names = [layout.release_name_for(start + timedelta(hours=i)) for i in range(RELEASES)]
    releases = root / "releases"
    for i, name in enumerate(names):
        folder = releases / name
        (folder / "app").mkdir(parents=True)
        (folder / "REVISION").write_text("%040x\n" % i)
        (folder / "manage.py").write_text("print('hi')\n")
        (folder / "app" / "settings.py").write_text("DEBUG = False\n")
        if i % 50 == 7:
            (folder / ".deploy-bad").write_text("time: x\nreason: bench\n")
        if VENVS:
            key = "%016x" % (i // RELEASES_PER_VENV)
            venv = root / layout.VENVS_DIR / key
            if not venv.exists():
                (venv / "bin").mkdir(parents=True)
                (venv / "bin" / "python").write_text("")
            os.symlink(f"../../{layout.VENVS_DIR}/{key}", folder / layout.VENV_LINK)
        if RECORDS:
            (folder / layout.COMPLETE_RECORD).write_text(json.dumps({"revision": "%040x" % i, "name": name}) + "\n")
    (releases / names[-1] / ".deploy-unfinished").write_text("")
    (releases / "README").write_text("not a release\n")
    (releases / "old-layout").mkdir()
    os.symlink("../shared", releases / layout.release_name_for(start + timedelta(hours=RELEASES)))
    (root / "shared").mkdir()
    os.symlink(f"releases/{names[-2]}", root / "current")
    return names


def scan_and_plan(root):
    inventory = releases_disk.scan(root)
    return inventory, release_policy.plan_prune(inventory.releases, inventory.require_live(), KEEP)


def timed(func, *args):
    start = time.perf_counter()
    value = func(*args)
    return time.perf_counter() - start, value


def prune(root):
    """Exactly what the deploy does outside check mode: prune.prune(), the releases, then the venvs no
    kept release uses."""
    return len(prune_.prune(str(root), KEEP)[1])


CHECK_PROCESS = """
import json, sys
from ansible_collections.hknweb.deploy.plugins.module_utils.prune import prune
plan, removed, venvs, _ = prune(sys.argv[1], int(sys.argv[2]), check_mode=True)
print(json.dumps({"removed": removed, "removed_venvs": venvs}))
"""


def module_process(root):
    """The prune check as its own Python process, as it runs on the target minus the transport:
    the prune_releases module where the collection has it, else release_policy.prune()."""
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    if MODULE.exists():
        args = root.parent / "args.json"
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(root), "keep": KEEP,
                                                            "_ansible_check_mode": True}}))
        cmd = [sys.executable, str(MODULE), str(args)]
    else:
        cmd = [sys.executable, "-c", CHECK_PROCESS, str(root), str(KEEP)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"prune check process failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout)


def ansible_adhoc(root, module, args, cfg):
    ansible = Path(sys.executable).parent / "ansible"
    cmd = [str(ansible), "localhost", "-c", "local", "-m", module, "-a", args, "--check"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(cfg)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ansible failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def main():
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-prune-") as tmp:
        root = Path(tmp) / "prod"
        build_s, names = timed(build, root)
        rows.append(("build 1,000 releases (setup)", build_s, ""))

        runs = [timed(scan_and_plan, root) for _ in range(ROUNDS)]
        scan_s = statistics.median(t for t, _ in runs)
        inventory, plan = runs[0][1]
        rows.append((f"scan + plan, median of {ROUNDS}", scan_s,
                     f"{len(inventory.releases)} releases, would remove {len(plan.remove)}"))

        module_s, result = timed(module_process, root)
        rows.append(("module process --check (python + module)" if MODULE.exists()
                     else "prune check as its own python process", module_s,
                     f"would remove {len(result['removed'])}"
                     + (f" and {len(result['removed_venvs'])} venvs" if "removed_venvs" in result else "")))

        cfg = Path(tmp) / "ansible.cfg"
        cfg.write_text(f"[defaults]\ncollections_path = {COLLECTIONS}\nlocalhost_warning = False\n"
                       "deprecation_warnings = False\n")
        if (Path(sys.executable).parent / "ansible").exists() and MODULE.exists():
            # Medians of 3: one ansible start-up varies by ~0.1 s, more than the module costs.
            ping_s = statistics.median(
                timed(ansible_adhoc, root, "ansible.builtin.ping", "", cfg)[0] for _ in range(3))
            check_s = statistics.median(
                timed(ansible_adhoc, root, "hknweb.deploy.prune_releases", f"path={root} keep={KEEP}", cfg)[0]
                for _ in range(3))
            rows.append(("ansible ping, median of 3 (baseline)", ping_s, ""))
            rows.append(("ansible prune_releases --check, median of 3", check_s,
                         f"{check_s - ping_s:+.3f} s vs ping"))

        prune_s, removed = timed(prune, root)
        left = releases_disk.scan(root)
        rows.append((f"real prune to keep={KEEP} (scan+plan+remove)", prune_s,
                     f"removed {removed}, left {len(left.releases)}: {', '.join(left.names())}"
                     + (f"; venvs left {len(venvs.venv_keys(str(root)))}" if VENVS else "")))
        assert left.live == names[-2] and len(left.ignored) == 3

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'seconds':>8}  notes")
    for label, seconds, note in rows:
        print(f"{label:<{width}}  {seconds:8.3f}  {note}")
    if scan_s > BUDGET_S:
        print(f"FAIL: scan + plan took {scan_s:.3f} s, budget {BUDGET_S} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
