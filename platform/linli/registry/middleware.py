"""Route each request to its tenant by host, before anything reads the database.

``{slug}.{LINLI_BASE_DOMAIN}`` (or any Domain row) serves that tenant's
schema and URLs; the base domain itself serves the platform. An unknown host
gets a 404 page, a suspended or closed tenant a 403 page (problem+json under
``/api/``). Neither ever falls back to another schema. A suspended tenant's
admin stays readable: GET requests (and signing in and out) pass, flagged
``request.tenant_read_only``; any other write there gets the 403.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import trans_real

from linli.db.access import tenant_db
from linli.registry.context import tenant_zone
from linli.registry.models import Tenant
from linli.registry.selectors import platform_hosts, tenant_for_host


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = request.get_host().rsplit(":", 1)[0].lower()
        if host in platform_hosts():
            request.tenant = None  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            tenant_db().set_schema_to_public()
            return self.get_response(request)
        tenant = tenant_for_host(host)
        if tenant is None:
            return _refuse(request, None, 404, "tenant_not_found")
        if not tenant.is_serving:
            if not _admin_readable(request, tenant):
                return _refuse(request, tenant, 403, f"tenant_{tenant.status}")
            request.tenant_read_only = True  # type: ignore[attr-defined]
        request.tenant = tenant  # type: ignore[attr-defined]
        tenant_db().set_tenant(tenant)
        return self.get_response(request)


# While suspended, a tenant's admin stays readable, and its staff may still sign in (with
# their second factor) and out.
_SIGN_IN_OUT = ("/admin/login/", "/admin/logout/", "/admin/security/verify/")


def _admin_readable(request: HttpRequest, tenant: Tenant) -> bool:
    if tenant.status != Tenant.Status.SUSPENDED or not request.path_info.startswith("/admin/"):
        return False
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return True
    return request.path_info.startswith(_SIGN_IN_OUT)


def _refuse(request: HttpRequest, tenant: Tenant | None, status: int, code: str) -> HttpResponse:
    language = preferred_language(request) or (tenant.locale if tenant else settings.LANGUAGE_CODE)
    with translation.override(language):
        if tenant is None:
            title = _("No neighbourhood here")
            detail = _("There is no Linli site at this address. Check the address and try again.")
        elif tenant.status == Tenant.Status.SUSPENDED and request.path_info.startswith("/admin/"):
            title = _("This site is paused")
            detail = _(
                "%(name)s is suspended: its administration can be read but not changed "
                "until the platform resumes it."
            ) % {"name": tenant.name}
        else:
            title = _("This site is paused")
            detail = _(
                "%(name)s is not available at the moment. Residents' data is kept safe; "
                "the district's administrators have been told how to restore access."
            ) % {"name": tenant.name}
        if request.path.startswith("/api/"):
            body = {"type": "about:blank", "title": title, "status": status, "code": code}
            body["detail"] = detail
            return JsonResponse(body, status=status, content_type="application/problem+json")
        context = {"title": title, "detail": detail, "code": code, "language": language}
        return render(request, "linli/errors/tenant.html", context, status=status)


def preferred_language(request: HttpRequest) -> str | None:
    """The visitor's own choice (cookie, then Accept-Language), if they made one."""
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie:
        try:
            return trans_real.get_supported_language_variant(cookie)
        except LookupError:
            pass
    header = request.headers.get("Accept-Language", "")
    for code, _quality in trans_real.parse_accept_lang_header(header):
        if code == "*":
            continue
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


class TenantLocaleMiddleware(LocaleMiddleware):
    """LocaleMiddleware whose fallback is the tenant's language, not the platform's."""

    def process_request(self, request: HttpRequest) -> None:
        tenant = getattr(request, "tenant", None)
        fallback = tenant.locale if tenant is not None else settings.LANGUAGE_CODE
        translation.activate(preferred_language(request) or fallback)
        request.LANGUAGE_CODE = translation.get_language()
        if tenant is not None:  # "today" is the tenant's today
            timezone.activate(tenant_zone(tenant))
        else:
            timezone.deactivate()
