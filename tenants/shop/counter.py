"""The shop counter in the tenant admin: the operator scans or types the pickup code a
resident shows (an order's or a parcel's), sees what it is for, and hands it over —
taking the money due on an order — in one step.

A scanner reads the resident's QR code as the same letters typed on a keyboard, followed
by Enter, so the code box takes both. Every change goes through the shop's services with
the operator's access checked; after a hand-over the page is empty again, ready for the
next code.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import (
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from linli.admin_base import read_only
from linli.errors import LinliError, NotFound
from tenants.community.actor import Actor, request_actor
from tenants.shop import access, selectors
from tenants.shop.models import Order, Parcel, Shop, yuan
from tenants.shop.services import orders, parcels

SESSION_SHOP = "shop_counter_shop"
# A pickup code is six letters; a little room for what a scanner adds around them.
CODE_MAX = 16


class LookupForm(forms.Form):
    shop = forms.TypedChoiceField(
        label=gettext_lazy("Shop"), coerce=int, widget=UnfoldAdminSelectWidget
    )
    code = forms.CharField(
        label=gettext_lazy("Pickup code"),
        max_length=CODE_MAX,
        strip=True,
        error_messages={"max_length": gettext_lazy("A pickup code has six letters.")},
        widget=UnfoldAdminTextInputWidget(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "enterkeyhint": "search",
            }
        ),
    )

    def __init__(self, *args: Any, shops: list[Shop], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shop"].choices = [(s.pk, s.name) for s in shops]  # type: ignore[attr-defined]
        if len(shops) == 1:
            self.fields["shop"].widget = forms.HiddenInput()

    def clean_code(self) -> str:
        return "".join(str(self.cleaned_data["code"]).split()).upper()


class PaymentForm(forms.Form):
    payment = forms.ChoiceField(
        label=gettext_lazy("Paid by"),
        choices=[
            (Order.Payment.CASH, Order.Payment.CASH.label),
            (Order.Payment.TERMINAL, Order.Payment.TERMINAL.label),
        ],
        error_messages={"required": gettext_lazy("Choose how the money was paid.")},
        widget=UnfoldAdminRadioSelectWidget,
    )


def _shops(actor: Actor) -> list[Shop]:
    return list(access.shops_operated(actor).filter(active=True).order_by("name"))


def _order_at(shop_id: int, code: str) -> Order | None:
    try:
        found = orders.order_find_by_code(shop_id=shop_id, code=code)
    except NotFound:
        return None
    return selectors.order_shown(found)


def _batch_still_open(order: Order) -> bool:
    """A pre-order whose batch still takes orders is packed only after it closes."""
    batch = order.batch
    return (
        batch is not None
        and order.status == Order.Status.PLACED
        and batch.closed_at is None
        and timezone.now() < batch.closes_at
    )


def _lines(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "name": line.product.name,
            "unit": line.product.unit,
            "quantity": line.quantity,
            "total": f"¥{yuan(line.total_fen)}",
        }
        for line in order.lines.all()
    ]


def counter_view(request: HttpRequest, *, each_context: dict[str, Any]) -> HttpResponse:
    actor = request_actor(request)
    shops = _shops(actor)
    if not shops:
        raise PermissionDenied
    chosen = (
        request.POST.get("shop") or request.GET.get("shop") or request.session.get(SESSION_SHOP)
    )
    initial_shop = next((s.pk for s in shops if str(s.pk) == str(chosen)), shops[0].pk)
    if request.method == "POST":
        return _act(request, actor, shops, each_context)
    data = {"shop": initial_shop, "code": request.GET["code"]} if "code" in request.GET else None
    lookup = LookupForm(data, shops=shops, initial={"shop": initial_shop})
    context: dict[str, Any] = {"lookup": lookup}
    if data is not None and lookup.is_valid():
        shop_id, code = lookup.cleaned_data["shop"], lookup.cleaned_data["code"]
        request.session[SESSION_SHOP] = shop_id
        context.update(_found(shop_id, code))
        if context["order"] is None and context["parcel"] is None:
            lookup.add_error("code", _("No open order or waiting parcel has this code here."))
    return _page(request, each_context, context, shops=shops, shop_id=initial_shop)


def _found(shop_id: int, code: str) -> dict[str, Any]:
    order = _order_at(shop_id, code)
    parcel = selectors.parcel_waiting_with_code(shop_id=shop_id, code=code)
    return {
        "code": code,
        "order": order,
        "lines": _lines(order) if order is not None else [],
        "due": f"¥{yuan(order.money_due_fen)}" if order is not None else "",
        "total": f"¥{yuan(order.total_fen)}" if order is not None else "",
        "batch_open": order is not None and _batch_still_open(order),
        "parcel": parcel,
        "household": selectors.household_label(parcel.household) if parcel else "",
        "payment": PaymentForm(),
    }


def _page(
    request: HttpRequest,
    each_context: dict[str, Any],
    context: dict[str, Any],
    *,
    shops: list[Shop],
    shop_id: int,
    status: int = 200,
) -> HttpResponse:
    shop = next(s for s in shops if s.pk == shop_id)
    context = {
        **each_context,
        "title": _("Counter"),
        "shop": shop,
        "read_only": read_only(request),
        "order": None,
        "parcel": None,
        **context,
    }
    return render(request, "admin/shop/counter.html", context, status=status)


def _act(
    request: HttpRequest, actor: Actor, shops: list[Shop], each_context: dict[str, Any]
) -> HttpResponse:
    """Mark an order ready, hand it over (the money taken), or hand a parcel over."""
    lookup = LookupForm(request.POST, shops=shops)
    if not lookup.is_valid():
        return _page(
            request, each_context, {"lookup": lookup}, shops=shops, shop_id=shops[0].pk, status=400
        )
    shop_id, code = lookup.cleaned_data["shop"], lookup.cleaned_data["code"]
    found = _found(shop_id, code)
    action = request.POST.get("action", "")
    back = f"{reverse('admin:shop_counter')}?shop={shop_id}"
    try:
        if action == "parcel_pick_up" and found["parcel"] is not None:
            parcel: Parcel = found["parcel"]
            access.may_hand_over_parcel(actor, parcel)
            parcels.parcel_pick_up(parcel_id=parcel.pk, code=code)
            messages.success(
                request,
                _("Parcel %(tracking)s handed over to %(household)s.")
                % {"tracking": parcel.tracking_number, "household": found["household"]},
            )
            return HttpResponseRedirect(back)
        order: Order | None = found["order"]
        if order is None or action not in ("order_ready", "order_pick_up"):
            lookup.add_error("code", _("No open order or waiting parcel has this code here."))
            return _page(
                request, each_context, {"lookup": lookup}, shops=shops, shop_id=shop_id, status=400
            )
        access.may_run_counter(actor, order)
        if action == "order_ready":
            orders.order_ready(order_id=order.pk)
            messages.success(
                request, _("Order %(code)s is ready; the resident is told.") % {"code": code}
            )
            return HttpResponseRedirect(f"{back}&code={code}")
        payment = ""
        if order.money_due_fen:
            form = PaymentForm(request.POST)
            if not form.is_valid():
                found["payment"] = form
                return _page(
                    request,
                    each_context,
                    {"lookup": lookup, **found},
                    shops=shops,
                    shop_id=shop_id,
                    status=400,
                )
            payment = form.cleaned_data["payment"]
        orders.order_pick_up(
            order_id=order.pk, code=code, payment=payment, paid_fen=order.money_due_fen
        )
    except LinliError as exc:
        messages.error(request, exc.message)
        return _page(
            request,
            each_context,
            {"lookup": lookup, **_found(shop_id, code)},
            shops=shops,
            shop_id=shop_id,
            status=409,
        )
    if payment:
        done = _("Order %(code)s handed over; %(due)s taken (%(payment)s).") % {
            "code": code,
            "due": found["due"],
            "payment": Order.Payment(payment).label,
        }
    else:
        done = _("Order %(code)s handed over.") % {"code": code}
    messages.success(request, done)
    return HttpResponseRedirect(back)
