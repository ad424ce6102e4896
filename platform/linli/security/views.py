"""The admin sites' sign-in pages (password, then a code when two-factor is on) and the
page where staff turn two-factor on and off. Thin: the rules live in ``services``."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import pyotp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from linli.errors import LinliError
from linli.http import client_ip
from linli.security import selectors, services
from linli.security.models import LoginAttempt

PENDING = "linli_security_pending"
PENDING_SECONDS = 300  # the code must follow the password within five minutes


class _Refusable:
    """Mixin for the site's login form: a refusal set by the view ends validation before
    the password is checked, so a locked account learns nothing about its password."""

    refusal: str | None = None

    def clean(self) -> Any:
        if self.refusal:
            raise ValidationError(self.refusal, code="login_locked")
        return super().clean()  # type: ignore[misc]


@cache
def _form_class(base: type[AuthenticationForm]) -> type[AuthenticationForm]:
    return type(f"Guarded{base.__name__}", (_Refusable, base), {})


def _urls_name(site: Any, name: str) -> str:
    return reverse(f"admin:{name}", current_app=site.name)


def _device(request: HttpRequest) -> str:
    return request.COOKIES.get(selectors.DEVICE_COOKIE, "")


def _trusted(request: HttpRequest, response: HttpResponse, user: Any) -> HttpResponse:
    """Mark the browser as the account's own device (after a completed sign-in), so that
    other addresses' failures never slow its next sign-ins."""
    response.set_cookie(
        selectors.DEVICE_COOKIE,
        services.device_token(user=user),
        max_age=selectors.DEVICE_DAYS * 24 * 3600,
        path="/admin/",
        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _redirect_target(request: HttpRequest, site: Any) -> str:
    return LoginView().get_redirect_url(request) or _urls_name(site, "index")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def admin_login(
    request: HttpRequest, *, site: Any, extra_context: dict[str, Any] | None = None
) -> HttpResponse:
    """The site's login: Django's form and template, behind the brute-force limits, and
    handing over to the code page (without logging in) when the user has two-factor on."""
    redirect_to = _redirect_target(request, site)
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(redirect_to)
    form_class = _form_class(site.login_form or AdminAuthenticationForm)
    status, retry_after = 200, 0
    if request.method == "POST":
        form = form_class(request, data=request.POST)
        try:
            attempt = services.login_attempt_start(
                username=request.POST.get("username", ""),
                ip=client_ip(request),
                step=LoginAttempt.Step.PASSWORD,
                device=_device(request),
            )
        except services.LoginLocked as exc:
            form.refusal = exc.message  # type: ignore[attr-defined]
            form.is_valid()
            status = 429
            retry_after = exc.retry_seconds
        else:
            if form.is_valid():
                user = form.get_user()
                if selectors.two_factor_device(user=user) is not None:
                    services.login_attempt_succeed(attempt=attempt, signed_in=False)
                    # a session key planted before the password must not carry the pending sign-in
                    request.session.cycle_key()
                    request.session[PENDING] = {
                        "user": user.pk,
                        "backend": getattr(user, "backend", ""),
                        "next": redirect_to,
                        "until": int(time.time()) + PENDING_SECONDS,
                    }
                    return HttpResponseRedirect(_urls_name(site, "security_verify"))
                services.login_attempt_succeed(attempt=attempt, signed_in=True)
                request.session.pop(PENDING, None)
                auth_login(request, user)
                return _trusted(request, HttpResponseRedirect(redirect_to), user)
            services.login_attempt_fail(attempt=attempt)
    else:
        form = form_class(request)
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        REDIRECT_FIELD_NAME: redirect_to,
        "redirect_field_name": REDIRECT_FIELD_NAME,
        "form": form,
        "site_name": site.site_header,
        **(extra_context or {}),
    }
    request.current_app = site.name
    response = TemplateResponse(
        request, site.login_template or "admin/login.html", context, status=status
    )
    if status == 429:
        response["Retry-After"] = str(retry_after)
    return response


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or int(pending.get("until", 0)) < time.time():
        request.session.pop(PENDING, None)
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        request.session.pop(PENDING, None)
        return None
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or selectors.two_factor_device(user=user) is None:
        request.session.pop(PENDING, None)
        return None
    return user, pending


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def verify(request: HttpRequest, *, site: Any) -> HttpResponse:
    """The second step: the code from the authenticator app, or a recovery code."""
    found = _pending_user(request)
    if found is None:
        return HttpResponseRedirect(_urls_name(site, "login"))
    user, pending = found
    status, error, retry_after = 200, "", 0
    if request.method == "POST":
        try:
            kind = services.two_factor_sign_in(
                user=user,
                code=request.POST.get("code", ""),
                ip=client_ip(request),
                device=_device(request),
            )
        except services.LoginLocked as exc:
            status, error, retry_after = 429, exc.message, exc.retry_seconds
        except services.CodeRefused as exc:
            status, error = 400, exc.message
        else:
            request.session.pop(PENDING, None)
            auth_login(request, user, backend=pending.get("backend") or None)
            if kind == "recovery":
                messages.warning(
                    request,
                    _("You signed in with a recovery code; each code works only once."),
                )
            target = str(pending.get("next") or _urls_name(site, "index"))
            return _trusted(request, HttpResponseRedirect(target), user)
    context = {
        **site.each_context(request),
        "title": _("Enter your two-factor code"),
        "subtitle": None,
        "error": error,
        "login_url": _urls_name(site, "login"),
    }
    request.current_app = site.name
    response = TemplateResponse(request, "security/verify.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _qr_svg(uri: str) -> str:
    # segno writes the SVG itself from the URI; nothing user-typed reaches it unescaped.
    return mark_safe(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))  # noqa: S308


