# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The names release_policy.py exported before it was split, in one namespace, for the callers that
are being restructured on their own (activate.py, release_activate.py, release_rollback.py, bench/).
It answers no question itself: new code imports from the file that owns the question (see the map in
docs/architecture.md), and this file goes once those callers do."""

from __future__ import annotations

# flake8/ruff: every import here is a re-export.
# ruff: noqa: F401
from ansible_collections.hknweb.deploy.plugins.module_utils.intent import clear_intent, read_intent, write_intent
from ansible_collections.hknweb.deploy.plugins.module_utils.layout import (
    BAD_MARKER, COMPLETE_RECORD, CURRENT_LINK, HOME_MARK, INTENT_FILE, RELEASES_DIR, REVISION_FILE, REVISIONS_LOG,
    UNFINISHED_MARKER, VENV_COMPLETE, VENV_LINK, VENVS_DIR, is_release_name, release_name_for)
from ansible_collections.hknweb.deploy.plugins.module_utils.lock import (
    LOCK_DIR, LOCK_HOLDER, LockHeld, describe_age, give_lock, read_lock, take_lock)
from ansible_collections.hknweb.deploy.plugins.module_utils.prune import prune
from ansible_collections.hknweb.deploy.plugins.module_utils.records import (
    clear_bad, mark_bad, read_record, read_release, write_record)
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import (
    BAD, GOOD, UNFINISHED, Inventory, Plan, Release, ReleaseError, check_switchable, choose_rollback, describe,
    is_complete, plan_prune, plan_recovery, rollback_target, validate_keep)
from ansible_collections.hknweb.deploy.plugins.module_utils.releases_disk import remove_release, scan, switch_current
from ansible_collections.hknweb.deploy.plugins.module_utils.revlog import (
    append_log, log_line, log_tail, parse_revisions_log, utc_now)
from ansible_collections.hknweb.deploy.plugins.module_utils.shared_entries import check_home_templates, check_shared
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import (
    is_venv_key, plan_venv_prune, venv_key, venv_keys)
