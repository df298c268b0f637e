#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deploy_summary
short_description: The summary of a deploy or rollback of one environment (and its failure ending)
version_added: "2.0.0"
description:
  - Composes, on the controller, what the run did from the stages' results - environment,
    release, commit and subject, ref, deployer, previous release, where it is served, the
    health result, restarts and why, what was pruned, the duration.
  - Appends it as one JSON line to the file named by the environment variable
    C(DEPLOY_SUMMARY_JSON) when that is set (CI can post it).
  - With O(failed), ends the run - the stage, the cause, what is live now and the next command.
author:
  - hknweb maintainers
options:
  action:
    description: V(deploy) or V(rollback).
    type: str
    required: true
  environment:
    description: The environment (inventory group).
    type: str
  host:
    description: The inventory host.
    type: str
  begin:
    description: The result of M(hknweb.deploy.deploy_begin).
    type: dict
  activate:
    description: The result of M(hknweb.deploy.release_activate).
    type: dict
  finish:
    description: The result of M(hknweb.deploy.deploy_finish).
    type: dict
  release:
    description: The release name this run made.
    type: str
  ref:
    description: The ref deployed.
    type: str
  deployer:
    description: Who ran it.
    type: str
  bind:
    description: Where the app is served.
    type: str
  healthcheck_path:
    description: The health check path.
    type: str
  venv:
    description: The venv key and whether it was reused.
    type: str
  unit:
    description: The service unit (for the journal command).
    type: str
  started:
    description: When the run started (epoch seconds).
    type: float
  failed:
    description: The run failed; end it with the failure ending.
    type: bool
    default: false
  stage:
    description: The stage that failed.
    type: str
  cause:
    description: The failure's cause.
    type: str
  hints:
    description: Sentences added to a failure ending when their C(match) text is in the cause (C(match), C(say)).
    type: list
    elements: dict
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Summary
  hknweb.deploy.deploy_summary:
    action: deploy
    environment: prod
    host: "{{ inventory_hostname }}"
    begin: "{{ __deploy_begin }}"
    activate: "{{ __deploy_activate }}"
    finish: "{{ __deploy_finish }}"
    started: "{{ run.started }}"
"""

RETURN = r"""
summary:
  description: The summary as a dict (the JSON line).
  returned: always
  type: dict
msg:
  description: The summary as text, or the failure ending.
  returned: always
  type: str
"""
