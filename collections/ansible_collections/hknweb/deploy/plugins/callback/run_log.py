# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""A record of each run on the controller: one log file per run under the folder DEPLOY_LOG_DIR names.

Like Capistrano's log/capistrano.log, but one file a run: <UTC time>-<playbook>-<pid>.log, with every
task's result per host (ok, changed, failed, skipped, unreachable) and what it said (msg, a failure's
cause). The file's path is put in DEPLOY_RUN_LOG for the rest of the run, so the summary names it.
Results are the ones Ansible shows (no_log results arrive censored); the command line is not written
(an -e may carry a secret). A folder that cannot be written is one warning; the run goes on."""

from __future__ import annotations

DOCUMENTATION = """
name: run_log
type: notification
short_description: write a log file of each run under DEPLOY_LOG_DIR
description:
  - When the environment variable DEPLOY_LOG_DIR names a folder, writes one file per run there with every
    task's result per host, and sets DEPLOY_RUN_LOG to its path for the run (the summary names it).
  - Does nothing when DEPLOY_LOG_DIR is not set.
requirements:
  - enabled in ansible.cfg (callbacks_enabled = hknweb.deploy.run_log)
"""

import datetime
import os

from ansible.plugins.callback import CallbackBase

RUN_LOG_VARIABLE = "DEPLOY_RUN_LOG"
DIR_VARIABLE = "DEPLOY_LOG_DIR"
TEXT_LIMIT = 4000


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_name(playbook, when, pid):
    """<UTC time>-<playbook>-<pid>.log: sorted by time, never two runs in one file."""
    base = os.path.splitext(os.path.basename(playbook or "run"))[0]
    return "%s-%s-%d.log" % (when.strftime("%Y%m%dT%H%M%SZ"), base, pid)


def said(result):
    """What a result said, on one line each, bounded."""
    text = result.get("msg")
    if isinstance(text, list):
        text = "\n".join(str(line) for line in text)
    if not text and result.get("stderr"):
        text = result["stderr"]
    text = str(text or "")
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + " ..."


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "hknweb.deploy.run_log"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = None

    def v2_playbook_on_start(self, playbook):
        folder = os.environ.get(DIR_VARIABLE)
        if not folder:
            return
        folder = os.path.abspath(os.path.expanduser(folder))
        path = os.path.join(folder, file_name(playbook._file_name, datetime.datetime.now(datetime.timezone.utc),
                                              os.getpid()))
        try:
            os.makedirs(folder, exist_ok=True)
            with open(path, "x", encoding="utf-8") as handle:
                handle.write("%s run of %s\n" % (_now(), os.path.basename(playbook._file_name)))
        except OSError as error:
            self._display.warning("no run log: %s=%s cannot be written (%s)" % (DIR_VARIABLE, folder,
                                                                               error.strerror or error))
            return
        self.path = path
        os.environ[RUN_LOG_VARIABLE] = path  # inherited by the task workers: the summary names the file

    def _write(self, text):
        if not self.path:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError:
            self.path = None

    def v2_playbook_on_play_start(self, play):
        self._write("%s PLAY %s" % (_now(), play.get_name()))

    def _result(self, result, status):
        task = getattr(result, "task", None) or result._task
        host = getattr(result, "host", None) or result._host
        data = getattr(result, "result", None)
        if data is None:
            data = result._result
        if status == "ok" and data.get("changed"):
            status = "changed"
        line = "%s [%s] %s: %s" % (_now(), host.get_name(), task.get_name(), status)
        text = said(data) if status != "skipped" else ""
        self._write(line + ("\n    " + text.replace("\n", "\n    ") if text else ""))

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed (ignored)" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        for host in hosts:
            self._write("%s RECAP %s %s" % (_now(), host, stats.summarize(host)))
