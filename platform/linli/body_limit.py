"""A request larger than anything the API or the resident pages take is refused by its
``Content-Length``, before a byte of its body is read.

Django's own limits come too late for uploads: ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not
count files, and ``FILE_UPLOAD_MAX_MEMORY_SIZE`` only moves a large file from memory to
disk. The first look at the body (the CSRF check, the idempotency fingerprint, a handler
asking for its file) reads all of it, so a 60 MB upload was read, then refused.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from api.errors import too_large
from linli.uploads import MAX_UPLOAD_BODY_BYTES

# The most either takes is one photo and a few short fields. (The admin takes larger
# files, a household import of 20 MB, and keeps Django's own limits.)
LIMITED_PATHS = ("/api/", "/r/")

PHOTO_TOO_LARGE_TITLE = gettext_lazy("The photo is too large")
PHOTO_TOO_LARGE_DETAIL = gettext_lazy(
    "A photo may be at most 5 MB. Choose a smaller one, or take it again at a lower "
    "resolution, and send it again."
)


class BodyLimitMiddleware:
    """413 for a body over ``MAX_UPLOAD_BODY_BYTES`` under ``/api/`` (a problem document)
    and ``/r/`` (a page in the visitor's language). After the tenant and the language are
    known, before anything reads the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _declared_length(request) > MAX_UPLOAD_BODY_BYTES and request.path_info.startswith(
            LIMITED_PATHS
        ):
            return _refuse(request)
        return self.get_response(request)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body for a length it cannot parse either


def _refuse(request: HttpRequest) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return too_large()  # the same problem as a body Django refuses to read
    context = {
        "title": PHOTO_TOO_LARGE_TITLE,
        "detail": PHOTO_TOO_LARGE_DETAIL,
        "back": request.path,
    }
    return render(request, "linli/errors/too_large.html", context, status=413)
