"""Signup pages: the form on the platform host, the verification link, and the landing in
the new tenant's admin (on the tenant's host), already logged in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from linli.accounts import services
from linli.errors import LinliError
from linli.http import absolute_url, client_ip, public_origin
from linli.registry.models import Module

FIELDS = ("district_name", "slug", "region", "locale", "time_zone", "admin_name", "email")
# The zones a district is most likely in, first; any other IANA name typed through the
# API is accepted and shown too.
TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Asia/Hong_Kong",
    "Asia/Macau",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Europe/London",
    "America/New_York",
    "UTC",
)
EXAMPLE_SLUG = "cenxi"
LANGUAGES = (("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English"))


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    values = {k: request.POST.get(k, "") for k in FIELDS}
    zone = values["time_zone"] or "Asia/Shanghai"
    context: dict[str, Any] = {
        "values": values,
        "modules": [(m.value, m.label) for m in Module if m.value != "community"],
        "chosen": request.POST.getlist("modules"),
        "languages": LANGUAGES,
        "locale": values["locale"] or "zh-hans",
        "time_zones": TIME_ZONES if zone in TIME_ZONES else (*TIME_ZONES, zone),
        "time_zone": zone,
        "base_domain": settings.LINLI_BASE_DOMAIN,
        "problems": {},
        "preview_slug": values["slug"].strip().lower() or EXAMPLE_SLUG,
    }
    if request.method == "POST":
        try:
            signup_row, _token = services.signup_start(
                district_name=request.POST.get("district_name", ""),
                slug=request.POST.get("slug", ""),
                email=request.POST.get("email", ""),
                password=request.POST.get("password", ""),
                admin_name=request.POST.get("admin_name", ""),
                region=request.POST.get("region", ""),
                locale=request.POST.get("locale") or "zh-hans",
                time_zone=request.POST.get("time_zone") or "Asia/Shanghai",
                modules=request.POST.getlist("modules"),
                honeypot=request.POST.get("website", ""),
                ip=client_ip(request),
                verify_url=absolute_url(request, "/signup/verify"),
            )
        except LinliError as exc:
            problems = getattr(exc, "problems", None) or (
                {exc.field: exc.message} if exc.field else {}
            )
            context["problems"] = problems
            context["error"] = None if problems else exc.message
            if "slug" in problems:
                context["preview_slug"] = EXAMPLE_SLUG
            return render(request, "accounts/signup.html", context, status=exc.status)
        return render(request, "accounts/signup_sent.html", {"email": signup_row.email})
    return render(request, "accounts/signup.html", context)


def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        tenant, login_token = services.signup_verify(token=token)
    except LinliError as exc:
        return render(request, "accounts/signup_failed.html", {"error": exc.message}, status=400)
    base = public_origin(request, domain=services.tenant_host(tenant))
    return HttpResponseRedirect(f"{base}/signup/welcome/{login_token}")


def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """On the new tenant's host: log the first admin in once, then into the admin."""
    tenant = getattr(request, "tenant", None)
    try:
        if tenant is None:
            raise LinliError("no tenant")
        username = services.signup_login_consume(tenant=tenant, token=token)
    except LinliError:
        return HttpResponseRedirect("/admin/login/")
    user = get_user_model().objects.get(username=username)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect("/admin/")
