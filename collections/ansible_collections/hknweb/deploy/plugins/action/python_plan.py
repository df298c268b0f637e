# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Controller side of hknweb.deploy.python_plan: no round trip, the logic is in module_utils."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.hknweb.deploy.plugins.module_utils.venv_plan import plan_python

SETTINGS = ("interpreter", "strategy", "requirements_file", "poetry_python", "poetry_groups",
            "pip_args", "poetry_version", "poetry_constraints", "installer", "uv_version")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        settings = {name: args.get(name) for name in SETTINGS}
        settings["strategy"] = settings["strategy"] or ""
        plan = plan_python(args.get("files") or {}, args.get("interpreters") or {}, settings,
                           args.get("venvs") or [], args.get("variable_prefix") or "",
                           args.get("files_known", True))
        result.update(plan, changed=False)
        if plan["problems"]:
            result["failed"] = True
            result["msg"] = " ".join(plan["problems"]) + " Nothing was changed."
        return result