@sensitive_post_parameters("password", "code")
def two_factor(request: HttpRequest, *, site: Any) -> HttpResponse:
    """Turn two-factor sign-in on (scan, confirm with a code, keep the recovery codes)
    or off (password and a code). Wrapped in the site's admin_view: staff only."""
    user = request.user
    status, error, retry_after = 200, "", 0
    recovery_codes: list[str] = []
    action = request.POST.get("action", "") if request.method == "POST" else ""
    try:
        if action == "start":
            services.two_factor_enrol_start(user=user)
            return HttpResponseRedirect(request.path)
        if action == "confirm":
            recovery_codes = services.two_factor_enrol_confirm(
                user=user, code=request.POST.get("code", "")
            )
        elif action == "disable":
            services.two_factor_disable(
                user=user,
                password=request.POST.get("password", ""),
                code=request.POST.get("code", ""),
                ip=client_ip(request),
                device=_device(request),
            )
            messages.success(request, _("Two-factor sign-in is off."))
            return HttpResponseRedirect(request.path)
        elif request.method == "POST":
            status, error = 400, _("Choose what to do.")
    except services.LoginLocked as exc:
        status, error, retry_after = 429, exc.message, exc.retry_seconds
    except LinliError as exc:
        status, error = (409 if exc.status == 409 else 400), exc.message
    device = selectors.two_factor_device(user=user)
    pending = None if device else selectors.two_factor_pending(user=user)
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": _("Two-factor sign-in"),
        "subtitle": None,
        "error": error,
        "device": device,
        "recovery_codes": recovery_codes,
        "codes_left": selectors.recovery_codes_left(device=device) if device else 0,
    }
    if pending is not None:
        secret = services.secret_of(pending)
        uri = pyotp.TOTP(secret).provisioning_uri(
            name=user.get_username(), issuer_name=f"Linli {request.get_host().split(':')[0]}"
        )
        context["qr_svg"] = _qr_svg(uri)
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    request.current_app = site.name
    response = TemplateResponse(request, "security/two_factor.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def security_urls(site: Any) -> list[Any]:
    """The pages to add to an admin site's ``get_urls``."""
    return [
        path(
            "security/verify/",
            lambda request: verify(request, site=site),
            name="security_verify",
        ),
        path(
            "security/two-factor/",
            site.admin_view(lambda request: two_factor(request, site=site)),
            name="security_two_factor",
        ),
    ]
