"""The shop's resident pages: my estate's pre-orders, a batch's order form (which keeps
what was entered when something is wrong, and adds up the total before ordering), my
orders with the pickup code to show at the counter (letters and QR), cancelling before
the cut-off, and my parcels.

Every action calls the shop's services, as the API does; the order form's "check the
total" adds up with the same rule the service charges by and orders nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from linli.errors import LinliError, NotFound
from tenants.community.actor import actor_for_resident
from tenants.pages import signin
from tenants.pages.views import COOKIE, _balance, _not_here, _shop_on, resident_page


def _estate_id(resident: Any) -> int | None:
    household = resident.household
    return household.unit.building.estate_id if household is not None else None


@resident_page
def shop(request: HttpRequest) -> HttpResponse:
    """The open batches of the resident's own estate's shops; all shops' on request."""
    from tenants.shop import access, selectors

    if not _shop_on(request):
        return _not_here(request)
    batches = selectors.batches_open_now(access.batches_visible(request.actor))  # type: ignore[attr-defined]
    estate_id = _estate_id(request.resident)  # type: ignore[attr-defined]
    others = estate_id is not None and request.GET.get("shops") == "other"
    if estate_id is None:
        shown = batches  # no home estate on file: every shop's
    elif others:
        shown = batches.exclude(shop__estate_id=estate_id)
    else:
        shown = batches.filter(shop__estate_id=estate_id)
    context = {
        "batches": shown.select_related("shop", "supplier").order_by("closes_at")[:20],
        "others": others,
        "has_estate": estate_id is not None,
    }
    return render(request, "pages/shop.html", context)


@dataclass(frozen=True)
class Quote:
    """What the order would come to: the same sums the order service charges."""

    total_fen: int
    points_allowed: int
    points: int
    due_fen: int


def _quote(items: list[Any], wanted: dict[int, int], points: int, fen_per_point: int) -> Quote:
    total = allowed = 0
    for item in items:
        qty = wanted.get(item.pk, 0)
        line = item.price_fen * qty
        total += line
        allowed += (line * item.points_share // 100) // fen_per_point
    used = min(points, allowed)
    return Quote(total, allowed, used, total - used * fen_per_point)


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
    items = list(found.items.all())
    posted = request.method == "POST" and actor is not None
    for item in items:
        item.left = None if item.limit_total is None else item.limit_total - item.ordered  # type: ignore[attr-defined]
        raw = (request.POST.get(f"item_{item.pk}", "") if posted else "").strip()
        item.entered = raw or "0"  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "batch": found,
        "items": items,
        "resident": resident,
        "is_open": selectors.batch_state(found) == "open",
        "fen_per_point": shop_settings().fen_per_point,
        "balance": _balance(resident) if resident else None,
        "points_entered": (request.POST.get("points", "") if posted else "").strip() or "0",
    }
    if posted:
        return _order(request, found, actor, context)
    return render(request, "pages/batch.html", context)


def _wanted(request: HttpRequest, items: list[Any]) -> tuple[list[tuple[int, int]], str | None]:
    """The lines asked for, in the page's order, and the first box that is not a number."""
    lines: list[tuple[int, int]] = []
    for item in items:
        raw = item.entered
        if not raw.isdigit():
            return lines, f"item_{item.pk}"
        if int(raw) > 0:
            lines.append((item.pk, int(raw)))
    return lines, None


def _field_in_error(exc: LinliError, lines: list[tuple[int, int]]) -> str | None:
    """The form field an order error is about (the service names the line by position)."""
    field = exc.field or ""
    if field == "points":
        return "points"
    if field == "slot_id":
        return "slot"
    if field.startswith("lines/"):
        index = field.split("/")[1]
        if index.isdigit() and int(index) < len(lines):
            return f"item_{lines[int(index)][0]}"
    return None


def _order(request: HttpRequest, found: Any, actor: Any, context: dict[str, Any]) -> HttpResponse:
    from tenants.shop import access
    from tenants.shop.services.orders import order_place

    items = context["items"]
    lines, not_a_number = _wanted(request, items)
    raw_points = context["points_entered"]
    slot = request.POST.get("slot")
    context["slot_chosen"] = int(slot) if slot and slot.isdigit() else None
    if lines and raw_points.isdigit():
        context["quote"] = _quote(items, dict(lines), int(raw_points), context["fen_per_point"])
    try:
        if not_a_number:
            context["bad"] = not_a_number
            raise LinliError(_("How many: enter a whole number, like 2."))
        if not lines:
            context["bad"] = f"item_{items[0].pk}" if items else None
            raise LinliError(_("Choose how many of something you want."))
        if not raw_points.isdigit():
            context["bad"] = "points"
            raise LinliError(_("Points are a whole number."))
        quote = context["quote"]
        if int(raw_points) > quote.points_allowed:
            context["bad"] = "points"  # the service's own rule and words, before asking it
            raise LinliError(
                _("At most %(allowed)s points can be used on this order.")
                % {"allowed": quote.points_allowed}
            )
        if request.POST.get("action") == "total":
            return render(request, "pages/batch.html", context)
        orderer = access.named_resident(actor, None)  # the signed-in resident, for themselves
        order = order_place(
            resident_id=orderer.resident_id,  # type: ignore[arg-type]
            batch_id=found.pk,
            slot_id=context["slot_chosen"],
            lines=lines,
            points=int(raw_points),
        )
    except LinliError as exc:
        context["error"] = exc.message
        context.setdefault("bad", _field_in_error(exc, lines))
        bad = context["bad"] or ""
        context["bad_item"] = int(bad[5:]) if bad.startswith("item_") else None
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


