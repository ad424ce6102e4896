"""Operations middleware: health probes on any host, and per-request observability.

``HealthMiddleware`` goes first: load balancers probe ``/healthz`` and ``/readyz``
on whatever host they know (an address, a tenant's host, a custom domain), and
the tenant middleware would refuse an unknown host. ``RequestObservabilityMiddleware``
goes right after the tenant middleware: it gives the request its id (a sane
incoming ``X-Request-ID`` or a new one), binds id, tenant and module to every
log line and to Sentry's scope, counts and times the request for the metrics,
and writes one access line.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from linli.ops import metrics, views
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


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path_info)
        if probe is not None and request.method in {"GET", "HEAD"}:
            return probe(request)
        return self.get_response(request)


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
            response = self.get_response(request)
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
