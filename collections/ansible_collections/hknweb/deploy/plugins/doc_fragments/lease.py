# -*- coding: utf-8 -*-
# Copyright: hknweb maintainers
# MIT License (see LICENSE)
"""The `lease` option every host stage after deploy_begin takes (the run's lock lease, renewed inside
the stage's own call): documented once here, named by each module's extends_documentation_fragment."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  lease:
    description:
      - The run's lock lease as M(hknweb.deploy.deploy_begin) returned it (C(path), C(run), C(seconds)).
      - Renewed when the stage starts, inside this call; the stage stops, changing nothing, when the lock
        is no longer this run's (it was taken over after its lease ran out). Empty - nothing to renew.
    type: dict
"""
