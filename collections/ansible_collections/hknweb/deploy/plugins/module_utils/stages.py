# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The stage names a failure reports (`stage=` of every module's fail_json), spelled once.

The failure ending (ending.kind_of) chooses its advice from them; tests/unit/test_stages.py checks that
every `stage=` the collection emits is one of them, that the advice knows each, and that
docs/architecture.md lists them."""

from __future__ import annotations

LOCK = "lock"  # the lock is held by another run, or this run's lock was taken over
BEGIN = "begin"  # stage 1 refused its input or the host (nothing was changed)
BUILD = "build"  # the release could not be extracted
DEPENDENCIES = "dependencies"  # the venv could not be built
DJANGO = "django"  # migrate or collectstatic failed
SERVICE_FILES = "service files"  # the units or the run script could not be written
SOCKET = "socket"  # the socket unit could not be started on the bind
LINKS = "links"  # the public static link could not be made
SWITCH = "switch"  # `current` or a record could not be written
HEALTH = "health check"  # the release failed its trial run or its health check (and was put back)

ALL = (LOCK, BEGIN, BUILD, DEPENDENCIES, DJANGO, SERVICE_FILES, SOCKET, LINKS, SWITCH, HEALTH)
