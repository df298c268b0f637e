"""Remember the environment `manage.py migrate` ran with, so the page can show it.

A deploy must give migrate the same HKNWEB_MODE as the service; without it migrate would
run with dev settings (and a different database). After every migrate this writes
migrate-record.json next to manage.py (so per release, not shared).
"""
import json
import os
from datetime import datetime, timezone

from django.conf import settings

RECORD_NAME = "migrate-record.json"


def record_path():
    return settings.BASE_DIR / RECORD_NAME


def record_migrate(sender, **kwargs):
    record = {
        "HKNWEB_MODE": os.environ.get("HKNWEB_MODE"),
        "settings_module": settings.SELECTED_SETTINGS_MODULE,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    record_path().write_text(json.dumps(record, indent=2) + "\n")


def read_record():
    """The last record, or None when migrate never ran in this folder."""
    try:
        return json.loads(record_path().read_text())
    except (OSError, ValueError):
        return None
