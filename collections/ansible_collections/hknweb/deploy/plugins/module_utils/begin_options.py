# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The first stage's options as deploy_begin declares them (release_rollback takes the half a rollback
needs). The stage itself: begin.py."""

from __future__ import annotations


def _template_options():
    return dict(path=dict(type="str", required=True),
                content=dict(type="str", required=True, no_log=True),
                mode=dict(type="str", default="0600"))


def argument_spec():
    return dict(
        path=dict(type="str", required=True),
        mode=dict(type="str", default="deploy", choices=["deploy", "rollback", "doctor"]),
        bind=dict(type="str", default=""),
        socket_unit=dict(type="str", default=""),
        unit=dict(type="str", default=""),
        environment=dict(type="str", default=""),
        repo_url=dict(type="str", no_log=True),
        ref=dict(type="str"),
        force=dict(type="bool", default=False),
        run=dict(type="str", required=True),
        holder=dict(type="str", default="unknown"),
        purpose=dict(type="str", default="deploy"),
        break_lock=dict(type="bool", default=False),
        rollback_anyway=dict(type="bool", default=False),
        lease=dict(type="int", default=300),
        lock_wait=dict(type="int", default=0),
        shared_dirs=dict(type="list", elements="str", default=[]),
        shared_files=dict(type="list", elements="str", default=[]),
        shared_files_create=dict(type="list", elements="str", default=[]),
        # Only the content is secret: the paths are linked into releases and reported.
        shared_templates=dict(type="list", elements="dict", default=[], options=_template_options()),
        home_templates=dict(type="list", elements="dict", default=[], options=_template_options()),
        commit_files=dict(type="list", elements="str", default=[]),
        # Paths later stages write (app_static_link): resolved and checked here, before the first change.
        writes=dict(type="list", elements="dict", default=[], options=dict(variable=dict(type="str", required=True),
                                                                          path=dict(type="str", required=True))),
        interpreters=dict(type="list", elements="str", default=[]),
        release=dict(type="str"),
    )
