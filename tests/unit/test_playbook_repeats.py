"""The playbooks hold no repeated block of four or more lines beyond boilerplate (issue 19): a
repeated block is a stage that belongs in a role entry point. Boilerplate is what every play of this
project must say - the play header, the knob checks (one import of a role's main entry point each),
the call of the deploy role's summary entry point - each line of such a window matching BOILERPLATE."""
import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOILERPLATE = [re.compile(p) for p in (
    r"^- name: (Check the [A-Za-z ]+ knobs?|Name the run, say what it touches|Know the [a-z ]+ settings .*)$",
    r"^(hosts: all|gather_facts: false)$",
    r"^ansible\.builtin\.import_role: \{name: [a-z_]+, rolespec_validate: false\}$",
    r"^ansible\.builtin\.import_role: \{name: deploy, tasks_from: summary, rolespec_validate: false\}$",
    r"^ansible\.builtin\.import_tasks: tasks/name_run\.yml$",
    r"^(block|vars|tasks|deploy_summary):$",
    r"^tags: \[preflight\]$",
    r"^serial: ",
    r"^deploy_run: \"\{\{ hostvars\['localhost'\]\.__deploy_run \}\}\"$",
    r"^deploy_service: \"\{\{ __app_service_identity\.published \}\}\"$",
)]


def windows(size=4):
    found = defaultdict(list)
    for path in sorted(REPO.glob("playbooks/**/*.yml")) + sorted(REPO.glob("*.yml")):
        lines = [line.strip() for line in path.read_text().splitlines()]
        for at in range(len(lines) - size + 1):
            window = tuple(lines[at:at + size])
            if any(not line or line.startswith("#") or line == "---" for line in window):
                continue
            found[window].append("%s:%d" % (path.relative_to(REPO), at + 1))
    return found


def boilerplate(window):
    return all(any(p.match(line) for p in BOILERPLATE) for line in window)


def test_no_block_of_four_lines_is_repeated_beyond_boilerplate():
    repeated = {w: where for w, where in windows().items() if len(where) > 1 and not boilerplate(w)}
    assert not repeated, "\n".join("%s:\n    %s" % (", ".join(where), "\n    ".join(w)) for w, where in repeated.items())


def test_the_finder_sees_a_repeated_stage():
    lines = ["- name: Read it", "hknweb.deploy.releases_info:", "path: x", "service: y"]
    assert not boilerplate(tuple(lines))
    assert boilerplate(("block:", "- name: Check the deploy knobs",
                        "ansible.builtin.import_role: {name: deploy, rolespec_validate: false}", "tasks:"))
