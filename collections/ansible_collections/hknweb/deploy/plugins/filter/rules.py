# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""broken_rules: the messages of the knob checks that failed, all at once, in one task.

    vars:
      rules:
        - {var: deploy_path, ok: "{{ deploy_path is match('/') }}", msg: "must be absolute."}
    that: rules | hknweb.deploy.broken_rules | length == 0
"""

from __future__ import annotations


def broken_rules(rules):
    """['<var>: <msg>', ...] for every rule whose `ok` is not true."""
    return ["%s: %s" % (rule["var"], " ".join(str(rule["msg"]).split()))
            for rule in rules if rule.get("ok") is not True]


class FilterModule:
    def filters(self):
        return {"broken_rules": broken_rules}
