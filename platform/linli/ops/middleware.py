"""Operations middleware: health probes on any host, and per-request observability.

``HealthMiddleware`` goes first: load balancers probe ``/healthz`` and ``/readyz``
on whatever host they know (an address, a tenant's host, a custom domain), and
the tenant middleware would refuse an unknown host. ``RequestObservabilityMiddleware``
goes right after the tenant middleware: it gives the request its id (a sane
incoming ``X-Request-ID`` or a new one), binds id, tenant and module to every
log line and to Sentry's scope, counts and times the request for the metrics,
and writes one access line.

Both answer for a database outage: an exception that means the database is out of reach
(``linli.ops.health.database_unavailable``), raised anywhere below them (the tenant
lookup, sessions, the API key check, a view), becomes a 503 with ``Retry-After`` instead
of a 500 page: a problem document under ``/api/``, a plain "try again shortly" page
elsewhere (``linli.views.unavailable``). Django turns an exception into a 500 response
at every middleware's boundary, telling only ``got_request_exception``; the receiver
here marks the request, and the middleware swaps the answer.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse

from linli.ops import metrics, views
from linli.ops.health import database_unavailable
from linli.ops.logs import bound, module_for_path
from linli.ops.sentry import request_tags

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"

access_log = logging.getLogger("linli.access")

# Answered on any host: probes reach pods by address, and Prometheus scrapes each pod
# the same way (``/metrics`` is behind its bearer token).
_PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
    "/metrics": views.metrics_view,
}


def sane_request_id(value: str) -> bool:
    """1 to 64 characters of letters, digits, ``.``, ``_`` and ``-``."""
    from api.middleware import REQUEST_ID

    return bool(REQUEST_ID.match(value))


_UNAVAILABLE = "_linli_database_unavailable"


def _note_outage(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and database_unavailable(sys.exc_info()[1]):
        setattr(request, _UNAVAILABLE, True)


got_request_exception.connect(_note_outage, dispatch_uid="linli.ops.middleware.outage")


def outage_answer(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The 503 for a request that failed because the database was away, else ``response``."""
    if response.status_code >= 500 and getattr(request, _UNAVAILABLE, False):
        from linli.views import unavailable

        return unavailable(request)
    return response


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path_info)
        if probe is not None and request.method in {"GET", "HEAD"}:
            return probe(request)
        return outage_answer(request, self.get_response(request))


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        given = request.META.get(_REQUEST_ID_META, "")
        request_id = given if sane_request_id(given) else uuid.uuid4().hex
        # Later readers of the header (the API's request context and audit actor) see the
        # same id; drop the cached header view so they re-read it.
        request.META[_REQUEST_ID_META] = request_id
        request.__dict__.pop("headers", None)
        request.request_id = request_id  # type: ignore[attr-defined]
        tenant = getattr(request, "tenant", None)
        slug = tenant.schema_name if tenant is not None else None
        module = module_for_path(request.path_info)
        request_tags(tenant=slug or "public", module=module, request_id=request_id)
        with bound(request_id=request_id, tenant=slug, module=module):
            response = outage_answer(request, self.get_response(request))
            seconds = time.perf_counter() - started
            metrics.observe_request(module=module, status=response.status_code, seconds=seconds)
            _access_line(request, response, seconds)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _access_line(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    user = getattr(request, "user", None)
    key = getattr(request, "api_key", None)
    access_log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "user_id": user.pk if user is not None and user.is_authenticated else None,
            "key_id": key.pk if key is not None else None,
        },
    )
