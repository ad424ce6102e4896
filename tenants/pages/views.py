"""The resident pages at ``/r/``: plain forms that work before (and without) JavaScript,
large type, one task a page. Every action calls the same services as the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from linli.errors import LinliError
from linli.http import absolute_url, client_ip
from tenants.community.actor import actor_for_resident
from tenants.pages import signin, wechat

COOKIE = "linli_r"
# The larger-text mode (长辈版): kept in the browser, signed in or not, for a year.
TEXT_COOKIE = "linli_text"
TEXT_LARGE = "large"
WECHAT_STATE = "linli_wx_state"
WECHAT_PENDING = "linli_wx_pending"
View = Callable[..., HttpResponse]


def resident_page(view: View) -> View:
    """The signed-in resident in ``request.resident``; others go to sign in first."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        resident = signin.session_resident(request.COOKIES.get(COOKIE))
        if resident is None:
            return HttpResponseRedirect(f"/r/sign-in?next={request.path}")
        request.resident = resident  # type: ignore[attr-defined]
        request.actor = actor_for_resident(resident)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/r/"
    return target if target.startswith("/r/") and "//" not in target else "/r/"


def _sign_in_context(request: HttpRequest) -> dict[str, Any]:
    user_agent = request.headers.get("User-Agent", "")
    return {
        "next": _next(request),
        "phone": request.POST.get("phone", ""),
        # inside WeChat's browser, with an official account: one tap instead of a code
        "wechat": wechat.enabled() and wechat.in_wechat(user_agent),
        "wechat_pending": wechat.pending_openid(request.COOKIES.get(WECHAT_PENDING)) is not None,
    }


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    context = _sign_in_context(request)
    if request.method == "POST":
        try:
            if "code" in request.POST:
                resident, token = signin.code_verify(
                    phone=request.POST.get("phone", ""),
                    code=request.POST.get("code", ""),
                    user_agent=request.headers.get("User-Agent", ""),
                )
                response = _session_cookie(HttpResponseRedirect(context["next"]), token)
                openid = wechat.pending_openid(request.COOKIES.get(WECHAT_PENDING))
                if openid is not None:  # the phone proved: WeChat signs them in from now on
                    wechat.bind(openid=openid, resident=resident)
                    response.delete_cookie(WECHAT_PENDING, path="/r/")
                return response
            code = signin.code_request(phone=request.POST.get("phone", ""), ip=client_ip(request))
            context["code_sent"] = True
            context["wait"] = 60  # seconds until another code may be sent
            if settings.DEBUG and code:  # development: no SMS provider, show it on the page
                context["dev_code"] = code
        except signin.JustSent as exc:
            # Back on the phone step with a code on its way: the code box, not a dead end.
            context["code_sent"] = True
            context["just_sent"] = True
            context["wait"] = max(1, int((exc.resend_at - timezone.now()).total_seconds()) + 1)
        except LinliError as exc:
            context["error"] = exc.message
            context["code_sent"] = "code" in request.POST
    return render(request, "pages/sign_in.html", context, status=200)


def _wechat_back(request: HttpRequest) -> str:
    return absolute_url(request, "/r/wechat/back")


def _private_cookie(response: HttpResponse, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/r/",
        httponly=True,
        samesite="Lax",  # WeChat's redirect back is a top-level GET: the cookie comes along
        secure=not settings.DEBUG,
    )


@require_http_methods(["GET"])
def wechat_start(request: HttpRequest) -> HttpResponse:
    """The "sign in with WeChat" button: off to WeChat's web authorisation and back."""
    if not wechat.enabled():
        return render(request, "pages/not_found.html", status=404)
    url, state = wechat.start(redirect_uri=_wechat_back(request), next_path=_next(request))
    response = HttpResponseRedirect(url)
    _private_cookie(response, WECHAT_STATE, state, wechat.STATE_SECONDS)
    return response


@require_http_methods(["GET"])
def wechat_back(request: HttpRequest) -> HttpResponse:
    """WeChat sends the browser back with a code (or without, when the user declined)."""
    if not wechat.enabled():
        return render(request, "pages/not_found.html", status=404)
    context = _sign_in_context(request)
    try:
        context["next"] = wechat.came_back(
            cookie=request.COOKIES.get(WECHAT_STATE), state=request.GET.get("state", "")
        )
        if not request.GET.get("code"):
            raise wechat.WeChatRefused(
                _("WeChat sign-in was not allowed. Sign in with your phone number instead.")
            )
        openid = wechat.openid_for(code=request.GET["code"], redirect_uri=_wechat_back(request))
    except wechat.WeChatRefused as exc:
        context["error"] = exc.message
        response = render(request, "pages/sign_in.html", context, status=400)
        response.delete_cookie(WECHAT_STATE, path="/r/")
        return response
    token = wechat.sign_in(openid=openid, user_agent=request.headers.get("User-Agent", ""))
    if token is not None:
        response = _session_cookie(HttpResponseRedirect(context["next"]), token)
    else:  # the first time: prove the phone once, then WeChat is enough
        response = HttpResponseRedirect(f"/r/sign-in?next={quote(context['next'])}")
        _private_cookie(response, WECHAT_PENDING, wechat.pending(openid), wechat.PENDING_SECONDS)
    response.delete_cookie(WECHAT_STATE, path="/r/")
    return response


