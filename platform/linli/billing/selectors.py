"""Billing reads: what a district pays and has paid (from Stripe), and the ops overview."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy

from linli.billing.client import stripe_client
from linli.billing.models import BillingAccount
from linli.billing.plans import catalogue
from linli.billing.services import RESIDENTS, item_module, wanted_prices
from linli.registry.models import Tenant

SERVING_PAID = [BillingAccount.Status.ACTIVE, BillingAccount.Status.PAST_DUE]


@dataclass(frozen=True)
class Line:
    key: str
    name: str
    amount: int  # per month, or per active resident for the metered line
    metered: bool = False


def _order(key: str) -> tuple[int, str]:
    return (0 if key == "base" else 2 if key == RESIDENTS else 1, key)


def _name(key: str, fallback: str = "") -> str:
    """A price's name in the reader's language: the module's own name, the platform's,
    the residents'; a price the catalogue has and Linli does not know keeps its name."""
    from linli.registry.models import Module

    if key == "base":
        return str(_lazy("Linli platform"))
    if key == RESIDENTS:
        return str(_lazy("Active residents"))
    if key in Module.values:
        return str(Module(key).label)
    prices = catalogue()
    price = prices.modules.get(key)
    return price.name if price is not None else fallback or key


def plan_lines(tenant: Tenant) -> list[Line]:
    """What the tenant's modules promise: the base, each module's monthly price, and the
    price per active resident when there is one (base first, metered last)."""
    return [
        Line(key, _name(key), price.amount, metered=key == RESIDENTS)
        for key, price in sorted(wanted_prices(tenant).items(), key=lambda kv: _order(kv[0]))
    ]


def plan_total(lines: list[Line]) -> int:
    return sum(line.amount for line in lines if not line.metered)


def subscription_lines(account: BillingAccount, reads: StripeReads) -> list[Line] | None:
    """What Stripe's subscription really holds, item by item; None if Stripe cannot be
    read, [] when there is no live subscription."""
    if not account.subscription_id or account.status in ("canceled", "incomplete_expired"):
        return []
    found = reads(lambda v1: v1.subscriptions.retrieve(account.subscription_id))
    if found is None:
        return None
    lines = []
    for item in found.to_dict()["items"]["data"]:
        plan = item.get("plan") or {}
        key = item_module(item)
        lines.append(
            Line(
                key,
                _name(key, str(plan.get("nickname") or plan.get("id") or "")),
                int(plan.get("amount") or 0),
                metered=plan.get("usage_type") == "metered",
            )
        )
    return sorted(lines, key=lambda line: _order(line.key))


def plan_differs(
    tenant: Tenant, account: BillingAccount | None, held: list[Line] | None = None
) -> bool:
    """Whether the subscription lacks a price the modules promise, or has one they do not
    (from what Stripe holds when it was read, else from Linli's copy of it)."""
    if account is None or not account.subscription_id:
        return False
    if account.status in ("canceled", "incomplete_expired") or tenant.status == "closed":
        return False
    have = {line.key for line in held} if held is not None else set(account.items)
    return set(wanted_prices(tenant)) != have


@dataclass(frozen=True)
class Situation:
    """Where a district stands with billing, as its billing page tells it: ``key`` names
    the situation, ``may_pay`` whether Checkout and the Portal are offered, ``pay_first``
    whether adding a payment method is the action that matters."""

    key: str
    may_pay: bool
    pay_first: bool
    until: datetime | None = None


SETTING_UP = "setting_up"
SUSPENDED_FOR_BILLING = "suspended_for_billing"
SUSPENDED_BY_OPS = "suspended_by_ops"
PAST_DUE = "past_due"
ENDING = "ending"
ENDED = "ended"
TRIAL = "trial"
TRIAL_WITH_CARD = "trial_with_card"
ACTIVE = "active"


def billing_situation(*, tenant: Tenant, account: BillingAccount | None) -> Situation:
    """One situation, the most pressing first: a suspension, then a failed payment, then
    the end of the subscription, the trial, and the ordinary case."""
    Status = BillingAccount.Status
    if tenant.status == Tenant.Status.SUSPENDED:
        if account is not None and account.suspended_for_billing and account.customer_id:
            return Situation(SUSPENDED_FOR_BILLING, may_pay=True, pay_first=True)
        return Situation(SUSPENDED_BY_OPS, may_pay=False, pay_first=False)
    if account is None or not account.customer_id:
        return Situation(SETTING_UP, may_pay=False, pay_first=False)
    if account.status in (Status.CANCELED, Status.INCOMPLETE_EXPIRED):
        return Situation(ENDED, may_pay=False, pay_first=False)
    if account.status in (Status.PAST_DUE, Status.UNPAID, Status.PAUSED, Status.INCOMPLETE):
        return Situation(PAST_DUE, may_pay=True, pay_first=True, until=account.grace_until)
    if account.cancel_at_period_end:
        return Situation(ENDING, may_pay=True, pay_first=False, until=account.current_period_end)
    if account.status in (Status.TRIALING, Status.PENDING):
        if account.has_payment_method:
            return Situation(
                TRIAL_WITH_CARD, may_pay=True, pay_first=False, until=account.trial_end
            )
        return Situation(TRIAL, may_pay=True, pay_first=True, until=account.trial_end)
    return Situation(ACTIVE, may_pay=True, pay_first=False)


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


