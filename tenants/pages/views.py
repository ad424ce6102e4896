"""The resident pages at ``/r/``: plain forms that work before (and without) JavaScript,
large type, one task a page. Every action calls the same services as the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from linli.errors import LinliError, NotFound
from linli.http import client_ip
from tenants.community.actor import actor_for_resident
from tenants.pages import signin

COOKIE = "linli_r"
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


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"next": _next(request), "phone": request.POST.get("phone", "")}
    if request.method == "POST":
        try:
            if "code" in request.POST:
                _resident, token = signin.code_verify(
                    phone=request.POST.get("phone", ""),
                    code=request.POST.get("code", ""),
                    user_agent=request.headers.get("User-Agent", ""),
                )
                return _session_cookie(HttpResponseRedirect(context["next"]), token)
            code = signin.code_request(phone=request.POST.get("phone", ""), ip=client_ip(request))
            context["code_sent"] = True
            if settings.DEBUG and code:  # development: no SMS provider, show it on the page
                context["dev_code"] = code
        except LinliError as exc:
            context["error"] = exc.message
            context["code_sent"] = "code" in request.POST
    return render(request, "pages/sign_in.html", context, status=200)


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
def shop(request: HttpRequest) -> HttpResponse:
    from tenants.shop import access, selectors

    if not _shop_on(request):
        return _not_here(request)
    batches = selectors.batches_open_now(access.batches_visible(request.actor))  # type: ignore[attr-defined]
    batches = batches.select_related("shop", "supplier").order_by("closes_at")[:20]
    return render(request, "pages/shop.html", {"batches": batches})


def batch(request: HttpRequest, token: str) -> HttpResponse:
    """What the batch's QR code opens: the items, and the order form once signed in."""
    from tenants.shop import access, selectors
    from tenants.shop.services.common import shop_settings

    if not _shop_on(request):
        return _not_here(request)
    resident = signin.session_resident(request.COOKIES.get(COOKIE))
    actor = actor_for_resident(resident) if resident is not None else None
    try:
        found = access.access_batch_by_code(actor=actor, token=token)
    except NotFound:
        return _not_here(request)
    found = selectors.batch_shown(found)
    for item in found.items.all():
        item.left = None if item.limit_total is None else item.limit_total - item.ordered  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "batch": found,
        "resident": resident,
        "is_open": selectors.batch_state(found) == "open",
        "fen_per_point": shop_settings().fen_per_point,
        "balance": _balance(resident) if resident else None,
    }
    if request.method == "POST" and actor is not None:
        return _order(request, found, actor, context)
    return render(request, "pages/batch.html", context)


def _order(request: HttpRequest, found: Any, actor: Any, context: dict[str, Any]) -> HttpResponse:
    from tenants.shop import access
    from tenants.shop.services.orders import order_place

    lines = []
    for item in found.items.all():
        raw = request.POST.get(f"item_{item.pk}", "0").strip() or "0"
        if raw.isdigit() and int(raw) > 0:
            lines.append((item.pk, int(raw)))
    raw_points = request.POST.get("points", "0").strip() or "0"
    slot = request.POST.get("slot")
    try:
        if not lines:
            raise LinliError(_("Choose how many of something you want."))
        if not raw_points.isdigit():
            raise LinliError(_("Points are a whole number."))
        orderer = access.named_resident(actor, None)  # the signed-in resident, for themselves
        order = order_place(
            resident_id=orderer.resident_id,  # type: ignore[arg-type]
            batch_id=found.pk,
            slot_id=int(slot) if slot and slot.isdigit() else None,
            lines=lines,
            points=int(raw_points),
        )
    except LinliError as exc:
        context["error"] = exc.message
        return render(request, "pages/batch.html", context, status=200)
    return HttpResponseRedirect(f"/r/orders/{order.pk}")


@resident_page
def orders(request: HttpRequest) -> HttpResponse:
    """My orders: those the signed-in resident placed."""
    from tenants.shop import access

    if not _shop_on(request):
        return _not_here(request)
    mine = access.orders_placed(request.actor).select_related("shop")[:30]  # type: ignore[attr-defined]
    return render(request, "pages/orders.html", {"orders": mine})


@resident_page
def order(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order, as the API shows it to the same resident (theirs, or their shop's)."""
    from tenants.shop import access, selectors

    if not _shop_on(request):
        return _not_here(request)
    try:
        found = access.access_order(actor=request.actor, order_id=order_id)  # type: ignore[attr-defined]
    except NotFound:
        return _not_here(request)
    context = {
        "order": selectors.order_shown(found),
        "mine": request.actor.is_self(found.resident_id),  # type: ignore[attr-defined]
    }
    return render(request, "pages/order.html", context)


@resident_page
def parcels(request: HttpRequest) -> HttpResponse:
    """My parcels: those waiting for the signed-in resident's household."""
    from tenants.shop import access, selectors

    if not _shop_on(request):
        return _not_here(request)
    waiting = selectors.parcels_waiting(access.parcels_of_household(request.actor))  # type: ignore[attr-defined]
    return render(request, "pages/parcels.html", {"parcels": waiting})


@resident_page
def points(request: HttpRequest) -> HttpResponse:
    from tenants.points.models import Account
    from tenants.points.selectors import statement

    if "points" not in request.tenant.enabled_modules:  # type: ignore[attr-defined]
        return _not_here(request)
    account = Account.objects.filter(resident=request.resident).first()  # type: ignore[attr-defined]
    lines = statement(account_id=account.pk, limit=200)[-30:] if account else []
    return render(
        request,
        "pages/points.html",
        {"balance": account.balance if account else 0, "lines": list(reversed(lines))},
    )
