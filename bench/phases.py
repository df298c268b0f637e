"""Where one ansible-playbook run's wall time went, from the timeline host_calls records
(tests/callback_plugins/host_calls.py) and the bench's own clock around the process.

Pure: split(t0, t1, report) -> {phase: seconds}; the phases add up to t1 - t0:

- start:       process launched -> first task started (Python, Ansible's imports, config,
               inventory, the playbook's parsing, the play's set-up);
- controller:  tasks that ran on the controller only (set_fact, knob checks, rendering, the
               summary, tasks delegated to localhost) and tasks every host skipped;
- host:        tasks that ran a module on a host (one round trip each, all hosts of the task);
- between:     the gaps between one task's last result and the next task's start (the strategy
               templating the next task, callbacks, batch changes);
- end:         last result -> process exit (stats, callbacks, connections closed, interpreter exit).
"""

PHASES = ("start", "controller", "host", "between", "end")
LABELS = {"start": "ansible-playbook start (to first task)", "controller": "controller tasks",
          "host": "host calls", "between": "between tasks", "end": "end (after last task)"}


def split(t0, t1, report):
    """Seconds per phase of one run launched at t0 and ended at t1 (time.time() of the bench).
    A report without a timeline (an older callback) or without tasks puts it all under start."""
    steps = sorted(report.get("timeline") or [], key=lambda s: s["start"])
    out = dict.fromkeys(PHASES, 0.0)
    if not steps:
        out["start"] = t1 - t0
        return out
    out["start"] = steps[0]["start"] - t0
    previous_end = None
    for step in steps:
        if previous_end is not None:
            out["between"] += max(0.0, step["start"] - previous_end)
        span = max(0.0, step["end"] - step["start"])
        out["host" if step["kind"] == "calls" else "controller"] += span
        previous_end = step["end"] if previous_end is None else max(previous_end, step["end"])
    out["end"] = t1 - previous_end
    return out


def slowest(report, n=5):
    """The n longest tasks: [(seconds, kind, name)], longest first (the footnotes' "where the time went")."""
    steps = report.get("timeline") or []
    ranked = sorted(((s["end"] - s["start"], s["kind"], s["task"]) for s in steps), reverse=True)
    return ranked[:n]
