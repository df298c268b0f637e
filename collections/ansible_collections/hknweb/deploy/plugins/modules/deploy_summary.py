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
    C(DEPLOY_SUMMARY_JSON) when that is set (CI can post it) - with C(attempted) (ref, commit,
    release the run set out to make live), C(live) (what is live; after a failure read from the
    host, O(seen)) and C(started)/C(ended) (ISO 8601, UTC). A file that cannot be written is a
    warning; it never changes the run's outcome.
  - With O(failed), ends the run - the stage, the cause, what is live now (O(seen)) and the next
    command, chosen from what happened (a rollback only when the release that failed is the one
    serving; every command with C(-l) and the environment).
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
  seen:
    description:
      - With O(failed), the answer of M(hknweb.deploy.releases_info) read after the failure (with
        its O(hknweb.deploy.releases_info#module:service) and health options) - what C(current)
        names, the release the service runs and whether it answers. Absent or failed - "Live
        now" says the host could not be read.
    type: dict
  requested:
    description: The release a rollback was asked for by name (C(-e release=)), if any.
    type: str
  batch:
    description: The hosts of this batch of a rolling run (C(ansible_play_batch)).
    type: list
    elements: str
  play_hosts:
    description: Every host of the play (C(ansible_play_hosts_all)), to name those a failed batch stops.
    type: list
    elements: str
  notify_url:
    description:
      - A webhook URL (a secret, from vault; never printed). When set, the summary's JSON record plus C(text)
        (what the run printed, Slack's field) is POSTed to it after the run, success or failure. A webhook that
        fails or does not answer within O(notify_timeout) is a warning; the run's result is unchanged.
    type: str
  notify_timeout:
    description: Seconds to wait for the webhook.
    type: float
    default: 5
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
