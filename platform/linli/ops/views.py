"""The operations endpoints: /healthz, /readyz and /metrics (behind its token), on any host."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from linli.ops import health, metrics

NO_STORE = "no-store"

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive; touches nothing else."""
    response = JsonResponse(health.liveness())
    response["Cache-Control"] = NO_STORE
    return response


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when this process may receive traffic, else 503 naming the failing checks."""
    result = health.readiness()
    body: dict[str, object] = {"status": "ok" if result.ready else "unavailable"}
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
    token = settings.LINLI_METRICS_TOKEN
    if not token:
        return HttpResponse(status=404)
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
    response["Cache-Control"] = NO_STORE
    return response
