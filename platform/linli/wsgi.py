import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
application = get_wsgi_application()


def _warm() -> None:
    """Import the URL configurations now rather than on a process's first request.

    The API's routes build their pydantic models as they are imported (one to two seconds).
    A server that loads the application before forking its workers (``linli web``: gunicorn
    with ``preload_app``) then pays that once, and a recycled worker answers its first
    request as fast as its hundredth.
    """
    from django.conf import settings
    from django.urls import get_resolver

    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        get_resolver(urlconf).url_patterns  # noqa: B018 - importing is the point


_warm()
