"""Settings shared by every mode."""
import os
from pathlib import Path

# Project root: the folder holding manage.py (and, once deployed, REVISION).
BASE_DIR = Path(__file__).resolve().parent.parent.parent

# "*" is acceptable only because this is a throwaway sample served on
# 127.0.0.1 and over a unix socket (where the Host header may be anything).
# A real site lists its host names here.
# Like hknweb, only named hosts are allowed (a health check with another Host header gets 400).
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "hknweb.status",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "hknweb.urls"
WSGI_APPLICATION = "hknweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("HKNWEB_STATIC_ROOT") or str(BASE_DIR / "staticfiles")
SERVE_STATIC = os.environ.get("HKNWEB_SERVE_STATIC", "") == "1"

MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

# Shown on the index page; prod replaces it with the value from secrets.py.
SECRETS_LABEL = None

# Print request errors on stderr (the gunicorn log) in every mode.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
