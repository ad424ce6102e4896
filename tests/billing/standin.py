"""A stateful Stripe stand-in for the billing tests: localstripe, extended.

localstripe holds customers, products, plans and payment methods (its test cards
included: 4242... pays, 4000000000000341 attaches but every charge is declined). What
Linli calls and localstripe lacks or gets wrong is served here, against the same store,
in the response shapes of Stripe's API (2025 and later: the period on each subscription
item, an invoice's subscription under ``parent``):

- subscriptions with several items, trials that are ``trialing``, cancellation now or
  at the period end, and subscription items added or removed with proration;
- invoices that are paid (or declined) with the customer's default payment method, the
  preview of the next invoice, paying an open invoice;
- Checkout sessions (setup mode) and their SetupIntents, Billing Portal sessions;
- Billing Meters, meter events (identifiers unique for 24 hours, timestamps at most 35
  days old) and metered items billed from them at renewal;
- idempotency keys remembered for 24 hours, as Stripe does;
- the events Stripe would send, listed by ``GET /v1/events``.

Test-only routes under ``/_test/`` play Stripe's own side: the clock moves, a
subscription's period ends (renewal, trial end or cancellation), a Checkout session is
completed with a card, a call fails or hangs, and every request is logged. A billing
period is 30 days. Nothing is written to disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from localstripe import resources as ls  # type: ignore[import-untyped]
from localstripe.errors import UserError  # type: ignore[import-untyped]
from localstripe.server import unflatten_data  # type: ignore[import-untyped]

API_VERSION = "2026-10-28.endive"
PERIOD = 30 * 86400
IDEMPOTENCY_WINDOW = 24 * 3600
METER_EVENT_MAX_AGE = 35 * 86400
DECLINED = "Your card was declined."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StripeFailure(Exception):
    def __init__(self, status: int, message: str, *, code: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "error": {
                "type": kind or ("card_error" if status == 402 else "invalid_request_error"),
                "message": message,
            }
        }
        if code:
            self.body["error"]["code"] = code


def missing(what: str, object_id: str) -> StripeFailure:
    return StripeFailure(404, f"No such {what}: '{object_id}'", code="resource_missing")


@dataclass
class Fault:
    method: str
    path: str
    status: int = 500
    hang: float = 0.0
    times: int = 1
    message: str = "The stand-in was told to fail this call."


@dataclass
class State:
    offset: int = 0
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)  # proration lines
    meters: dict[str, dict[str, Any]] = field(default_factory=dict)
    meter_events: list[dict[str, Any]] = field(default_factory=list)
    checkout: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[str, tuple[int, str, int, str]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    numbers: Any = field(default_factory=lambda: itertools.count(1))

    def now(self) -> int:
        return int(time.time()) + self.offset


state = State()


class _Clock:
    """localstripe reads ``time.time()``; it reads the stand-in's clock instead."""

    @staticmethod
    def time() -> float:
        return time.time() + state.offset


ls.time = _Clock()
ls.Store.dump_to_disk = lambda self: None
ls.schedule_webhook = lambda event: None  # Linli's tests deliver events themselves


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(7)}"


def event(kind: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
    data: dict[str, Any] = {"object": obj}
    if previous:
        data["previous_attributes"] = previous
    state.events.append(
        {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": state.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": new_id("req"), "idempotency_key": None},
            "type": kind,
        }
    )


def listing(url: str, data: list[dict[str, Any]], limit: Any = None) -> dict[str, Any]:
    count = int(limit or 10)
    return {
        "object": "list",
        "data": data[:count],
        "has_more": len(data) > count,
        "url": url,
    }


# --- localstripe's objects ------------------------------------------------------------------


def customer(customer_id: str) -> Any:
    try:
        return ls.Customer._api_retrieve(customer_id)
    except UserError:
        raise missing("customer", customer_id) from None


def plan(plan_id: str) -> Any:
    try:
        return ls.Plan._api_retrieve(plan_id)
    except UserError:
        raise missing("plan", plan_id) from None


def plan_export(plan_id: str) -> dict[str, Any]:
    exported: dict[str, Any] = plan(plan_id)._export()
    exported.setdefault("meter", None)
    return exported


def default_payment_method(sub: dict[str, Any]) -> Any:
    pm_id = sub.get("default_payment_method") or (
        customer(sub["customer"]).invoice_settings or {}
    ).get("default_payment_method")
    if not pm_id:
        return None
    return ls.PaymentMethod._api_retrieve(pm_id)


# --- subscriptions --------------------------------------------------------------------------


