from django.conf import settings
from django.urls import path, re_path
from django.views.static import serve

from hknweb.status import views

urlpatterns = [
    path("", views.index, name="index"),
    path("health", views.health, name="health"),
]

# Normally the web server in front of gunicorn serves STATIC_ROOT. For tests
# without one, HKNWEB_SERVE_STATIC=1 lets Django serve the collected files.
if settings.SERVE_STATIC:
    urlpatterns.append(
        re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    )
