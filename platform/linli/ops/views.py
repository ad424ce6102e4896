"""The operations endpoints: /healthz, /readyz and /metrics (behind its token), on any host."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from linli.ops import health, metrics
from linli.registry.selectors import platform_hosts

NO_STORE = "no-store"

logger = logging.getLogger(__name__)


def _metrics_token_given(request: HttpRequest) -> bool:
    """``Authorization: Bearer $LINLI_METRICS_TOKEN``, with a token configured."""
    token = settings.LINLI_METRICS_TOKEN
    if not token:
        return False
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _on_platform_host(request: HttpRequest) -> bool:
    # These views run before the tenant middleware, so the host is read here the same way.
    try:
        host = request.get_host().rsplit(":", 1)[0].lower()
    except DisallowedHost:
        return False
    return host in platform_hosts()


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive; touches nothing else."""
    response = JsonResponse(health.liveness())
    response["Cache-Control"] = NO_STORE
    return response


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when this process may receive traffic, else 503.

    The checks and their results (which say, for one, whether a job worker is running)
    are shown only on the platform host or with the metrics token; a probe on any other
    host (a tenant's, a custom domain, an address) gets the status alone, which is all a
    load balancer reads.
    """
    result = health.readiness()
    body: dict[str, object] = {"status": "ok" if result.ready else "unavailable"}
    if _on_platform_host(request) or _metrics_token_given(request):
        if not result.ready:
            body["failing"] = result.failing
        body["checks"] = result.checks
    response = JsonResponse(body, status=200 if result.ready else 503)
    response["Cache-Control"] = NO_STORE
    if not result.ready:
        # Not ready is an answer, not a server error (a starting process says it to every
        # probe): a warning naming the checks, instead of Django's error line.
        logger.warning("Not ready: %s", ", ".join(result.failing))
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, behind ``Authorization: Bearer $LINLI_METRICS_TOKEN``.

    No token configured: the endpoint does not exist (404). A missing or wrong
    token: 401.
    """
    if not settings.LINLI_METRICS_TOKEN:
        return HttpResponse(status=404)
    if not _metrics_token_given(request):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
    response["Cache-Control"] = NO_STORE
    return response