def item_export(item: dict[str, Any]) -> dict[str, Any]:
    sub = state.subscriptions[item["subscription"]]
    exported_plan = plan_export(item["plan"])
    return {
        "id": item["id"],
        "object": "subscription_item",
        "created": item["created"],
        "current_period_start": sub["period_start"],
        "current_period_end": sub["period_end"],
        "metadata": dict(item["metadata"]),
        "plan": exported_plan,
        "price": {
            "id": exported_plan["id"],
            "object": "price",
            "currency": exported_plan["currency"],
            "product": exported_plan["product"],
            "recurring": {
                "interval": exported_plan["interval"],
                "interval_count": 1,
                "meter": exported_plan["meter"],
                "usage_type": exported_plan["usage_type"],
            },
            "unit_amount": exported_plan["amount"],
        },
        "quantity": item["quantity"],
        "subscription": item["subscription"],
    }


def sub_export(sub: dict[str, Any]) -> dict[str, Any]:
    items = [item_export(state.items[i]) for i in sub["items"]]
    return {
        "id": sub["id"],
        "object": "subscription",
        "billing_cycle_anchor": sub["anchor"],
        "cancel_at": sub["period_end"] if sub["cancel_at_period_end"] else None,
        "cancel_at_period_end": sub["cancel_at_period_end"],
        "canceled_at": sub["canceled_at"],
        "collection_method": "charge_automatically",
        "created": sub["created"],
        "currency": sub["currency"],
        "customer": sub["customer"],
        "default_payment_method": sub["default_payment_method"],
        "ended_at": sub["ended_at"],
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={sub['id']}",
        },
        "latest_invoice": sub["latest_invoice"],
        "livemode": False,
        "metadata": dict(sub["metadata"]),
        "start_date": sub["created"],
        "status": sub["status"],
        "trial_end": sub["trial_end"],
        "trial_start": sub["trial_start"],
    }


def subscription(sub_id: str) -> dict[str, Any]:
    sub = state.subscriptions.get(sub_id)
    if sub is None:
        raise missing("subscription", sub_id)
    return sub


def metered(plan_id: str) -> bool:
    return bool(plan(plan_id).usage_type == "metered")


