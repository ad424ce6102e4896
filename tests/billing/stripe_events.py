"""Stripe's side of the webhook tests: events built in the shapes Stripe documents, signed
with the Stripe library's own signing code, posted to the real view, and the queued jobs
run. Stripe itself is the only thing replaced.

Subscriptions follow API version 2025-03-31 and later (the period on each item); with
``legacy=True`` they also carry the older top-level ``current_period_*`` fields, and
invoices the older top-level ``subscription``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.test import Client, TestCase
from django.urls import reverse
from procrastinate.contrib.django.models import ProcrastinateJob

from linli.billing.events import billing_grace_enforce, event_process
from linli.billing.models import StripeEvent

SECRET = "whsec_linli_webhook_tests"
API_VERSION = "2025-08-27.basil"
LEGACY_API_VERSION = "2024-06-20"
BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PERIOD = timedelta(days=30)
TASK = "linli.billing.tasks.billing_event_process"
_ids = itertools.count(1)


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def next_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):08d}linli"


def webhook_url() -> str:
    return reverse("stripe-webhook", urlconf="linli.urls_public")


def signed(payload: str, secret: str = SECRET) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<now>,v1=<HMAC of "t.payload">``."""
    return str(stripe.WebhookSignature.generate_signature_header(payload, secret))


@dataclass
class StripeSide:
    """One tenant's customer and subscription, and the events Stripe sends about them."""

    slug: str = "alpha"
    customer: str = "cus_Alpha01"
    subscription: str = "sub_Alpha01"
    started: datetime = BASE
    legacy: bool = False

    def period(self, number: int) -> tuple[datetime, datetime]:
        start = self.started + number * PERIOD
        return start, start + PERIOD

    def event(
        self, kind: str, obj: dict[str, Any], *, at: datetime, **extra: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": obj}
        if "previous_attributes" in extra:
            data["previous_attributes"] = extra.pop("previous_attributes")
        return {
            "id": next_id("evt"),
            "object": "event",
            "api_version": LEGACY_API_VERSION if self.legacy else API_VERSION,
            "created": ts(at),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": next_id("req"), "idempotency_key": None},
            "type": kind,
        }

    def subscription_object(
        self,
        status: str,
        *,
        period: int = 0,
        trial_end: datetime | None = None,
        cancel_at_period_end: bool = False,
        canceled_at: datetime | None = None,
        ended_at: datetime | None = None,
        subscription: str | None = None,
        default_payment_method: str | None = None,
    ) -> dict[str, Any]:
        sub_id = subscription or self.subscription
        start, end = self.period(period)
        item = {
            "id": f"si_{sub_id[4:]}base",
            "object": "subscription_item",
            "created": ts(self.started),
            "current_period_start": ts(start),
            "current_period_end": ts(end),
            "metadata": {"module": "base"},
            "price": {
                "id": "linli_base_19900_cny_month",
                "object": "price",
                "currency": "cny",
                "product": "linli_base",
                "recurring": {"interval": "month", "interval_count": 1},
                "unit_amount": 19900,
            },
            "quantity": 1,
            "subscription": sub_id,
        }
        obj: dict[str, Any] = {
            "id": sub_id,
            "object": "subscription",
            "billing_cycle_anchor": ts(self.started),
            "cancel_at": ts(end) if cancel_at_period_end else None,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": ts(canceled_at) if canceled_at else None,
            "collection_method": "charge_automatically",
            "created": ts(self.started),
            "currency": "cny",
            "customer": self.customer,
            "default_payment_method": default_payment_method,
            "ended_at": ts(ended_at) if ended_at else None,
            "items": {
                "object": "list",
                "data": [item],
                "has_more": False,
                "total_count": 1,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": next_id("in"),
            "livemode": False,
            "metadata": {"tenant": self.slug},
            "start_date": ts(self.started),
            "status": status,
            "trial_end": ts(trial_end) if trial_end else None,
            "trial_start": ts(self.started) if trial_end else None,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        }
        if self.legacy:
            obj["current_period_start"] = ts(start)
            obj["current_period_end"] = ts(end)
            del item["current_period_start"], item["current_period_end"]
        return obj

    def subscription_event(
        self, kind: str, status: str, *, at: datetime, **fields: Any
    ) -> dict[str, Any]:
        """``kind``: created, updated, deleted or trial_will_end."""
        previous = fields.pop("previous_attributes", None)
        obj = self.subscription_object(status, **fields)
        extra = {"previous_attributes": previous} if previous is not None else {}
        return self.event(f"customer.subscription.{kind}", obj, at=at, **extra)

    def invoice_event(
        self,
        kind: str,
        *,
        at: datetime,
        period: int = 0,
        amount: int = 19900,
        billing_reason: str = "subscription_cycle",
        subscription: str | None = None,
    ) -> dict[str, Any]:
        """``kind``: paid or payment_failed. The lines bill ``period`` (in advance)."""
        sub_id = subscription or self.subscription
        start, end = self.period(period)
        paid = kind == "paid"
        obj: dict[str, Any] = {
            "id": next_id("in"),
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid else amount,
            "attempt_count": 1,
            "attempted": True,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": ts(start),
            "currency": "cny",
            "customer": self.customer,
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": next_id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": "cny",
                        "parent": {
                            "type": "subscription_item_details",
                            "subscription_item_details": {
                                "subscription": sub_id,
                                "subscription_item": f"si_{sub_id[4:]}base",
                                "proration": False,
                                "invoice_item": None,
                            },
                        },
                        "period": {"start": ts(start), "end": ts(end)},
                        "quantity": 1,
                    }
                ],
                "has_more": False,
                "total_count": 1,
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": None if paid else ts(at + timedelta(days=3)),
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": {"tenant": self.slug}, "subscription": sub_id},
            },
            # a renewal invoice's own period is the period before the one its lines bill
            "period_start": ts(start - PERIOD),
            "period_end": ts(start),
            "status": "paid" if paid else "open",
            "status_transitions": {
                "finalized_at": ts(start),
                "marked_uncollectible_at": None,
                "paid_at": ts(at) if paid else None,
                "voided_at": None,
            },
            "total": amount,
        }
        if self.legacy:
            obj["subscription"] = sub_id
            del obj["parent"]
        return self.event(f"invoice.{kind}", obj, at=at)

    def checkout_completed(self, *, at: datetime, customer: str | None = None) -> dict[str, Any]:
        obj = {
            "id": next_id("cs_test"),
            "object": "checkout.session",
            "client_reference_id": None,
            "created": ts(at),
            "currency": "cny",
            "customer": customer or self.customer,
            "expires_at": ts(at + timedelta(hours=24)),
            "livemode": False,
            "metadata": {"tenant": self.slug},
            "mode": "setup",
            "payment_status": "no_payment_required",
            "setup_intent": next_id("seti"),
            "status": "complete",
            "subscription": None,
            "success_url": "https://alpha.localhost/admin/billing/done",
            "url": None,
        }
        return self.event("checkout.session.completed", obj, at=at)


