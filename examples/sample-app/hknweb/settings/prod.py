"""Production settings.

Needs hknweb/settings/secrets.py (kept out of git; see secrets.py.example),
and keeps the database in data/, a folder the deploy links to shared storage.
"""
from django.core.exceptions import ImproperlyConfigured

from .common import *  # noqa: F401,F403
from .common import BASE_DIR

try:
    from . import secrets
except ImportError as exc:
    raise ImproperlyConfigured(
        "HKNWEB_MODE=prod needs hknweb/settings/secrets.py "
        "(copy secrets.py.example and fill it in)"
    ) from exc

DEBUG = False

SECRET_KEY = secrets.SECRET_KEY
SECRETS_LABEL = getattr(secrets, "SECRETS_LABEL", None)

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "data" / "db.sqlite3",
    }
}
