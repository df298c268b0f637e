"""WSGI entry point: ``gunicorn hknweb.wsgi``."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hknweb.settings")

application = get_wsgi_application()

# Load the URLconf now instead of on the first request, so that a release whose
# views or URLs cannot be imported makes the worker fail at boot (gunicorn then
# exits) rather than answering every request with a 500.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns
