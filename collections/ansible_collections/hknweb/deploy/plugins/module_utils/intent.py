# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The intent record: a switch under way, written before it and removed once the switch is proven,
so the next run knows what a killed run left (plan_recovery in release_policy.py decides what to do)."""

from __future__ import annotations

import json
import os

from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.atomic import fsync_dir, read_json, write_atomic
from ansible_collections.hknweb.deploy.plugins.module_utils.revlog import utc_now


def read_intent(deploy_path):
    found, intent = read_json(layout.intent_file(deploy_path), 4096)
    if not found:
        return None
    return intent or {"op": "unknown", "from": None, "to": None, "stage": "unreadable"}


def write_intent(deploy_path, op, from_release, to_release, stage, run):
    write_atomic(layout.intent_file(deploy_path), json.dumps({
        "op": op, "from": from_release, "to": to_release, "stage": stage, "run": run,
        "time": utc_now()}, sort_keys=True) + "\n")


def clear_intent(deploy_path):
    try:
        os.unlink(layout.intent_file(deploy_path))
    except FileNotFoundError:
        return False
    fsync_dir(deploy_path)
    return True
