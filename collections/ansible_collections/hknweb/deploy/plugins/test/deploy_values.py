# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Jinja tests for values that end up in a unit file, a run script, a path or a command.

    when: value is hknweb.deploy.single_line      # no line break, NUL or other control character
    when: mapping is hknweb.deploy.env_safe       # names [A-Za-z_][A-Za-z0-9_]*, values single_line
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def single_line(value):
    """True for a scalar whose text has no line break, NUL or control character (tab is fine)."""
    if isinstance(value, (dict, list, tuple, set)) or value is None:
        return False
    return _CONTROL.search(str(value)) is None


def env_safe(mapping):
    """True for a dict of environment variables that systemd and a shell take as written."""
    if not isinstance(mapping, dict):
        return False
    return all(isinstance(k, str) and _ENV_NAME.match(k) and single_line(v) for k, v in mapping.items())


class TestModule:
    def tests(self):
        return {"single_line": single_line, "env_safe": env_safe}