def item_new(sub: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    plan_id = spec.get("plan") or spec.get("price")
    if not isinstance(plan_id, str):
        raise StripeFailure(400, "Missing required param: items[plan].")
    plan(plan_id)
    if any(state.items[i]["plan"] == plan_id for i in sub["items"]):
        raise StripeFailure(
            400,
            "Cannot add multiple subscription items with the same plan: " + plan_id,
            code="parameter_invalid",
        )
    quantity = spec.get("quantity")
    if metered(plan_id):
        if quantity is not None:
            raise StripeFailure(400, "You cannot set the quantity for metered plans.")
    else:
        quantity = int(quantity or 1)
    item = {
        "id": new_id("si"),
        "created": state.now(),
        "subscription": sub["id"],
        "plan": plan_id,
        "quantity": quantity,
        "metadata": dict(spec.get("metadata") or {}),
    }
    state.items[item["id"]] = item
    sub["items"].append(item["id"])
    return item


def subscription_create(params: dict[str, Any]) -> dict[str, Any]:
    allowed = {
        "customer",
        "items",
        "trial_end",
        "metadata",
        "payment_behavior",
        "default_payment_method",
        "trial_settings",
        "proration_behavior",
        "collection_method",
    }
    unknown = set(params) - allowed
    if unknown:
        raise StripeFailure(400, f"Received unknown parameter: {sorted(unknown)[0]}")
    cus = customer(str(params.get("customer") or ""))
    specs = params.get("items") or []
    if not specs:
        raise StripeFailure(400, "Missing required param: items.")
    now = state.now()
    trial_end = int(params["trial_end"]) if params.get("trial_end") not in (None, "") else None
    if trial_end is not None and trial_end <= now:
        raise StripeFailure(
            400, "Invalid timestamp: must be an integer Unix timestamp in the future."
        )
    currency = {plan(s.get("plan") or s.get("price") or "").currency for s in specs}
    if len(currency) != 1:
        raise StripeFailure(400, "All prices on a subscription must have the same currency.")
    sub: dict[str, Any] = {
        "id": new_id("sub"),
        "customer": cus.id,
        "status": "incomplete",
        "items": [],
        "metadata": dict(params.get("metadata") or {}),
        "created": now,
        "anchor": trial_end or now,
        "period_start": now,
        "period_end": trial_end or now + PERIOD,
        "trial_start": now if trial_end else None,
        "trial_end": trial_end,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "default_payment_method": params.get("default_payment_method") or None,
        "latest_invoice": None,
        "currency": currency.pop(),
    }
    state.subscriptions[sub["id"]] = sub
    try:
        for spec in specs:
            item_new(sub, spec)
        if trial_end is not None:
            sub["status"] = "trialing"
            invoice = invoice_new(sub, "subscription_create", [])
        else:
            invoice = invoice_new(sub, "subscription_create", licensed_lines(sub))
        paid = invoice_attempt(invoice, emit=False)
        if not paid and params.get("payment_behavior") == "error_if_incomplete":
            raise StripeFailure(402, DECLINED, code="card_declined")
    except StripeFailure:
        for item_id in sub["items"]:
            state.items.pop(item_id, None)
        state.subscriptions.pop(sub["id"], None)
        state.invoices.pop(sub.get("latest_invoice") or "", None)
        raise
    if trial_end is None:
        sub["status"] = "active" if paid else "incomplete"
    event("customer.subscription.created", sub_export(sub))
    invoice_events(invoice)
    return sub


def subscription_update(sub: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeFailure(
            400, "A canceled subscription can only update its cancellation_details and metadata."
        )
    previous: dict[str, Any] = {}
    for key, value in params.items():
        if key == "cancel_at_period_end":
            wanted = str(value).lower() == "true"
            if wanted != sub["cancel_at_period_end"]:
                previous[key] = sub[key]
                sub[key] = wanted
        elif key == "default_payment_method":
            previous[key] = sub[key]
            sub[key] = value or None
        elif key == "metadata":
            previous[key] = dict(sub["metadata"])
            sub["metadata"].update(value or {})
        elif key != "proration_behavior":
            raise StripeFailure(400, f"Received unknown parameter: {key}")
    event("customer.subscription.updated", sub_export(sub), previous)
    return sub


def subscription_cancel(sub: dict[str, Any]) -> dict[str, Any]:
    if sub["status"] == "canceled":
        raise StripeFailure(
            400,
            f"No such subscription: '{sub['id']}'; it is already canceled.",
            code="resource_missing",
        )
    now = state.now()
    sub["status"] = "canceled"
    sub["canceled_at"] = sub["canceled_at"] or now
    sub["ended_at"] = now
    event("customer.subscription.deleted", sub_export(sub))
    return sub


def prorate(sub: dict[str, Any], item: dict[str, Any], sign: int) -> None:
    """Stripe's proration: the rest of the period at the item's price (none in a trial or
    for a metered item)."""
    if sub["status"] == "trialing" or item["quantity"] is None:
        return
    now = state.now()
    length = sub["period_end"] - sub["period_start"]
    left = max(0, sub["period_end"] - now)
    amount = round(plan(item["plan"]).amount * item["quantity"] * left / length) if length else 0
    state.pending.append(
        {
            "subscription": sub["id"],
            "customer": sub["customer"],
            "item": item["id"],
            "plan": item["plan"],
            "amount": sign * amount,
            "quantity": item["quantity"],
            "period": {"start": now, "end": sub["period_end"]},
            "proration": True,
            "description": ("Remaining time on " if sign > 0 else "Unused time on ")
            + str(plan(item["plan"]).name),
        }
    )


# --- invoices -------------------------------------------------------------------------------


def licensed_lines(sub: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for item_id in sub["items"]:
        item = state.items[item_id]
        if item["quantity"] is None:
            continue
        lines.append(
            {
                "item": item_id,
                "plan": item["plan"],
                "amount": plan(item["plan"]).amount * item["quantity"],
                "quantity": item["quantity"],
                "period": {"start": sub["period_start"], "end": sub["period_end"]},
                "proration": False,
                "description": str(plan(item["plan"]).name),
            }
        )
    return lines


def usage_lines(sub: dict[str, Any], start: int, end: int) -> list[dict[str, Any]]:
    """Metered items, billed in arrears from their meter's events in [start, end)."""
    lines = []
    for item_id in sub["items"]:
        item = state.items[item_id]
        meter_id = getattr(plan(item["plan"]), "meter", None)
        if item["quantity"] is not None or not meter_id or meter_id not in state.meters:
            continue
        meter = state.meters[meter_id]
        values = [
            float(e["payload"]["value"])
            for e in state.meter_events
            if e["event_name"] == meter["event_name"]
            and e["payload"].get("stripe_customer_id") == sub["customer"]
            and start <= e["timestamp"] < end
        ]
        formula = meter["default_aggregation"]["formula"]
        usage = (
            len(values) if formula == "count" else values[-1] if formula == "last" else sum(values)
        )
        usage = int(usage) if values else 0
        lines.append(
            {
                "item": item_id,
                "plan": item["plan"],
                "amount": plan(item["plan"]).amount * usage,
                "quantity": usage,
                "period": {"start": start, "end": end},
                "proration": False,
                "description": str(plan(item["plan"]).name),
            }
        )
    return lines


def pending_lines(sub: dict[str, Any], *, take: bool) -> list[dict[str, Any]]:
    mine = [p for p in state.pending if p["subscription"] == sub["id"]]
    if take:
        state.pending = [p for p in state.pending if p["subscription"] != sub["id"]]
    return mine


def invoice_export(invoice: dict[str, Any]) -> dict[str, Any]:
    sub = state.subscriptions.get(invoice["subscription"] or "")
    lines = [
        {
            "id": line["id"],
            "object": "line_item",
            "amount": line["amount"],
            "currency": invoice["currency"],
            "description": line["description"],
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {
                    "subscription": invoice["subscription"],
                    "subscription_item": line["item"],
                    "proration": line["proration"],
                    "invoice_item": None,
                },
            },
            "period": dict(line["period"]),
            "pricing": {"price_details": {"price": line["plan"]}},
            "quantity": line["quantity"],
        }
        for line in invoice["lines"]
    ]
    total = sum(line["amount"] for line in invoice["lines"])
    paid = invoice["status"] == "paid"
    return {
        "id": invoice["id"],
        "object": "invoice",
        "amount_due": max(0, total),
        "amount_paid": max(0, total) if paid else 0,
        "amount_remaining": 0 if paid else max(0, total),
        "attempt_count": invoice["attempts"],
        "attempted": invoice["attempts"] > 0,
        "billing_reason": invoice["billing_reason"],
        "collection_method": "charge_automatically",
        "created": invoice["created"],
        "currency": invoice["currency"],
        "customer": invoice["customer"],
        "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice['id']}",
        "lines": {"object": "list", "data": lines, "has_more": False, "total_count": len(lines)},
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None if paid else invoice["next_attempt"],
        "number": invoice["number"],
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(sub["metadata"]) if sub else {},
                "subscription": invoice["subscription"],
            },
        },
        "period_start": invoice["period_start"],
        "period_end": invoice["period_end"],
        "status": invoice["status"],
        "status_transitions": dict(invoice["transitions"]),
        "subtotal": total,
        "total": total,
    }