@dataclass
class Webhooks:
    """Posts signed events to the platform host and runs the jobs they queue."""

    client: Client = field(default_factory=lambda: Client(HTTP_HOST="localhost"))
    now: datetime = BASE
    ran: set[int] = field(default_factory=set)

    def post(self, event: dict[str, Any] | str, *, signature: str | None = None) -> Any:
        payload = event if isinstance(event, str) else json.dumps(event)
        headers: dict[str, Any] = {}
        if signature != "":
            headers["HTTP_STRIPE_SIGNATURE"] = signature or signed(payload)
        return self.client.post(
            webhook_url(), data=payload, content_type="application/json", **headers
        )

    def run_jobs(self) -> list[StripeEvent]:
        """Run each queued processing job once, as a worker would (the job's body)."""
        queued = ProcrastinateJob.objects.filter(task_name=TASK).order_by("id")
        jobs = [(job.id, job.args) for job in queued if job.id not in self.ran]
        done = []
        with TestCase.captureOnCommitCallbacks(execute=True):
            for job_id, args in jobs:
                self.ran.add(job_id)
                done.append(event_process(event_id=args["event_id"], now=self.now))
        return done

    def send(self, event: dict[str, Any]) -> Any:
        """Deliver (200 expected) and process."""
        response = self.post(event)
        assert response.status_code == 200, response.content
        self.run_jobs()
        return response

    def grace_job(self) -> list[str]:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return billing_grace_enforce(now=self.now)
