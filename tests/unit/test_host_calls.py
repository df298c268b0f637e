"""The host_calls callback (tests/callback_plugins) through one real ansible-playbook run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"

pytestmark = pytest.mark.skipif(not PLAYBOOK_BIN.exists(), reason=f"no ansible-playbook next to {sys.executable}")

# Counted as calls: 2 commands + 3 loop items + 1 ignored failure = 6. Counted as controller tasks
# (no round trip): debug, set_fact, assert, include_vars, an action plugin with
# _requires_connection = False and the command delegated to localhost = 6. Neither: the skipped
# command and the skipped loop items.
PLAYBOOK = """\
- name: Mixed tasks
  hosts: h1
  gather_facts: false
  tasks:
    - name: one
      ansible.builtin.command: "true"
    - name: two
      command: "true"
    - name: loop
      ansible.builtin.command: "echo {{ item }}"
      loop: [a, b, c]
    - name: half-skipped loop
      ansible.builtin.command: "echo {{ item }}"
      loop: [x, y]
      when: false
    - name: say
      ansible.builtin.debug:
        msg: hello
    - name: remember
      ansible.builtin.set_fact:
        remembered: 1
    - name: check
      ansible.builtin.assert:
        that: remembered == 1
    - name: vars
      ansible.builtin.include_vars:
        file: vars.yml
    - name: controller-side action plugin
      plan_here:
        x: 1
    - name: skipped
      ansible.builtin.command: "true"
      when: false
    - name: on the controller
      ansible.builtin.command: "true"
      delegate_to: localhost
    - name: fails but ignored
      ansible.builtin.command: "false"
      ignore_errors: true
"""

ACTION_PLUGIN = """\
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(changed=False, planned=True)
        return result
"""


def test_counts_module_calls_on_the_target_only(tmp_path):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.yml").write_text("extra: 1\n")
    (tmp_path / "action_plugins").mkdir()
    (tmp_path / "action_plugins" / "plan_here.py").write_text(ACTION_PLUGIN)
    (tmp_path / "hosts.ini").write_text(f"h1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # none of the project's settings
    out = tmp_path / "calls.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_CALLBACK_PLUGINS=str(REPO_ROOT / "tests" / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="host_calls",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_NOCOLOR="1",
        HOST_CALLS_FILE=str(out),
    )
    proc = subprocess.run([str(PLAYBOOK_BIN), "-i", "hosts.ini", "play.yml"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["hosts"] == {"h1": {
        "calls": 6, "tasks": ["one", "two", "loop", "loop", "loop", "fails but ignored"],
        "controller": 6, "controller_tasks": ["say", "remember", "check", "vars", "controller-side action plugin",
                                              "on the controller"]}}, proc.stdout
    # The timeline: one entry per task start, in order, with its kind and its span.
    timeline = report["timeline"]
    assert [(s["task"], s["kind"]) for s in timeline] == [
        ("one", "calls"), ("two", "calls"), ("loop", "calls"), ("half-skipped loop", "skipped"), ("say", "controller"),
        ("remember", "controller"), ("check", "controller"), ("vars", "controller"),
        ("controller-side action plugin", "controller"), ("skipped", "skipped"), ("on the controller", "controller"),
        ("fails but ignored", "calls")]
    clock = report["clock"]
    assert clock["loaded"] <= clock["playbook_start"] <= timeline[0]["start"]
    for before, after in zip(timeline, timeline[1:]):
        assert before["start"] <= before["end"] <= after["start"]
    assert timeline[-1]["end"] <= clock["stats"]
