"""Settings entry point (DJANGO_SETTINGS_MODULE=hknweb.settings).

The environment variable HKNWEB_MODE picks the flavour: "dev" (the default)
loads hknweb/settings/dev.py, "prod" loads hknweb/settings/prod.py.
"""
import os
import sys

HKNWEB_MODE = os.environ.get("HKNWEB_MODE", "dev").strip().lower() or "dev"

if HKNWEB_MODE == "dev":
    from .dev import *  # noqa: F401,F403
elif HKNWEB_MODE == "prod":
    from .prod import *  # noqa: F401,F403
else:
    sys.exit(
        f"HKNWEB_MODE={os.environ.get('HKNWEB_MODE')!r} is not valid: "
        "set it to 'dev' or 'prod' (unset means 'dev')"
    )

SELECTED_SETTINGS_MODULE = f"{__name__}.{HKNWEB_MODE}"