def _pickup_qr(code: str) -> str:
    """The pickup code as an inline SVG QR code: what the counter's scanner reads is the
    code itself, the same letters as typed."""
    import segno

    svg = segno.make(code, error="m").svg_inline(scale=8, border=2, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own markup of our own letters


def _cancellable(order: Any) -> tuple[bool, datetime | None]:
    """Whether the resident may cancel, and until when: a placed order, up to its batch's
    cut-off (a daily-goods order until the shop starts on it), as ``order_cancel`` allows."""
    from django.utils import timezone

    from tenants.shop.models import Order

    if order.status != Order.Status.PLACED:
        return False, None
    if order.batch_id is None:
        return True, None
    batch = order.batch
    if batch.closed_at is not None or batch.cancelled_at is not None:
        return False, None
    if timezone.now() >= batch.closes_at:
        return False, None
    return True, batch.closes_at


def _my_order(request: HttpRequest, order_id: int) -> Any:
    from tenants.shop import access

    return access.access_order(actor=request.actor, order_id=order_id)  # type: ignore[attr-defined]


@resident_page
def order(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order, as the API shows it to the same resident (theirs, or their shop's)."""
    from tenants.shop import selectors
    from tenants.shop.services.orders import OPEN

    if not _shop_on(request):
        return _not_here(request)
    try:
        found = selectors.order_shown(_my_order(request, order_id))
    except NotFound:
        return _not_here(request)
    mine = request.actor.is_self(found.resident_id)  # type: ignore[attr-defined]
    is_open = found.status in OPEN
    context: dict[str, Any] = {
        "order": found,
        "mine": mine,
        "is_open": is_open,
        "qr": _pickup_qr(found.pickup_code) if is_open and mine else None,
    }
    context["can_cancel"], context["cancel_until"] = _cancellable(found) if mine else (False, None)
    return render(request, "pages/order.html", context)


@resident_page
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    """Cancel my order before the cut-off: a page that asks first, then the service (which
    puts the units back on sale and refunds the points, once)."""
    from tenants.shop import selectors
    from tenants.shop.models import Order
    from tenants.shop.services.orders import order_cancel as cancel

    if not _shop_on(request):
        return _not_here(request)
    try:
        found = selectors.order_shown(_my_order(request, order_id))
    except NotFound:
        return _not_here(request)
    me = request.actor  # type: ignore[attr-defined]
    if not me.is_self(found.resident_id):
        return _not_here(request)  # the shop cancels at its counter, not here
    back = HttpResponseRedirect(f"/r/orders/{found.pk}")
    if found.status == Order.Status.CANCELLED:
        return back  # asked twice: it is cancelled, once
    context: dict[str, Any] = {"order": found}
    context["can_cancel"], context["cancel_until"] = _cancellable(found)
    if request.method == "POST":
        try:
            cancel(
                order_id=found.pk,
                reason=_("Cancelled by the resident"),
                by_resident_id=me.resident_id,
            )
        except LinliError as exc:
            context["error"] = exc.message
            return render(request, "pages/order_cancel.html", context, status=exc.status)
        return back
    return render(request, "pages/order_cancel.html", context)


@resident_page
def parcels(request: HttpRequest) -> HttpResponse:
    """My parcels: those waiting for the signed-in resident's household, with the shelf,
    the day they came and the day they go back to the carrier."""
    from tenants.shop import access, selectors
    from tenants.shop.services.common import shop_settings

    if not _shop_on(request):
        return _not_here(request)
    waiting = list(selectors.parcels_waiting(access.parcels_of_household(request.actor)))  # type: ignore[attr-defined]
    keep = timedelta(days=shop_settings().parcel_return_days)
    for parcel in waiting:
        parcel.return_by = parcel.arrived_at + keep  # type: ignore[attr-defined]
        parcel.qr = _pickup_qr(parcel.pickup_code)  # type: ignore[attr-defined]
    return render(request, "pages/parcels.html", {"parcels": waiting})