class StripeReads:
    """The Stripe reads of one page, each bounded by the page timeout. The first that
    fails stops the rest, so a page waits for a hanging Stripe once, not once per read;
    ``down`` then tells the page to say so."""

    def __init__(self) -> None:
        self.down = False
        self._client: stripe.StripeClient | None = None

    def __call__(self, read: Callable[[Any], Any]) -> Any | None:
        if self.down:
            return None
        if self._client is None:
            self._client = stripe_client(interactive=True)
        try:
            return read(self._client.v1)
        except stripe.StripeError:
            self.down = True
            return None


def invoices(
    account: BillingAccount, reads: StripeReads, *, limit: int = 12
) -> list[dict[str, Any]] | None:
    """The customer's latest invoices from Stripe; None when Stripe cannot be reached."""
    if not account.customer_id:
        return []
    found = reads(
        lambda v1: v1.invoices.list(params={"customer": account.customer_id, "limit": limit})
    )
    if found is None:
        return None
    return [
        {
            "number": invoice.get("number") or invoice.get("id", ""),
            "created": _when(invoice.get("created")),
            "amount_due": int(invoice.get("amount_due") or 0),
            "currency": invoice.get("currency") or account.currency,
            "status": invoice.get("status") or "",
            "url": invoice.get("hosted_invoice_url") or "",
        }
        for invoice in (item.to_dict() for item in found.data)
    ]


def next_invoice(account: BillingAccount, reads: StripeReads) -> dict[str, Any] | None:
    """Stripe's estimate of the next invoice (prorations included); None if unavailable."""
    if not account.customer_id or not account.subscription_id:
        return None
    if account.status in ("canceled", "incomplete_expired") or account.cancel_at_period_end:
        return None  # nothing comes next
    found = reads(
        lambda v1: v1.invoices.create_preview(
            params={"customer": account.customer_id, "subscription": account.subscription_id}
        )
    )
    if found is None:
        return None
    preview = found.to_dict()
    return {
        "amount_due": int(preview.get("amount_due") or 0),
        "currency": preview.get("currency") or account.currency,
        "date": _when(preview.get("next_payment_attempt") or preview.get("period_end")),
    }


@dataclass(frozen=True)
class Overview:
    mrr: int
    currency: str
    by_status: list[tuple[str, str, int]]  # key, label, count
    trials_ending: list[BillingAccount]
    past_due: list[BillingAccount]
    accounts: list[BillingAccount]


SERVING_TENANT = [Tenant.Status.TRIAL, Tenant.Status.ACTIVE, Tenant.Status.PAST_DUE]


def ops_overview(*, now: datetime | None = None) -> Overview:
    """Every account at a glance. Monthly recurring revenue counts what will be invoiced
    again: paid (or past due) subscriptions of tenants that serve, not ending."""
    now = now or timezone.now()
    accounts = BillingAccount.objects.select_related("tenant")
    mrr = accounts.filter(
        status__in=SERVING_PAID, tenant__status__in=SERVING_TENANT, cancel_at_period_end=False
    ).aggregate(total=Sum("monthly_amount"))["total"]
    counted: dict[str, int] = {}
    for status in accounts.values_list("status", flat=True):
        counted[status] = counted.get(status, 0) + 1
    labels = dict(BillingAccount.Status.choices)
    return Overview(
        mrr=int(mrr or 0),
        currency=catalogue().currency,
        by_status=[
            (status, str(labels.get(status, status)), count)
            for status, count in sorted(counted.items())
        ],
        trials_ending=list(
            accounts.filter(
                status__in=[BillingAccount.Status.TRIALING, BillingAccount.Status.PENDING],
                tenant__status__in=SERVING_TENANT,
                trial_end__gte=now,
                trial_end__lt=now + timedelta(days=7),
            ).order_by("trial_end")
        ),
        past_due=list(
            accounts.filter(
                status__in=[BillingAccount.Status.PAST_DUE, BillingAccount.Status.UNPAID],
                tenant__isnull=False,
            ).order_by("grace_until")
        ),
        accounts=list(accounts.order_by("tenant__schema_name", "tenant_slug", "pk")[:500]),
    )
