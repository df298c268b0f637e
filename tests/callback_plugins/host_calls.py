"""Count, per host, the task results that ran a module on the target: one round trip each.

Enable it for one run (it is off unless named), from any checkout of the project:

    ANSIBLE_CALLBACK_PLUGINS=<repo>/tests/callback_plugins \\
    ANSIBLE_CALLBACKS_ENABLED=host_calls \\
    HOST_CALLS_FILE=/tmp/calls.json \\
    ansible-playbook deploy.yml -l prod

(both variables replace any callback_plugins / callbacks_enabled of ansible.cfg: list those too,
separated by ':' and ',' respectively, if the run needs them). At the end of the playbook it writes

    {"hosts": {"hknweb-prod": {"calls": 21, "tasks": ["Gathering Facts", ...],
                               "controller": 7, "controller_tasks": ["Check the deploy knobs", ...]}}}

to $HOST_CALLS_FILE (nothing is written when the variable is unset), plus the run's timeline (below).
`tasks` lists the counted
results in order, one entry per call (a loop's task name once per item). `controller` counts the
other results that are not skipped (controller-only actions, tasks delegated to localhost): no
round trip, but each costs the controller its per-task overhead (about 50-100 ms).

What counts: every ok, failed (ignored or not) and unreachable result; for a loop, each item
instead of the loop's summary. What does not: skipped results (and skipped items); tasks delegated
to localhost / 127.0.0.1 (delegate_to, local_action); and actions that run on the controller only:
debug, set_fact, assert, fail, meta, include_role, include_tasks, import_role, import_tasks,
include_vars, validate_argument_spec, add_host, group_by, pause, set_stats, and any action plugin
that declares `_requires_connection = False` (Ansible opens no connection for it either; e.g. a
collection's controller-side planning or summary actions). The connection plugin is not
considered: a host reached with ansible_connection=local counts like one reached over SSH.
An action plugin that runs several modules in one task (several round trips) counts once.

The timeline (for bench/run_bench.py's phases of a run; wall-clock seconds, time.time()):

    "clock": {"loaded": ..., "playbook_start": ..., "stats": ...},
    "timeline": [{"task": "Check the deploy knobs", "action": "hknweb.deploy.knobs",
                  "kind": "controller", "start": ..., "end": ...}, ...]

one entry each time a task starts (a task of a later batch again), ending at its last result (all
hosts, all items); kind is "calls" when any of its results was counted as a call, else
"controller" when any counted as a controller task, else "skipped".
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

try:
    from ansible.plugins.loader import action_loader
except ImportError:  # pragma: no cover - every supported ansible-core has it
    action_loader = None

DOCUMENTATION = """
name: host_calls
type: aggregate
short_description: count module calls (round trips) per target host
description:
  - Counts ok, failed and unreachable task results per host, loop items one by one, leaving out
    skipped results, controller-only actions and tasks delegated to localhost.
  - Writes the counts as JSON to the file named by the environment variable HOST_CALLS_FILE at
    the end of the playbook.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED=host_calls
"""

CONTROLLER_ONLY = frozenset({
    "debug", "set_fact", "assert", "fail", "meta", "include_role", "include_tasks", "import_role",
    "import_tasks", "include_vars", "validate_argument_spec", "add_host", "group_by", "pause",
    "set_stats",
})
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
BUILTIN_PREFIXES = ("ansible.builtin.", "ansible.legacy.")


def needs_connection(action):
    """False for an action plugin that says it never reaches the host (`_requires_connection =
    False`, as debug, set_fact and assert do, and e.g. hknweb.deploy.python_plan): Ansible itself
    opens no connection for those. Unknown names and plain modules need one."""
    if action_loader is None or not action:
        return True
    try:
        handler = action_loader.get(action, class_only=True)
    except Exception:  # noqa: BLE001 - a plugin that fails to load is not ours to report
        return True
    return handler is None or bool(getattr(handler, "_requires_connection", True))


def short_action(task):
    """The action's plain name when it is one of ansible.builtin's, else its full name."""
    action = getattr(task, "resolved_action", None) or task.action or ""
    for prefix in BUILTIN_PREFIXES:
        if action.startswith(prefix):
            return action[len(prefix):]
    return action


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "host_calls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hosts = {}
        self._needs_connection = {}
        self.clock = {"loaded": time.time()}
        self.timeline = []

    def _controller_only(self, task):
        action = short_action(task)
        if action in CONTROLLER_ONLY:
            return True
        full = getattr(task, "resolved_action", None) or task.action
        if full not in self._needs_connection:
            self._needs_connection[full] = needs_connection(full)
        return not self._needs_connection[full]

    # --- what counts --------------------------------------------------------------------------

    @staticmethod
    def _parts(result):
        # ansible-core >= 2.19 has public properties; older ones only the underscored names.
        task = getattr(result, "task", None) or result._task
        host = getattr(result, "host", None) or result._host
        data = getattr(result, "result", None)
        if data is None:
            data = result._result
        return task, host, data

    @staticmethod
    def _delegated_locally(task, data):
        delegated = (data.get("_ansible_delegated_vars") or {}).get("ansible_delegated_host")
        if not delegated:
            delegated = task.delegate_to
        return isinstance(delegated, str) and delegated.strip() in LOCAL_NAMES

    @staticmethod
    def _is_loop(task):
        return bool(getattr(task, "loop", None) or getattr(task, "loop_with", None))

    def _count(self, result, item=False):
        task, host, data = self._parts(result)
        self._mark()
        if data.get("skipped") or data.get("_ansible_no_log_skipped"):
            return
        if not item and self._is_loop(task):
            return  # the loop's summary: its items were counted one by one
        entry = self.hosts.setdefault(host.get_name(), {"calls": 0, "tasks": [], "controller": 0,
                                                        "controller_tasks": []})
        kind = "controller" if self._controller_only(task) or self._delegated_locally(task, data) else "calls"
        entry[kind] += 1
        entry["tasks" if kind == "calls" else "controller_tasks"].append(task.get_name())
        self._mark(kind)

    # --- the timeline -------------------------------------------------------------------------

    def _mark(self, kind=None):
        """The running task's latest result (its end so far) and, once counted, its kind."""
        if not self.timeline:
            return
        step = self.timeline[-1]
        step["end"] = time.time()
        if kind == "calls" or (kind == "controller" and step["kind"] == "skipped"):
            step["kind"] = kind

    def v2_playbook_on_start(self, playbook):
        self.clock["playbook_start"] = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.time()
        self.timeline.append({"task": task.get_name(), "action": short_action(task), "kind": "skipped",
                              "start": now, "end": now})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_skipped(self, result):
        self._mark()

    def v2_runner_item_on_skipped(self, result):
        self._mark()

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_runner_on_unreachable(self, result):
        self._count(result, item=True)  # an unreachable loop stops before its items: count it once

    def v2_runner_item_on_ok(self, result):
        self._count(result, item=True)

    def v2_runner_item_on_failed(self, result):
        self._count(result, item=True)

    # --- the report ---------------------------------------------------------------------------

    def v2_playbook_on_stats(self, stats):
        self.clock["stats"] = time.time()
        path = os.environ.get("HOST_CALLS_FILE")
        if not path:
            return
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"hosts": self.hosts, "clock": self.clock, "timeline": self.timeline}, handle, indent=1,
                      sort_keys=True)
            handle.write("\n")
