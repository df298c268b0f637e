# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Filters that turn the stages' results into sentences (logic in module_utils/story.py and report_lines.py)."""

from __future__ import annotations

from ansible_collections.hknweb.deploy.plugins.module_utils.pending import lines as pending_lines
from ansible_collections.hknweb.deploy.plugins.module_utils.report_lines import (doctor_lines, lock_line,
                                                                                 releases_table, run_target,
                                                                                 status_lines)
from ansible_collections.hknweb.deploy.plugins.module_utils.story import begin_story, python_line, release_label
from ansible_collections.hknweb.deploy.plugins.module_utils.ending import failure_of


class FilterModule:
    def filters(self):
        return {"begin_story": begin_story, "python_line": python_line, "release_label": release_label,
                "releases_table": releases_table,
                "run_target": run_target, "status_lines": status_lines,
                "lock_line": lock_line, "doctor_lines": doctor_lines, "failure_of": failure_of,
                "pending_lines": pending_lines}
