"""What the shop answers besides JSON: QR codes (SVG or PNG) and CSV downloads."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from api.types import file_answer
from linli.errors import NotFound
from linli.http import absolute_url
from tenants.shop import qr

# What the document says these answer.
QR_FILES = file_answer("image/svg+xml", "image/png")
CSV_FILE = file_answer("text/csv")


def qr_response(request: HttpRequest, path: str, kind: str, name: str) -> HttpResponse:
    """The QR code of a link on the tenant's host (``kind`` is svg or png)."""
    if kind not in ("svg", "png"):
        raise NotFound(_("QR codes come as svg or png."), code="format_not_found")
    link = absolute_url(request, path)
    if kind == "svg":
        response = HttpResponse(qr.qr_svg(link), content_type="image/svg+xml")
    else:
        response = HttpResponse(qr.qr_png(link), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{name}.{kind}"'
    response["Cache-Control"] = "private, max-age=86400"
    return response


def csv_response(content: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
