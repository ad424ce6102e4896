"""Every API error is RFC 9457 ``application/problem+json`` with a stable ``code``.

Domain exceptions (``linli.errors``) map to problems here, in one place.
Titles are translated by the request's language.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from api.access.services import RateLimited
from api.field_errors import field_message
from linli.errors import LinliError

PROBLEM_CONTENT_TYPE = "application/problem+json"
logger = logging.getLogger("linli.api")


class FieldError(Schema):
    pointer: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None


# What every authenticated operation can answer besides success (declare them all).
# 503: the database is out of reach for a moment (``database_unavailable``, with Retry-After).
READ_ERRORS: dict[int, Any] = {
    401: Problem,
    403: Problem,
    404: Problem,
    422: Problem,
    429: Problem,
    503: Problem,
}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 400: Problem, 409: Problem, 413: Problem}


def titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Not authenticated"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Request too large"),
        422: _("Invalid request"),
        429: _("Too many requests"),
        500: _("Server error"),
        503: _("Service unavailable"),
    }


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body: dict[str, Any] = {
        "type": f"urn:linli:problem:{code}",
        "title": titles().get(status, _("Error")),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def too_large() -> JsonResponse:
    return problem(
        413,
        "payload_too_large",
        _("The request body is too large (at most %(limit)d KB).")
        % {"limit": (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) // 1024},
    )


def database_unavailable_problem() -> JsonResponse:
    """The answer while the database is out of reach (``linli.views.unavailable`` adds
    ``Retry-After``): the request did nothing, and may be sent again."""
    return problem(
        503,
        "database_unavailable",
        _(
            "The service cannot reach its database for a moment; nothing was done. "
            "Try again shortly."
        ),
    )


def _pointer(loc: list[Any] | tuple[Any, ...]) -> str:
    """``("body", "body", "phone")`` → ``/body/phone``: handlers name their body ``body``."""
    parts = list(loc)
    if parts[:2] == ["body", "body"]:
        parts = parts[1:]
    return "/" + "/".join(str(part) for part in parts)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(LinliError)
    def domain_error(request: HttpRequest, exc: LinliError) -> HttpResponse:
        errors = None
        if exc.field:
            errors = [{"pointer": f"/body/{exc.field}", "message": exc.message}]
        # A form checked whole (a signup) names every field that is not right.
        problems: dict[str, str] = getattr(exc, "problems", {})
        if problems:
            errors = [{"pointer": f"/body/{f}", "message": m} for f, m in problems.items()]
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return problem(exc.status, exc.code, exc.message, errors=errors, headers=headers)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"pointer": _pointer(error.get("loc", ())), "message": field_message(error)}
            for error in exc.errors
        ]
        return problem(422, "validation_failed", _("The request is not valid."), errors=errors)

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem(
            401, "not_authenticated", _("Send a valid API key: Authorization: Bearer <key>.")
        )
        response["WWW-Authenticate"] = 'Bearer realm="linli"'
        return response

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return problem(403, "forbidden", _("This key may not do this."))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(404, "not_found", _("There is nothing here."))

    @api.exception_handler(RequestDataTooBig)
    def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return too_large()

    @api.exception_handler(MultiPartParserError)
    def body_malformed(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        return problem(400, "body_malformed", _("The multipart body cannot be read."))

    @api.exception_handler(DataError)
    def value_refused(request: HttpRequest, exc: DataError) -> HttpResponse:
        # A value the database refused that validation let through (a number past 64
        # bits, say): the caller's mistake, answered as one; logged to close the gap.
        logger.warning("database refused a value: %s %s: %s", request.method, request.path, exc)
        if connection.in_atomic_block:
            transaction.set_rollback(True)
        return problem(
            422, "value_out_of_range", _("A value in the request is out of range for Linli.")
        )

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Not answered here, with DEBUG on or off: Django logs it, reports it and sends
        # ``got_request_exception`` (an outage becomes a 503), and the API's problem
        # middleware answers a problem with the request's id, never a debug page.
        raise exc

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # django-ninja's only 400: a body it cannot parse
            return problem(400, "body_malformed", _("The request body is not valid JSON."))
        return problem(exc.status_code, "http_error", str(exc))


# --- Failures outside the handlers -------------------------------------------------------

# A row refers to another that does not exist, or repeats one that must be unique:
# ``Key (leader_id)=(999) is not present in table …`` / ``Key (slug)=(x) already exists.``
_KEY = re.compile(r"Key \((?P<column>[^)]+)\)=")


def integrity_problem(exc: BaseException) -> JsonResponse | None:
    """The problem for a reference or uniqueness the database refused (a gap in the
    services' own checks, logged to close it), or None for any other error."""
    if not isinstance(exc, IntegrityError):
        return None
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None)
    diag = getattr(cause, "diag", None)
    match = _KEY.search(getattr(diag, "message_detail", None) or "")
    field = match.group("column") if match else None
    logger.warning("database refused a write: %s", exc)
    if state == "23503":  # foreign_key_violation
        errors = [{"pointer": f"/body/{field}", "message": _("Nothing has this id.")}]
        return problem(
            422,
            "reference_not_found",
            _("The request refers to something that does not exist."),
            errors=errors if field else None,
        )
    if state == "23505":  # unique_violation
        errors = [{"pointer": f"/body/{field}", "message": _("This value is taken.")}]
        return problem(
            409,
            "already_exists",
            _("Something with these values exists already."),
            errors=errors if field and "," not in field else None,
        )
    return None


# The code of a failure answered outside the handlers (by Django or django-ninja itself).
STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "server_error",
}


def problem_for_status(status: int, *, allow: str = "", request_id: str = "") -> JsonResponse:
    """A problem document in place of Django's or django-ninja's own error page."""
    code = STATUS_CODES.get(status, "http_error")
    if status == 405:
        detail = _("This path does not take this method; it takes %(allowed)s.") % {
            "allowed": allow or "—"
        }
    elif status == 413:
        return too_large()
    elif status >= 500:
        detail = _(
            "Something went wrong on our side; nothing was done. Quote request %(id)s if "
            "you report it."
        ) % {"id": request_id or "—"}
    elif status == 404:
        detail = _("There is nothing here.")
    elif status == 415:
        detail = _("This body's content type is not one this path takes.")
    else:
        detail = _("The request cannot be answered.")
    response = problem(status, code, detail)
    if allow:
        response["Allow"] = allow
    return response


def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Unknown paths under /api/ answer a problem too, not an HTML page."""
    return problem(404, "not_found", _("There is nothing here."))
