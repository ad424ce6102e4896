"""Uploaded photos, served on their own tenant's host only (``/media/<schema>/<name>``).

Django serves them, in production too: the proxy in ``deploy/`` hands every path to the
web processes, and only here is the tenant known. A photo's name is random
(``linli.uploads.photo_name``): its URL is what lets a browser fetch it, without a
session or an API key (an ``<img>`` sends neither), and the bytes at a name never
change, so browsers may keep them. Another tenant's host, a path that leaves the
tenant's folder, a folder or any other kind of file all answer the same 404.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

from linli.uploads import CONTENT_TYPES

# Kept by the browser only: a shared cache (a CDN) would go on serving a photo after it
# is deleted or the tenant is suspended, to anyone holding the URL.
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Should a browser ever take a photo for a page, it may run nothing and load nothing.
CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"
# One name in a path: letters (any script: admins upload 荔枝.jpg), digits, ``._-``, and
# never starting with a dot (so never ``.`` or ``..``). No slash, backslash, colon or NUL.
SEGMENT = re.compile(r"\w[\w.-]{0,199}")


@require_safe
def media_file(request: HttpRequest, path: str) -> HttpResponseBase:
    found = _tenant_file(request, path)
    if found is None:
        raise Http404
    file, content_type = found
    stat = file.stat()
    response: HttpResponseBase
    if not was_modified_since(request.headers.get("If-Modified-Since"), stat.st_mtime):
        response = HttpResponseNotModified()
    elif request.method == "HEAD":
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(stat.st_size)
    else:
        response = FileResponse(file.open("rb"), content_type=content_type)
    response["Last-Modified"] = http_date(stat.st_mtime)
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _tenant_file(request: HttpRequest, path: str) -> tuple[Path, str] | None:
    """The file ``path`` names in this host's tenant's folder, and its type from the name's
    extension (never from its bytes), if it is a photo there."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return None
    schema, *names = path.split("/")
    if schema != tenant.schema_name or not names:
        return None
    if not all(SEGMENT.fullmatch(name) for name in names):
        return None
    content_type = CONTENT_TYPES.get(Path(names[-1]).suffix[1:].lower())
    if content_type is None:
        return None
    root = (Path(settings.MEDIA_ROOT) / tenant.schema_name).resolve()
    file = root.joinpath(*names).resolve()
    # A symbolic link could still lead out of the folder.
    if not file.is_relative_to(root) or not file.is_file():
        return None
    return file, content_type
