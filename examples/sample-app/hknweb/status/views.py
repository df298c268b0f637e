from importlib import metadata

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from .migrate_record import read_record
from .models import Note


def current_revision():
    """The commit SHA the deploy wrote to REVISION next to manage.py."""
    try:
        text = (settings.BASE_DIR / "REVISION").read_text().strip()
    except OSError:
        return "unknown"
    return text or "unknown"


def prod_group_package():
    """Version of the package from Poetry's optional "prod" group, if installed."""
    try:
        return f"packaging {metadata.version('packaging')}"
    except metadata.PackageNotFoundError:
        return "not installed"


def migrate_mode():
    """HKNWEB_MODE as `manage.py migrate` saw it in this release ("unset", or "not run")."""
    record = read_record()
    if record is None:
        return "not run"
    return record.get("HKNWEB_MODE") or "unset"


def index(request):
    context = {
        "revision": current_revision(),
        "mode": settings.HKNWEB_MODE,
        "settings_module": settings.SELECTED_SETTINGS_MODULE,
        "secrets_label": settings.SECRETS_LABEL,
        "note_count": Note.objects.count(),
        "release_dir": str(settings.BASE_DIR),
        "prod_group": prod_group_package(),
        "migrate_mode": migrate_mode(),
    }
    return render(request, "status/index.html", context)


def health(request):
    return JsonResponse(
        {"status": "ok", "revision": current_revision(), "mode": settings.HKNWEB_MODE}
    )
