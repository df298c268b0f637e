# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Controller side of hknweb.deploy.deploy_summary (no round trip)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.action import ActionBase

from ansible_collections.hknweb.deploy.plugins.module_utils import notify
from ansible_collections.hknweb.deploy.plugins.module_utils.story import failure_ending, summary


def append_json(path, out):
    """Append the JSON line; the reason as a sentence when that fails (never raised: the record is a
    copy for CI, and failing to write it must not change what the run did or how it ends)."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(out, sort_keys=True) + "\n")
    except OSError as error:
        return ("the summary was not written to DEPLOY_SUMMARY_JSON=%s (%s); the run's result is as shown "
                "above" % (path, error.strerror or error))
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        data = dict(self._task.args)
        notify_url, timeout = data.pop("notify_url", None), data.pop("notify_timeout", None) or 5
        data["check_mode"] = bool(self._task.check_mode)
        started = data.get("started")
        data["ended"] = time.time()
        data["seconds"] = round(data["ended"] - float(started), 1) if started else None
        if data.get("failed"):
            message, out, lines = failure_ending(data)
        else:
            out, lines = summary(data)
            message = "\n".join(lines)
        out["log_file"] = os.environ.get("DEPLOY_RUN_LOG")  # the run's log (callback run_log, DEPLOY_LOG_DIR)
        if out["log_file"]:
            lines.append("  log:       %s" % out["log_file"])
            message = message + "\nLog: %s" % out["log_file"] if data.get("failed") else "\n".join(lines)
        path = os.environ.get("DEPLOY_SUMMARY_JSON")
        warnings = [append_json(path, out) if path else None]
        if notify_url and not data["check_mode"]:  # the summary posted to the webhook (deploy_notify_url), success or failure
            warnings.append(notify.post(notify_url, notify.payload(out, message), float(timeout)))
        if any(warnings):
            result["warnings"] = [w for w in warnings if w]
        # Shown at default verbosity, like debug's msg; the JSON line is the machine-readable form.
        result.update(changed=False, msg=message if data.get("failed") else lines, summary=out,
                      _ansible_verbose_always=True)
        if data.get("failed"):
            result["failed"] = True
        return result
