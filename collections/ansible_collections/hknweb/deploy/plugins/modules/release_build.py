#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release_build
short_description: Extract a commit into a new release, link shared paths and its venv, in one round trip
version_added: "2.0.0"
description:
  - Creates C(releases/<name>/) from the mirror in C(repo/) (C(git archive)), writes
    C(REVISION), replaces every shared path shipped in the tree by a link into C(shared/), and
    links C(venv) to C(venvs/<key>) (the dependency set, built or reused by
    M(hknweb.deploy.venv_build)).
  - The release stays incomplete (no completion record) until
    M(hknweb.deploy.release_activate) writes the record just before it goes live, so a run
    that stops anywhere in between leaves a release that rollback refuses and prune removes.
author:
  - hknweb maintainers
options:
  path:
    description: The deploy path (absolute).
    type: path
    required: true
  name:
    description: The release name (UTC timestamp, the same on every host of the run).
    type: str
    required: true
  sha:
    description: The commit to extract.
    type: str
    required: true
  shared:
    description: Paths relative to C(shared/) to link into the release (checked by M(hknweb.deploy.deploy_begin)).
    type: list
    elements: str
    default: []
  venv:
    description: Key of the venv under C(venvs/) the release runs on; empty for none.
    type: str
    default: ""
extends_documentation_fragment:
  - action_common_attributes
  - hknweb.deploy.lease
attributes:
  check_mode:
    support: full
    details: Creates nothing; reports the release it would create.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Build the release
  hknweb.deploy.release_build:
    path: /home/hkn/hknweb/prod
    name: "20261126T120000Z"
    sha: 0123456789abcdef0123456789abcdef01234567
    shared: [media, hknweb/settings/secrets.py]
    venv: 3f2a9c1b7d5e4a60
"""

RETURN = r"""
release_path:
  description: The new release's folder.
  returned: always
  type: str
seconds:
  description: How long extracting and linking took.
  returned: success
  type: float
"""

import os
import shutil
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hknweb.deploy.plugins.module_utils import lock as lock_
from ansible_collections.hknweb.deploy.plugins.module_utils import layout
from ansible_collections.hknweb.deploy.plugins.module_utils.release_policy import ReleaseError
from ansible_collections.hknweb.deploy.plugins.module_utils.venvs import is_venv_key
from ansible_collections.hknweb.deploy.plugins.module_utils.host import tail
from ansible_collections.hknweb.deploy.plugins.module_utils import stages


def extract(mirror, sha, dest):
    """git archive | tar -x, both checked."""
    archive = subprocess.Popen(["git", "-C", mirror, "archive", "--format=tar", sha],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout, stderr=subprocess.PIPE)
    archive.stdout.close()
    archive_err = archive.stderr.read().decode("utf-8", "replace")
    archive.wait()
    if archive.returncode != 0 or untar.returncode != 0:
        raise ReleaseError("extracting %s failed: %s" % (
            sha, tail(archive_err + untar.stderr.decode("utf-8", "replace"), 6)))


def link_shared(deploy_path, release_path, entries):
    for entry in entries:
        link = os.path.join(release_path, entry)
        os.makedirs(os.path.dirname(link), 0o755, exist_ok=True)
        if os.path.islink(link) or os.path.isfile(link):
            os.unlink(link)
        elif os.path.isdir(link):
            shutil.rmtree(link)  # a copy shipped in git (media/ with a placeholder)
        os.symlink(os.path.join(layout.shared_dir(deploy_path), entry), link)


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="path", required=True),
        name=dict(type="str", required=True),
        sha=dict(type="str", required=True),
        shared=dict(type="list", elements="str", default=[]),
        venv=dict(type="str", default=""),
        lease=lock_.LEASE_OPTION,
    ), supports_check_mode=True)
    p = module.params
    release_path = layout.release_dir(p["path"], p["name"])
    if not layout.is_release_name(p["name"]):
        module.fail_json(msg="%r is not a release name" % p["name"])
    if p["venv"] and not is_venv_key(p["venv"]):
        module.fail_json(msg="%r is not a venv key" % p["venv"])
    if os.path.lexists(release_path):
        module.fail_json(msg="%s exists already (two deploys in one second?); run again"
                             % os.path.join(layout.RELEASES_DIR, p["name"]))
    if module.check_mode:
        module.exit_json(changed=True, release_path=release_path)
    lost = lock_.renew(p["lease"])
    if lost:
        module.fail_json(msg=lost, stage=stages.LOCK, changed=False)

    started = time.monotonic()
    try:
        os.mkdir(release_path, 0o755)
        extract(layout.mirror_dir(p["path"]), p["sha"], release_path)
        with open(os.path.join(release_path, layout.REVISION_FILE), "w", encoding="utf-8") as handle:
            handle.write(p["sha"] + "\n")
        link_shared(p["path"], release_path, p["shared"])
        if p["venv"]:
            venv = os.path.join(release_path, layout.VENV_LINK)
            if os.path.isdir(venv) and not os.path.islink(venv):
                shutil.rmtree(venv)  # a tree must not ship its own venv
            os.symlink(layout.venv_link_text(p["venv"]), venv)
    except (ReleaseError, OSError) as error:
        module.fail_json(msg="building releases/%s failed: %s. It is left incomplete (no completion "
                             "record): rollback never picks it and the next prune removes it."
                             % (p["name"], error), changed=True, release_path=release_path)
    module.exit_json(changed=True, release_path=release_path, seconds=round(time.monotonic() - started, 2))


if __name__ == "__main__":
    main()
