"""The billing invariant, as a property: whatever Stripe sends and in whatever order, a
tenant is never suspended while the newest subscription state is good or its grace period
has not passed, and never serves after the subscription's deletion was processed.

Hypothesis writes a subscription's history (a creation, then updates to random statuses,
paid and failed invoices, maybe a deletion and even an update stamped after it), delivers
its events as signed webhooks in a random order with duplicates, advances the clock at
random and runs the grace job in between. After every step the tenant is checked against
what the delivered events say. Each example runs in a savepoint that is rolled back, on
the ``alpha`` tenant (no tenant is provisioned). Stripe is replaced only by the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from linli.billing.events import BAD, GOOD
from linli.billing.models import BillingAccount
from linli.registry.models import Tenant
from tests.billing.stripe_events import BASE, PERIOD, SECRET, StripeSide, Webhooks

pytestmark = pytest.mark.django_db

GRACE = timedelta(days=django_settings.LINLI_BILLING_GRACE_DAYS)
DAY = 86400
STATUSES = ["trialing", "active", "past_due", "unpaid"]


@dataclass(frozen=True)
class Happening:
    """One thing that happened in Stripe: ``kind`` is created, updated, deleted, paid or
    failed; ``status`` is the subscription's status for the subscription events."""

    kind: str
    status: str
    at: datetime

    @property
    def good(self) -> bool:
        return self.kind == "paid" or (
            self.kind in ("created", "updated") and self.status in ("trialing", "active")
        )

    @property
    def bad(self) -> bool:
        return self.kind == "failed" or (
            self.kind in ("created", "updated") and self.status in ("past_due", "unpaid")
        )


@st.composite
def scenarios(draw: Any) -> tuple[list[Happening], list[tuple[Any, ...]]]:
    gap = st.integers(min_value=60, max_value=12 * DAY)
    at = BASE
    story = [Happening("created", draw(st.sampled_from(["trialing", "active"])), at)]
    for _ in range(draw(st.integers(min_value=1, max_value=7))):
        at += timedelta(seconds=draw(gap))
        kind = draw(st.sampled_from(["updated", "paid", "failed"]))
        status = draw(st.sampled_from(STATUSES)) if kind == "updated" else ""
        story.append(Happening(kind, status, at))
    if draw(st.booleans()):
        at += timedelta(seconds=draw(gap))
        story.append(Happening("deleted", "canceled", at))
        if draw(st.booleans()):  # an update stamped after the deletion
            at += timedelta(seconds=draw(gap))
            story.append(Happening("updated", draw(st.sampled_from(["trialing", "active"])), at))
    deliveries = list(draw(st.permutations(range(len(story)))))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        duplicate = draw(st.sampled_from(range(len(story))))
        deliveries.insert(draw(st.integers(min_value=0, max_value=len(deliveries))), duplicate)
    actions: list[tuple[Any, ...]] = []
    for index in deliveries:
        actions.append(("deliver", index))
        advance = draw(st.sampled_from([0, 60, DAY, 7 * DAY, 15 * DAY]))
        actions.append(("advance", advance, draw(st.booleans())))
    return story, actions


def _event(side: StripeSide, happening: Happening) -> dict[str, Any]:
    period = int((happening.at - BASE) / PERIOD)  # the period in force at that time
    if happening.kind == "paid":
        return side.invoice_event("paid", at=happening.at, period=period)
    if happening.kind == "failed":
        return side.invoice_event("payment_failed", at=happening.at, period=period)
    extra: dict[str, Any] = {}
    if happening.kind == "deleted":
        extra = {"canceled_at": happening.at, "ended_at": happening.at}
    return side.subscription_event(
        happening.kind, happening.status, at=happening.at, period=period, **extra
    )


def _check(
    story: list[Happening], delivered: set[int], hooks: Webhooks, *, grace_job_ran: bool
) -> None:
    tenant = Tenant.objects.get(schema_name="alpha")
    account = BillingAccount.objects.get(tenant=tenant)
    if not delivered:
        assert (tenant.status, account.status) == (Tenant.Status.TRIAL, "pending")
        return
    seen = [story[i] for i in delivered]
    if any(h.kind == "deleted" for h in seen):
        # never serving after the deletion was processed
        assert account.status == BillingAccount.Status.CANCELED
        assert tenant.status == Tenant.Status.CLOSED
        return
    newest = max(seen, key=lambda h: h.at)
    if newest.good:
        # never suspended (nor past due) while the newest state is good
        assert account.status in GOOD
        expected = Tenant.Status.TRIAL if newest.status == "trialing" else Tenant.Status.ACTIVE
        assert tenant.status == expected
        assert account.grace_until is None and not account.suspended_for_billing
        return
    assert newest.bad
    assert account.status in BAD
    assert account.grace_until is not None
    assert tenant.status in (Tenant.Status.PAST_DUE, Tenant.Status.SUSPENDED)
    # the grace period runs from a failure delivered after every good state delivered
    start = account.grace_until - GRACE
    assert start in {h.at for h in seen if h.bad}
    assert all(h.at < start for h in seen if h.good)
    if tenant.status == Tenant.Status.SUSPENDED:
        # never suspended within grace
        assert hooks.now >= account.grace_until
        assert account.suspended_for_billing
    elif grace_job_ran:
        # and once it has passed, the job suspends
        assert hooks.now < account.grace_until


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_billing_never_suspends_within_grace_nor_serves_after_deletion(
    scenario: tuple[list[Happening], list[tuple[Any, ...]]], tenant: Tenant, settings: Any
) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    story, actions = scenario
    side = StripeSide()
    events = [_event(side, happening) for happening in story]
    with transaction.atomic():
        try:
            Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.TRIAL)
            BillingAccount.objects.create(tenant=tenant, customer_id=side.customer)
            hooks = Webhooks()
            delivered: set[int] = set()
            _check(story, delivered, hooks, grace_job_ran=False)
            for action in actions:
                ran = False
                if action[0] == "deliver":
                    index = action[1]
                    hooks.now = max(hooks.now, story[index].at)  # delivered after it happened
                    assert hooks.post(events[index]).status_code == 200
                    hooks.run_jobs()
                    delivered.add(index)
                else:
                    hooks.now += timedelta(seconds=action[1])
                    if action[2]:
                        hooks.grace_job()
                        ran = True
                _check(story, delivered, hooks, grace_job_ran=ran)
        finally:
            transaction.set_rollback(True)
            mail.outbox = []
