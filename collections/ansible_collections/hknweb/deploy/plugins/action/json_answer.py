# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Controller side of hknweb.deploy.json_answer: one JSON document for the whole run (no round trip).

Runs once (run_once) after every host answered: it reads each play host's registered answer from
hostvars and writes the document of module_utils/documents.py to the file DEPLOY_JSON names. Nothing
is written, and nothing said, when DEPLOY_JSON is not set."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.action import ActionBase

from ansible_collections.hknweb.deploy.plugins.module_utils import documents


def write_whole(path, doc):
    """Write the document whole (temporary file, then rename); the reason as a sentence when that fails."""
    temp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(doc, handle, sort_keys=True, indent=1, default=str)
            handle.write("\n")
        os.replace(temp, path)
    except OSError as error:
        return "the JSON answer was not written to %s=%s (%s)" % (documents.ENV_VARIABLE, path,
                                                                  error.strerror or error)
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def answer_of(self, hostvars, host, names):
        found = hostvars[host]
        if isinstance(names, dict):
            return {key: found.get(name) for key, name in names.items()}
        return found.get(names)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        kind, names = self._task.args.get("kind"), self._task.args.get("answer")
        if kind not in documents.KINDS:
            result.update(failed=True, msg="kind must be one of %s" % ", ".join(documents.KINDS))
            return result
        path = os.environ.get(documents.ENV_VARIABLE)
        if not path:
            result.update(changed=False, skipped=True, msg="%s is not set" % documents.ENV_VARIABLE)
            return result
        hostvars = task_vars["hostvars"]
        entries = []
        for host in task_vars.get("ansible_play_hosts_all") or []:
            groups = [g for g in hostvars[host].get("group_names") or [] if g not in ("all", "ungrouped")]
            entries.append(documents.entry(kind, groups[0] if groups else host, host,
                                           self.answer_of(hostvars, host, names)))
        doc = documents.document(kind, entries, time.time())
        warning = write_whole(path, doc)
        if warning:
            result["warnings"] = [warning]
        result.update(changed=False, path=path, msg="JSON answer written to %s" % path if not warning else warning)
        return result
