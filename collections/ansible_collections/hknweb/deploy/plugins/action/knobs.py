# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""Controller side of hknweb.deploy.knobs: all of a role's knob checks in ONE task (no round trip).

Ansible's own role validation is a task of its own, and so was each rule list and each "two
environments must not share this" check: four tasks a role, about 0.3 s a role on every run. This
does the same three checks in one, reporting every problem at once:
- the role's argument spec (meta/argument_specs.yml, entry point main: types, choices), checked the
  way Ansible's role validation checks it (the roles are then included with rolespec_validate: false);
- the rules a spec cannot say, passed in as already templated {var, ok, msg};
- knobs that two inventory aliases of one account (same address and port) must not share.
It hands back `publish` as `published`: what the role derives from its knobs once (the service's
unit, socket unit and bind), a result the later stages read instead of the role's knobs.
"""

from __future__ import annotations

import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase


# libyaml's safe loader where PyYAML has it (it does wherever Ansible is installed from a wheel): the
# deploy role's spec loads in 1.6 ms instead of 15.8 ms, on every run and host, in the knob check.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def broken_rules(rules):
    """['<var>: <msg>', ...] for every rule whose `ok` is not true (msg on one line)."""
    return ["%s: %s" % (rule["var"], " ".join(str(rule["msg"]).split()))
            for rule in rules if rule.get("ok") is not True]


def role_spec(path, entry_point="main"):
    """The options of one entry point of a role's meta/argument_specs.yml ({} when it has none)."""
    with open(path, encoding="utf-8") as handle:
        specs = (yaml.load(handle, Loader=SAFE_LOADER) or {}).get("argument_specs") or {}
    return (specs.get(entry_point) or {}).get("options") or {}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        problems = (self.spec_problems(task_vars) + broken_rules(args.get("rules") or [])
                    + self.shared_problems(task_vars, args.get("distinct") or []))
        problems = [text if text.endswith(".") else text + "." for text in problems]
        result.update(changed=False, problems=problems, published=args.get("publish") or {})
        if problems:
            result.update(failed=True, msg=" ".join(problems) + " Nothing was changed.")
        else:
            result["msg"] = "every knob checked"
        return result

    def spec_problems(self, task_vars):
        # The spec is read from the role's file through the public magic variable role_path (Ansible's
        # own parsed copy sits behind a private Role method that may move between releases).
        role_path = task_vars.get("role_path")
        if not role_path:
            raise AnsibleActionFail("hknweb.deploy.knobs checks a role's knobs: call it from the role's tasks.")
        spec = role_spec(os.path.join(role_path, "meta", "argument_specs.yml"))
        given = self._templar.template({name: task_vars[name] for name in spec if name in task_vars})
        return ArgumentSpecValidator(spec).validate(given, validate_role_argument_spec=True).error_messages

    def shared_problems(self, task_vars, names):
        """Two aliases of the same account (prod and test on apphost) must not share these knobs."""
        if not names:
            return []
        me = task_vars["inventory_hostname"]
        hostvars = task_vars["hostvars"]
        mine = {name: self._templar.template(task_vars.get(name)) for name in names}
        address = self.address(task_vars, me)
        problems = []
        for peer in task_vars.get("ansible_play_hosts_all") or []:
            if peer == me or peer not in hostvars:
                continue
            theirs = hostvars[peer]
            if self.address(theirs, peer) != address:
                continue
            for name in names:
                if name in theirs and theirs[name] == mine[name]:
                    problems.append(
                        "%s: %s and %s are the same account (%s port %s) and share %s. Give each environment "
                        "its own." % (name, me, peer, address[0], address[1], mine[name]))
        return problems

    def address(self, variables, name):
        return (str(self._templar.template(variables.get("ansible_host", name))),
                int(self._templar.template(variables.get("ansible_port", 22))))
