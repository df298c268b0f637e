# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The stage vocabulary, spelled once: the numbered stages the playbooks run, and the failure stage
names a module reports (`stage=` of its fail_json) that the failure ending chooses its advice from.

tests/unit/test_stages.py checks that every `stage=` the collection emits is one of FAILURES, that the
ending's advice compares stages only through these names, that the playbooks' numbered task names are
DEPLOY and ROLLBACK in order, and that docs/architecture.md lists FAILURES. A failure that names no
stage (a task failing outside a module's own check, e.g. a full disk while extracting) reports the
task's name and gets the ending's general advice, chosen from its cause."""

from __future__ import annotations

LOCK = "lock"  # another run holds the lock, or this run's lock was taken over
BEGIN = "begin"  # stage 1 refused its input or the host; nothing was changed
DEPENDENCIES = "dependencies"  # the venv of a new dependency set could not be built
DJANGO = "django"  # the settings were refused, or migrate, collectstatic or an extra command failed
SERVICE_FILES = "service files"  # the units or the run script could not be written or loaded
SOCKET = "socket"  # the socket unit could not hold the bind
LINKS = "links"  # the public static link could not be made
SWITCH = "switch"  # `current`, a record or the rollback's switch failed
HEALTH = "health check"  # the trial run or the health check failed (the release is marked bad)
SCHEMA = "schema"  # a rollback refused migrations its target does not know, or could not unapply them

FAILURES = (LOCK, BEGIN, DEPENDENCIES, DJANGO, SERVICE_FILES, SOCKET, LINKS, SWITCH, HEALTH, SCHEMA)

# The numbered stages of playbooks/deploy.yml and rollback.yml ("N. Title: what it does"), in order, with
# the failure stages the module each one calls reports (a controller stage reports none: it changes nothing).
DEPLOY = (("Preflight", ()), ("Begin", (BEGIN, LOCK)), ("Python", ()), ("Release", (LOCK,)),
          ("Python", (DEPENDENCIES, LOCK)), ("Django", (DJANGO, LOCK)), ("Service", ()), ("Static", ()),
          ("Switch", (SERVICE_FILES, SOCKET, LINKS, SWITCH, HEALTH, LOCK)))
ROLLBACK = (("Preflight", ()), ("Service", ()),
            ("Roll back", (BEGIN, LOCK, SCHEMA, SERVICE_FILES, SOCKET, LINKS, SWITCH, HEALTH)))
