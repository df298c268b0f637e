# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Controller side of hknweb.deploy.deploy_summary (no round trip)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.action import ActionBase

from ansible_collections.hknweb.deploy.plugins.module_utils.story import failure_ending, next_command, summary


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        data = dict(self._task.args)
        data["check_mode"] = bool(self._task.check_mode)
        started = data.get("started")
        data["seconds"] = round(time.time() - float(started), 1) if started else None
        if data.get("failed"):
            data["next"] = next_command(data.get("stage"), data.get("environment"), data.get("unit"),
                                        data.get("action", "deploy"))
            message, out, lines = failure_ending(data)
        else:
            out, lines = summary(data)
            message = "\n".join(lines)
        path = os.environ.get("DEPLOY_SUMMARY_JSON")
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(out, sort_keys=True) + "\n")
        # Shown at default verbosity, like debug's msg; the JSON line is the machine-readable form.
        result.update(changed=False, msg=message if data.get("failed") else lines, _ansible_verbose_always=True)
        if data.get("failed"):
            result["failed"] = True
        return result
