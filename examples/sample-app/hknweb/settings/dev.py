"""Development settings: no secrets needed, database next to manage.py."""
from .common import *  # noqa: F401,F403
from .common import BASE_DIR

DEBUG = True

SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