def _session_cookie(response: HttpResponse, token: str) -> HttpResponse:
    response.set_cookie(
        COOKIE,
        token,
        max_age=signin.SESSION_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=not settings.DEBUG,
    )
    return response


@require_http_methods(["GET", "POST"])
def household_pass(request: HttpRequest, token: str) -> HttpResponse:
    """The printed household QR code: choose who you are, and you are signed in."""
    residents = signin.household_pass_residents(token=token)
    if not residents:
        return render(request, "pages/not_found.html", status=404)
    if request.method == "POST":
        raw = request.POST.get("resident", "")
        try:
            session = signin.household_pass_use(
                token=token,
                resident_id=int(raw) if raw.isdigit() else 0,
                user_agent=request.headers.get("User-Agent", ""),
            )
        except LinliError as exc:
            return render(
                request, "pages/pass.html", {"residents": residents, "error": exc.message}
            )
        return _session_cookie(HttpResponseRedirect("/r/"), session)
    return render(request, "pages/pass.html", {"residents": residents})


@require_http_methods(["POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    token = request.COOKIES.get(COOKIE)
    if token:
        signin.session_revoke(token=token)
    response = HttpResponseRedirect("/r/sign-in")
    response.delete_cookie(COOKIE)
    return response


@require_http_methods(["POST"])
def text_size(request: HttpRequest) -> HttpResponse:
    """The larger-text switch in every page's header: back to the same page, now in the
    size asked for. Works without JavaScript."""
    response = HttpResponseRedirect(_next(request))
    if request.POST.get("size") == TEXT_LARGE:
        response.set_cookie(
            TEXT_COOKIE,
            TEXT_LARGE,
            max_age=365 * 86400,
            path="/r/",
            httponly=True,
            samesite="Lax",
            secure=not settings.DEBUG,
        )
    else:
        response.delete_cookie(TEXT_COOKIE, path="/r/")
    return response


def _balance(resident: Any) -> int | None:
    from tenants.points.models import Account

    account = Account.objects.filter(resident=resident).first()
    return account.balance if account else 0


@resident_page
def home(request: HttpRequest) -> HttpResponse:
    resident = request.resident  # type: ignore[attr-defined]
    modules = request.tenant.enabled_modules  # type: ignore[attr-defined]
    context: dict[str, Any] = {"resident": resident, "modules": modules}
    if "points" in modules:
        context["balance"] = _balance(resident)
    if "helpteam" in modules:
        from tenants.helpteam.access import help_requests_asked
        from tenants.helpteam.selectors import help_requests_recent

        asked = help_requests_asked(request.actor)  # type: ignore[attr-defined]
        context["requests"] = help_requests_recent(asked, limit=5)  # as /r/help lists them
    if "shop" in modules:
        from tenants.shop import access as shop_access
        from tenants.shop import selectors as shop_selectors

        actor = request.actor  # type: ignore[attr-defined]
        context["orders"] = list(shop_selectors.orders_open(shop_access.orders_placed(actor))[:5])
        context["parcels"] = list(
            shop_selectors.parcels_waiting(shop_access.parcels_of_household(actor))[:5]
        )
    return render(request, "pages/home.html", context)


def _shop_on(request: HttpRequest) -> bool:
    return "shop" in request.tenant.enabled_modules  # type: ignore[attr-defined]


def _not_here(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/not_found.html", status=404)


@resident_page
def points(request: HttpRequest) -> HttpResponse:
    from tenants.pages.statement import statement_in_words
    from tenants.points.models import Account
    from tenants.points.selectors import statement

    if "points" not in request.tenant.enabled_modules:  # type: ignore[attr-defined]
        return _not_here(request)
    account = Account.objects.filter(resident=request.resident).first()  # type: ignore[attr-defined]
    lines = statement(account_id=account.pk, limit=30, newest=True) if account else []
    return render(
        request,
        "pages/points.html",
        {"balance": account.balance if account else 0, "lines": statement_in_words(lines)},
    )
