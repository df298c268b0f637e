# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""home_marked: a path as the controller can write it before it knows the deploy user's home.

    app_service_deploy_path: "{{ deploy_path | hknweb.deploy.home_marked }}"   # ~/hknweb/prod -> @@HOME@@/hknweb/prod
    app_service_home: "{{ '~' | hknweb.deploy.home_marked }}"

The engine (release_activate, release_rollback) puts the home in on the host, so a rollback
renders its service files without a round trip first."""

from __future__ import annotations

from ansible_collections.hknweb.deploy.plugins.module_utils.layout import HOME_MARK


def home_marked(path):
    """The mark instead of a leading ~ (the home); any other path as it is."""
    path = str(path)
    if path == "~" or path.startswith("~/"):
        return HOME_MARK + path[1:]
    return path


class FilterModule:
    def filters(self):
        return {"home_marked": home_marked}
