"""Per-request context (request id, actor) and idempotent POSTs for the API."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from api.access.models import ApiKey, IdempotencyRecord
from api.access.services import key_verify
from api.errors import (
    PROBLEM_CONTENT_TYPE,
    integrity_problem,
    problem,
    problem_for_status,
    too_large,
)
from tenants.audit.context import Actor, acting_as

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL = timedelta(hours=24)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Refusals before the work begins (a bad or short-scoped key, a rate limit) are not
# stored: they had no effect, and storing one would let it stand in for the real answer.
NOT_STORED = frozenset({401, 403, 429})
ACTING_HEADER = "Linli-Acting-Resident"
_VERIFIED = "_linli_verified_key"
_ANSWERED_ONCE = "_linli_answered_once"


def answer_once(request: HttpRequest, *, code: str, detail: str) -> None:
    """The answer to this request holds a secret shown once (a new API key): it is not
    kept for replay. A retry with the same Idempotency-Key gets a 409 problem with this
    code and detail instead, and nothing is done twice."""
    setattr(request, _ANSWERED_ONCE, (code, detail))


_JSON_TYPES = ("application/json", PROBLEM_CONTENT_TYPE)


def _unstorable_in_url(request: HttpRequest) -> str | None:
    """Where the path or the query holds a NUL, which no PostgreSQL text can store (it would
    reach the database as a refused value): the pointer to it, else None."""
    if "\x00" in request.path_info:
        return "/path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return f"/query/{name.replace(chr(0), '')}"
    return None


class ProblemMiddleware:
    """Under ``/api/`` every failure is a problem document, also those answered outside
    the handlers: an unknown method (405), a body past the limit, a reference or a
    uniqueness the database refused (422, 409), and an unexpected error (500, with the
    request's id; never a debug page, with ``DEBUG`` on or off)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            unstorable = _unstorable_in_url(request)
            if unstorable is not None:
                return problem(
                    422,
                    "validation_failed",
                    _("The request is not valid."),
                    errors=[
                        {"pointer": unstorable, "message": _("Text may not hold NUL characters.")}
                    ],
                )
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith("/api/")
            and response.get("Content-Type", "").split(";")[0].strip() not in _JSON_TYPES
        ):
            replaced = problem_for_status(
                response.status_code,
                allow=response.get("Allow", ""),
                request_id=getattr(request, "request_id", ""),
            )
            for header in ("Retry-After", "X-Request-ID"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path_info.startswith("/api/"):
            return None
        return integrity_problem(exc)  # else Django's handler, then a 500 problem above


class RequestContextMiddleware:
    """Gives each request an id (echoed in ``X-Request-ID``) and a clean audit actor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        with acting_as(Actor(user_id=user_id, request_id=request_id)):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class IdempotencyMiddleware:
    """Replays the first response to a POST that carries an ``Idempotency-Key``.

    The record is inserted first, in the transaction that runs the request, so a
    concurrent duplicate waits on the unique index and then replays the stored
    response: one effect, however many copies arrive. A failed first attempt
    (a 5xx or an exception) rolls its record back, so a retry runs anew.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if (
            request.method != "POST"
            or key is None
            or getattr(request, "tenant", None) is None
            or not request.path.startswith("/api/")
        ):
            return self.get_response(request)
        if not 1 <= len(key) <= 255:
            return problem(
                422,
                "idempotency_key_invalid",
                _("An Idempotency-Key is 1 to 255 characters."),
            )
        api_key = verified_key(request)
        if api_key is None:
            # No verified key, no owner: the request is refused by the key auth and
            # nothing is stored or replayed for it.
            return self.get_response(request)
        owner = api_key.prefix
        try:
            body = request.body
        except RequestDataTooBig:
            return too_large()
        fingerprint = hashlib.sha256(
            b"\0".join(
                [
                    request.method.encode(),
                    request.path.encode(),
                    request.headers.get(ACTING_HEADER, "").encode(),
                    body,
                ]
            )
        ).hexdigest()
        IdempotencyRecord.objects.filter(
            owner=owner, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL
        ).delete()
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(
                            owner=owner, key=key, request_hash=fingerprint
                        )
                except IntegrityError:
                    record = None  # a replay, or a concurrent duplicate that waited
                if record is not None:
                    response = self.get_response(request)
                    if (
                        response.status_code >= 500
                        or response.status_code in NOT_STORED
                        or transaction.get_connection().needs_rollback
                    ):
                        transaction.set_rollback(True)
                        return response
                    kept = response
                    if getattr(request, _ANSWERED_ONCE, None):
                        code, detail = getattr(request, _ANSWERED_ONCE)
                        kept = problem(409, code, detail)
                    record.status = kept.status_code
                    record.content_type = kept.get("Content-Type", "")
                    record.body = kept.content
                    record.save(update_fields=["status", "content_type", "body"])
                    return response
        except IntegrityError as exc:
            # A deferred reference check failed as the request's transaction committed:
            # nothing was kept, the record neither; the caller's mistake, answered as one.
            refused = integrity_problem(exc)
            if refused is None:
                raise
            return refused
        stored = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if stored is None or stored.status is None:
            return problem(
                409,
                "idempotency_in_progress",
                _("A request with this Idempotency-Key is still running; retry shortly."),
            )
        if stored.request_hash != fingerprint:
            return problem(
                422,
                "idempotency_key_reused",
                _("This Idempotency-Key was used for a different request."),
            )
        replay = HttpResponse(
            bytes(stored.body), status=stored.status, content_type=stored.content_type
        )
        replay["Idempotent-Replayed"] = "true"
        return replay


def verified_key(request: HttpRequest) -> ApiKey | None:
    """The active API key the request's bearer token names, its secret checked; None for
    no token or a wrong one. Verified once per request and shared with the key auth."""
    if hasattr(request, _VERIFIED):
        return getattr(request, _VERIFIED)
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    key = key_verify(token.strip()) if scheme.lower() == "bearer" else None
    setattr(request, _VERIFIED, key)
    return key
