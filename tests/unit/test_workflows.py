"""The GitHub workflows: one Molecule job per scenario that exists, the linter catches a broken
workflow, and the example deploy workflow names the scenarios there are (issue 20 item 1)."""
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ZIZMOR = Path(sys.executable).with_name("zizmor")
SCENARIOS = sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def zizmor(*paths):
    return subprocess.run([str(ZIZMOR), "--offline", "--strict-collection", "--no-progress", "--quiet",
                           "--config", str(REPO / ".github/zizmor.yml"), *map(str, paths)],
                          capture_output=True, text=True, cwd=REPO)


def test_ci_runs_every_molecule_scenario_in_its_own_job():
    ci = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    job = ci["jobs"]["molecule"]
    assert sorted(job["strategy"]["matrix"]["scenario"]) == SCENARIOS
    assert job["strategy"]["fail-fast"] is False, "one failing scenario must not hide the others"
    assert any("make molecule" in step.get("run", "") for step in job["steps"])
    assert ci["jobs"]["lint-unit"]["steps"][-1]["run"] == "make lint unit"


def test_the_example_deploy_workflow_names_the_scenarios_there_are():
    text = (REPO / "docs/github-actions-deploy.yml").read_text()
    named = text.split("every Molecule")[1].split(")")[0]
    assert sorted(s.strip(" (,\n#") for s in named.replace("scenario", "").replace("#", "").split(",")) == SCENARIOS


def test_the_workflow_linter_passes_ours_and_fails_a_broken_one(tmp_path):
    ours = zizmor(REPO / ".github/workflows", REPO / "docs/github-actions-deploy.yml")
    assert ours.returncode == 0, ours.stdout + ours.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    assert zizmor(broken).returncode != 0
    injected = tmp_path / "injected.yml"
    injected.write_text("on: pull_request_target\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
                        "    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n")
    assert zizmor(injected).returncode != 0, "a template injection must fail the lint"


def test_a_non_root_user_runs_podman_through_sudo():
    make = (REPO / "Makefile").read_text()
    assert "AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)" in make
    assert "ln -sfn $(CURDIR)/scripts/podman-as-root $(BIN)/podman" in make
    shim = (REPO / "scripts/podman-as-root").read_text()
    assert shim.rstrip().endswith('exec sudo -n podman "$@"')
