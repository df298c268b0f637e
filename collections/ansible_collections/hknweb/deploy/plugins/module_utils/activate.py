# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The switch's options as the modules declare them (release_activate; release_rollback takes the
service's half). The switch itself: switch_plan.py (the steps), switch_exec.py (running them),
switch_proof.py (health and trial run), switch_host.py (the host they act on)."""

from __future__ import annotations


def service_spec():
    """The service the switch acts on and how it is proven: both modules take these."""
    return dict(
        files=dict(type="list", elements="dict", default=[]),
        service=dict(type="str", required=True),
        socket=dict(type="str", default=""),
        bind=dict(type="str", required=True),
        health_path=dict(type="str", default="/"),
        health_host=dict(type="str", default="localhost"),
        health_timeout=dict(type="int", default=60),
        reload=dict(type="bool", default=True),
    )


def argument_spec():
    """release_activate's options."""
    spec = service_spec()
    spec.update(
        path=dict(type="path", required=True),
        mode=dict(type="str", default="deploy", choices=["deploy", "rollback", "ensure"]),
        release=dict(type="str"),
        record=dict(type="dict", default={}),
        mark_previous_bad=dict(type="bool", default=True),
        restart=dict(type="bool", default=False),
        trial=dict(type="dict", default={}),
        links=dict(type="list", elements="dict", default=[]),
        deployer=dict(type="str", default="unknown"),
        ref=dict(type="str", default=""),
        run=dict(type="str", default=""),
        prune=dict(type="bool", default=False),
        keep=dict(type="raw", default=5),
        unlock=dict(type="bool", default=False),
        lease=dict(type="dict", default=None),  # lock.LEASE_OPTION: renewed in release_activate's main
    )
    return spec