def invoice_new(sub: dict[str, Any], reason: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    now = state.now()
    invoice = {
        "id": new_id("in"),
        "number": f"LINLI-{next(state.numbers):04d}",
        "customer": sub["customer"],
        "subscription": sub["id"],
        "currency": sub["currency"],
        "billing_reason": reason,
        "created": now,
        "period_start": now,
        "period_end": now,
        "lines": [{**line, "id": new_id("il")} for line in lines],
        "status": "open",
        "attempts": 0,
        "next_attempt": now,
        "transitions": {
            "finalized_at": now,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
    }
    state.invoices[invoice["id"]] = invoice
    sub["latest_invoice"] = invoice["id"]
    return invoice


def invoice_attempt(invoice: dict[str, Any], *, emit: bool = True) -> bool:
    """Charge the customer's default payment method; records the outcome on the invoice."""
    sub = state.subscriptions[invoice["subscription"]]
    total = sum(line["amount"] for line in invoice["lines"])
    invoice["attempts"] += 1
    pm = default_payment_method(sub) if total > 0 else None
    if total <= 0 or (pm is not None and not pm._charging_is_declined()):
        invoice["status"] = "paid"
        invoice["transitions"]["paid_at"] = state.now()
        invoice["next_attempt"] = None
    else:
        invoice["next_attempt"] = state.now() + 3 * 86400
        invoice["_failed"] = True
    if emit:
        invoice_events(invoice)
    return bool(invoice["status"] == "paid")


def invoice_events(invoice: dict[str, Any]) -> None:
    kind = "invoice.paid" if invoice["status"] == "paid" else "invoice.payment_failed"
    event(kind, invoice_export(invoice))


def invoice_preview(params: dict[str, Any]) -> dict[str, Any]:
    cus = customer(str(params.get("customer") or ""))
    sub = subscription(str(params.get("subscription") or ""))
    if sub["customer"] != cus.id:
        raise StripeFailure(400, "The subscription does not belong to this customer.")
    if sub["status"] in ("canceled", "incomplete_expired") or sub["cancel_at_period_end"]:
        raise StripeFailure(
            400, "No upcoming invoices for customer: " + cus.id, code="invoice_upcoming_none"
        )
    start, end = sub["period_end"], sub["period_end"] + PERIOD
    upcoming = {**sub, "period_start": start, "period_end": end}
    lines = (
        licensed_lines(upcoming)
        + pending_lines(sub, take=False)
        + usage_lines(sub, sub["period_start"], sub["period_end"])
    )
    preview = {
        "id": "upcoming_" + new_id("in"),
        "number": None,
        "customer": cus.id,
        "subscription": sub["id"],
        "currency": sub["currency"],
        "billing_reason": "upcoming",
        "created": state.now(),
        "period_start": sub["period_start"],
        "period_end": sub["period_end"],
        "lines": [{**line, "id": new_id("il")} for line in lines],
        "status": "draft",
        "attempts": 0,
        "next_attempt": sub["period_end"],
        "transitions": {"finalized_at": None, "paid_at": None, "voided_at": None},
    }
    exported = invoice_export(preview)
    exported["hosted_invoice_url"] = None
    return exported


def period_end_reached(sub: dict[str, Any]) -> dict[str, Any]:
    """The end of the current period (or trial): cancel, or renew and charge."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeFailure(400, "The subscription has ended.")
    before = sub_export(sub)
    if sub["cancel_at_period_end"]:
        return subscription_cancel(sub)
    old_start, old_end = sub["period_start"], sub["period_end"]
    sub["period_start"], sub["period_end"] = old_end, old_end + PERIOD
    usage = usage_lines(sub, old_start, old_end)
    reason = "subscription_cycle"
    invoice = invoice_new(sub, reason, licensed_lines(sub) + pending_lines(sub, take=True) + usage)
    invoice["period_start"], invoice["period_end"] = old_start, old_end
    paid = invoice_attempt(invoice, emit=False)
    if paid:
        sub["status"] = "active"
    elif sub["status"] != "unpaid":
        sub["status"] = "past_due"
    event(
        "customer.subscription.updated",
        sub_export(sub),
        {"status": before["status"], "latest_invoice": before["latest_invoice"]},
    )
    invoice_events(invoice)
    return sub


def invoice_pay(invoice: dict[str, Any]) -> dict[str, Any]:
    if invoice["status"] == "paid":
        raise StripeFailure(400, "Invoice is already paid", code="invoice_already_paid")
    sub = state.subscriptions[invoice["subscription"]]
    if invoice_attempt(invoice):
        if (
            sub["status"] in ("past_due", "unpaid", "incomplete")
            and invoice["id"] == sub["latest_invoice"]
        ):
            before = sub["status"]
            sub["status"] = "active"
            event("customer.subscription.updated", sub_export(sub), {"status": before})
        return invoice
    raise StripeFailure(402, DECLINED, code="card_declined")


# --- Checkout, the Billing Portal, meters ---------------------------------------------------


def checkout_create(params: dict[str, Any]) -> dict[str, Any]:
    if params.get("mode") != "setup":
        raise StripeFailure(400, "The stand-in serves Checkout in setup mode only.")
    cus = customer(str(params.get("customer") or ""))
    for key in ("success_url", "cancel_url"):
        if not str(params.get(key) or "").startswith(("http://", "https://")):
            raise StripeFailure(400, f"Not a valid URL: {key}")
    session = {
        "id": new_id("cs_test"),
        "object": "checkout.session",
        "cancel_url": params["cancel_url"],
        "client_reference_id": params.get("client_reference_id"),
        "created": state.now(),
        "currency": params.get("currency"),
        "customer": cus.id,
        "expires_at": state.now() + 86400,
        "livemode": False,
        "metadata": dict(params.get("metadata") or {}),
        "mode": "setup",
        "payment_status": "no_payment_required",
        "setup_intent": None,
        "status": "open",
        "subscription": None,
        "success_url": params["success_url"],
        "url": None,
        "_setup_metadata": dict((params.get("setup_intent_data") or {}).get("metadata") or {}),
    }
    session["url"] = f"https://checkout.stripe.com/c/pay/{session['id']}"
    state.checkout[session["id"]] = session
    return session


def public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def checkout_complete(session: dict[str, Any], number: str) -> dict[str, Any]:
    """The admin types a card into Checkout: a SetupIntent succeeds with a new payment
    method attached to the customer (and, as in Stripe, not made its default)."""
    if session["status"] != "open":
        raise StripeFailure(400, "This Checkout session is no longer open.")
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    pm = ls.PaymentMethod(type="card", card=card)
    ls.PaymentMethod._api_attach(pm.id, customer=session["customer"])
    intent = {
        "id": new_id("seti"),
        "object": "setup_intent",
        "created": state.now(),
        "customer": session["customer"],
        "livemode": False,
        "metadata": session["_setup_metadata"],
        "payment_method": pm.id,
        "status": "succeeded",
        "usage": "off_session",
    }
    state.setup_intents[intent["id"]] = intent
    session.update(status="complete", setup_intent=intent["id"], url=None)
    event("checkout.session.completed", public(session))
    return session


def meter_create(params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("event_name") or "")
    if not name or not params.get("display_name"):
        raise StripeFailure(400, "Missing required param: event_name or display_name.")
    if any(m["event_name"] == name and m["status"] == "active" for m in state.meters.values()):
        raise StripeFailure(
            400,
            f"An active meter with event_name {name} already exists.",
            code="resource_already_exists",
        )
    formula = (params.get("default_aggregation") or {}).get("formula")
    if formula not in ("sum", "count", "last"):
        raise StripeFailure(400, "Invalid default_aggregation[formula].")
    meter = {
        "id": new_id("mtr"),
        "object": "billing.meter",
        "created": state.now(),
        "customer_mapping": {
            "event_payload_key": (params.get("customer_mapping") or {}).get(
                "event_payload_key", "stripe_customer_id"
            ),
            "type": "by_id",
        },
        "default_aggregation": {"formula": formula},
        "display_name": params["display_name"],
        "event_name": name,
        "event_time_window": None,
        "livemode": False,
        "status": "active",
        "value_settings": {
            "event_payload_key": (params.get("value_settings") or {}).get(
                "event_payload_key", "value"
            )
        },
    }
    state.meters[meter["id"]] = meter
    return meter


def meter_event_create(params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("event_name") or "")
    payload = dict(params.get("payload") or {})
    if not any(m["event_name"] == name and m["status"] == "active" for m in state.meters.values()):
        raise StripeFailure(
            400, f"No active meter was found for event_name {name}.", code="resource_missing"
        )
    customer(str(payload.get("stripe_customer_id") or ""))
    try:
        float(payload["value"])
    except (KeyError, ValueError):
        raise StripeFailure(400, "The payload needs a numeric value.") from None
    now = state.now()
    stamp = int(params.get("timestamp") or now)
    if stamp < now - METER_EVENT_MAX_AGE or stamp > now + 300:
        raise StripeFailure(400, "Timestamp must be within the past 35 days or 5 minutes ahead.")
    identifier = str(params.get("identifier") or new_id("mev"))
    for known in state.meter_events:
        if known["identifier"] == identifier and known["created"] > now - IDEMPOTENCY_WINDOW:
            return known  # the same event: counted once
    recorded = {
        "object": "billing.meter_event",
        "created": now,
        "event_name": name,
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": stamp,
    }
    state.meter_events.append(recorded)
    return recorded


# --- routes ---------------------------------------------------------------------------------


async def params_of(request: web.Request) -> dict[str, Any]:
    if request.method == "POST":
        form = await request.post()
        data = unflatten_data(form) if form else {}
    else:
        data = unflatten_data(request.query) if request.query else {}
    data.pop("expand", None)
    return dict(data)


def ok(body: dict[str, Any]) -> web.Response:
    return web.json_response(body)


Route = Callable[[web.Request, dict[str, Any]], dict[str, Any]]
routes: list[tuple[str, str, Route]] = []


def route(method: str, path: str) -> Callable[[Route], Route]:
    def register(func: Route) -> Route:
        routes.append((method, path, func))
        return func

    return register


def localstripe_call(func: Callable[[], Any]) -> dict[str, Any]:
    try:
        exported: dict[str, Any] = func()._export()
    except UserError as exc:
        message = exc.body["error"].get("message", "")
        status = 404 if exc.code == 404 else exc.code
        raise StripeFailure(
            status, message, code="resource_missing" if status == 404 else ""
        ) from exc
    return exported


@route("POST", "/v1/customers")
def _customers_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return localstripe_call(lambda: ls.Customer._api_create(**p))


@route("GET", "/v1/customers")
def _customers_list(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    found = [c._export() for k, c in ls.store.items() if k.startswith("customer:")]
    return listing("/v1/customers", found, p.get("limit") or 100)


@route("GET", "/v1/customers/{id}")
def _customers_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    exported: dict[str, Any] = customer(request.match_info["id"])._export()
    return exported


@route("POST", "/v1/customers/{id}")
def _customers_update(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    cus = customer(request.match_info["id"])
    pm_id = (p.get("invoice_settings") or {}).get("default_payment_method")
    if pm_id:
        pm = ls.PaymentMethod._api_retrieve(pm_id)
        if pm.customer != cus.id:
            raise StripeFailure(
                400, f"The customer does not have a payment method with the ID {pm_id}."
            )
        p["invoice_settings"] = {**(cus.invoice_settings or {}), **p["invoice_settings"]}
    return localstripe_call(lambda: ls.Customer._api_update(cus.id, **p))


@route("POST", "/v1/payment_methods")
def _pm_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return localstripe_call(lambda: ls.PaymentMethod._api_create(**p))


@route("POST", "/v1/payment_methods/{id}/attach")
def _pm_attach(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return localstripe_call(lambda: ls.PaymentMethod._api_attach(request.match_info["id"], **p))


@route("GET", "/v1/payment_methods/{id}")
def _pm_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return localstripe_call(lambda: ls.PaymentMethod._api_retrieve(request.match_info["id"]))


@route("POST", "/v1/products")
def _products_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return localstripe_call(lambda: ls.Product._api_create(**p))


@route("GET", "/v1/products/{id}")
def _products_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return localstripe_call(lambda: ls.Product._api_retrieve(request.match_info["id"]))


@route("POST", "/v1/plans")
def _plans_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    meter = p.pop("meter", None)
    if p.get("usage_type") == "metered":
        if not meter:
            raise StripeFailure(
                400,
                "Metered prices must be backed by a meter: pass meter.",
                code="parameter_missing",
            )
        if meter not in state.meters:
            raise missing("billing meter", str(meter))
    elif meter:
        raise StripeFailure(400, "Only metered prices may have a meter.")
    try:
        created = ls.Plan._api_create(**p)
    except UserError as exc:
        raise StripeFailure(exc.code, exc.body["error"].get("message", "Bad request")) from exc
    created.meter = meter
    return plan_export(created.id)


@route("GET", "/v1/plans/{id}")
def _plans_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return plan_export(request.match_info["id"])


@route("POST", "/v1/subscriptions")
def _subs_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return sub_export(subscription_create(p))


@route("GET", "/v1/subscriptions")
def _subs_list(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    status = p.get("status")
    found = [
        sub_export(s)
        for s in state.subscriptions.values()
        if (not p.get("customer") or s["customer"] == p["customer"])
        and (
            status == "all"
            or (status is None and s["status"] not in ("canceled", "incomplete_expired"))
            or s["status"] == status
        )
    ]
    found.sort(key=lambda s: s["created"], reverse=True)
    return listing("/v1/subscriptions", found, p.get("limit"))


@route("GET", "/v1/subscriptions/{id}")
def _subs_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return sub_export(subscription(request.match_info["id"]))


@route("POST", "/v1/subscriptions/{id}")
def _subs_update(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return sub_export(subscription_update(subscription(request.match_info["id"]), p))


@route("DELETE", "/v1/subscriptions/{id}")
def _subs_cancel(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return sub_export(subscription_cancel(subscription(request.match_info["id"])))


@route("POST", "/v1/subscription_items")
def _items_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    sub = subscription(str(p.get("subscription") or ""))
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeFailure(400, "This subscription is canceled: items cannot be added.")
    item = item_new(sub, p)
    if p.get("proration_behavior", "create_prorations") != "none":
        prorate(sub, item, +1)
    event("customer.subscription.updated", sub_export(sub), {"items": {}})
    return item_export(item)


@route("GET", "/v1/subscription_items")
def _items_list(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    sub = subscription(str(p.get("subscription") or ""))
    return listing(
        "/v1/subscription_items", [item_export(state.items[i]) for i in sub["items"]], 100
    )


@route("DELETE", "/v1/subscription_items/{id}")
def _items_delete(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    item_id = request.match_info["id"]
    item = state.items.get(item_id)
    if item is None:
        raise missing("subscription_item", item_id)
    sub = state.subscriptions[item["subscription"]]
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeFailure(400, "This subscription is canceled: items cannot be removed.")
    if len(sub["items"]) == 1:
        raise StripeFailure(400, "A subscription must have at least one active plan.")
    if p.get("proration_behavior", "create_prorations") != "none":
        prorate(sub, item, -1)
    sub["items"].remove(item_id)
    del state.items[item_id]
    event("customer.subscription.updated", sub_export(sub), {"items": {}})
    return {"id": item_id, "object": "subscription_item", "deleted": True}


@route("GET", "/v1/invoices")
def _invoices_list(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    found = [
        invoice_export(i)
        for i in state.invoices.values()
        if (not p.get("customer") or i["customer"] == p["customer"])
        and (not p.get("subscription") or i["subscription"] == p["subscription"])
        and (not p.get("status") or i["status"] == p["status"])
    ]
    found.sort(key=lambda i: (i["created"], i["number"]), reverse=True)
    return listing("/v1/invoices", found, p.get("limit"))


@route("POST", "/v1/invoices/create_preview")
def _invoices_preview(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return invoice_preview(p)


@route("POST", "/v1/invoices/{id}/pay")
def _invoices_pay(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    invoice = state.invoices.get(request.match_info["id"])
    if invoice is None:
        raise missing("invoice", request.match_info["id"])
    return invoice_export(invoice_pay(invoice))


@route("POST", "/v1/checkout/sessions")
def _checkout_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return public(checkout_create(p))


@route("GET", "/v1/checkout/sessions/{id}")
def _checkout_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    session = state.checkout.get(request.match_info["id"])
    if session is None:
        raise missing("checkout.session", request.match_info["id"])
    return public(session)


@route("GET", "/v1/setup_intents/{id}")
def _setup_intent_get(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    intent = state.setup_intents.get(request.match_info["id"])
    if intent is None:
        raise missing("setup_intent", request.match_info["id"])
    return intent


@route("POST", "/v1/billing_portal/sessions")
def _portal_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    cus = customer(str(p.get("customer") or ""))
    session = {
        "id": new_id("bps"),
        "object": "billing_portal.session",
        "created": state.now(),
        "customer": cus.id,
        "livemode": False,
        "return_url": p.get("return_url"),
    }
    session["url"] = f"https://billing.stripe.com/p/session/{session['id']}"
    state.portal[session["id"]] = session
    return session


@route("GET", "/v1/billing/meters")
def _meters_list(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    found = [m for m in state.meters.values() if not p.get("status") or m["status"] == p["status"]]
    return listing("/v1/billing/meters", found, p.get("limit") or 100)


@route("POST", "/v1/billing/meters")
def _meters_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return meter_create(p)


@route("POST", "/v1/billing/meter_events")
def _meter_events_create(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return meter_event_create(p)


@route("GET", "/v1/events")
def _events_list(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return listing("/v1/events", list(reversed(state.events)), p.get("limit") or 100)


# --- Stripe's own side, for the tests -------------------------------------------------------


@route("DELETE", "/_test/data")
def _flush(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    ls.store.clear()
    fresh = State()
    for name in fresh.__dataclass_fields__:
        setattr(state, name, getattr(fresh, name))
    return {"flushed": True}


@route("POST", "/_test/clock")
def _clock(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    state.offset += int(p.get("advance") or 0)
    return {"now": state.now()}


@route("POST", "/_test/faults")
def _fault(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    state.faults.append(
        Fault(
            method=str(p["method"]).upper(),
            path=str(p["path"]),
            status=int(p.get("status") or 500),
            hang=float(p.get("hang") or 0),
            times=int(p.get("times") or 1),
        )
    )
    return {"faults": len(state.faults)}


@route("GET", "/_test/faults")
def _faults_count(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return {"faults": len(state.faults)}


@route("DELETE", "/_test/faults")
def _faults_clear(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    state.faults.clear()
    return {"faults": 0}


@route("GET", "/_test/requests")
def _requests(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return {"data": state.requests}


@route("GET", "/_test/events")
def _events(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return {"data": state.events}


@route("GET", "/_test/meter_events")
def _meter_events(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return {"data": state.meter_events}


@route("POST", "/_test/subscriptions/{id}/period_end")
def _period_end(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    return sub_export(period_end_reached(subscription(request.match_info["id"])))


@route("POST", "/_test/checkout/sessions/{id}/complete")
def _checkout_done(request: web.Request, p: dict[str, Any]) -> dict[str, Any]:
    session = state.checkout.get(request.match_info["id"])
    if session is None:
        raise missing("checkout.session", request.match_info["id"])
    return public(checkout_complete(session, str(p.get("card") or "4242424242424242")))


# --- the server -----------------------------------------------------------------------------


def _fingerprint(request: web.Request, body: bytes) -> str:
    return hashlib.sha256(request.method.encode() + request.path.encode() + body).hexdigest()


@web.middleware
async def stripe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request log, the faults the tests ask for, and idempotency keys."""
    testing = request.path.startswith("/_test/")
    body = await request.read()
    if not testing:
        if not request.headers.get("Authorization", "").startswith(("Bearer sk_", "Basic ")):
            return web.json_response(
                {"error": {"type": "invalid_request_error", "message": "No API key provided."}},
                status=401,
            )
        key = request.headers.get("Idempotency-Key")
        state.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "params": await params_of(request),
                "idempotency_key": key,
                "at": state.now(),
            }
        )
        for fault in list(state.faults):
            if fault.method == request.method and request.path.startswith(fault.path):
                fault.times -= 1
                if fault.times <= 0:
                    state.faults.remove(fault)
                if fault.hang:
                    await asyncio.sleep(fault.hang)
                return web.json_response(
                    {"error": {"type": "api_error", "message": fault.message}},
                    status=fault.status,
                )
        if key and request.method == "POST":
            print_ = _fingerprint(request, body)
            known = state.idempotent.get(key)
            if known is not None and known[0] > state.now():
                _expires, fingerprint, status, text = known
                if fingerprint != print_:
                    return web.json_response(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with "
                                "the same parameters they were first used with.",
                            }
                        },
                        status=400,
                    )
                return web.Response(
                    text=text,
                    status=status,
                    content_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            response = await handler(request)
            if isinstance(response, web.Response) and response.status < 500:
                state.idempotent[key] = (
                    state.now() + IDEMPOTENCY_WINDOW,
                    print_,
                    response.status,
                    response.text or "",
                )
            return response
    return await handler(request)


def _handler(func: Route) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return ok(func(request, await params_of(request)))
        except StripeFailure as exc:
            return web.json_response(exc.body, status=exc.status)

    return handle


def application() -> web.Application:
    app = web.Application(middlewares=[stripe_middleware])
    for method, path, func in routes:
        app.router.add_route(method, path, _handler(func))
    return app


class StandInServer:
    """The stand-in on a loopback port, served from a thread of the test process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stripe-stand-in", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        runner = web.AppRunner(application(), access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        self._runner = runner
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the Stripe stand-in did not start")
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
