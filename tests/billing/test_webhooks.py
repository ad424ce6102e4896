"""The Stripe webhook endpoint: signed events (Stripe's own signing code) posted to the
platform host are stored once and queued; anything unsigned is refused and stored nowhere.
Stripe is replaced only by the events built here."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from linli.billing.events import NOTE_NO_ACCOUNT, NOTE_UNHANDLED, event_process
from linli.billing.models import BillingAccount, StripeEvent
from linli.registry.models import Tenant
from tests.billing.stripe_events import BASE, SECRET, TASK, StripeSide, Webhooks, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def hooks(billing: None) -> Webhooks:
    return Webhooks()


@pytest.fixture
def account(tenant: Tenant) -> BillingAccount:
    with tenant_context(tenant):
        from django.contrib.auth import get_user_model

        get_user_model().objects.filter(username="admin-alpha").update(email="admin@alpha.example")
    return BillingAccount.objects.create(
        tenant=tenant,
        customer_id="cus_Alpha01",
        subscription_id="sub_Alpha01",
        status=BillingAccount.Status.TRIALING,
        state_at=BASE,
    )


def _queued() -> list[dict[str, Any]]:
    jobs = ProcrastinateJob.objects.filter(task_name=TASK).order_by("id")
    return [{"args": j.args, "queue": j.queue_name, "status": j.status} for j in jobs]


def test_a_signed_event_is_stored_and_queued_without_being_processed(hooks, account):
    event = StripeSide().subscription_event("updated", "active", at=BASE.replace(day=2))
    # when
    response = hooks.post(event)
    # then: 200 at once, the event stored as sent, one job queued, nothing applied yet
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.type, stored.payload) == (
        event["id"],
        "customer.subscription.updated",
        event,
    )
    assert stored.created == BASE.replace(day=2)
    assert stored.processed_at is None and stored.attempts == 0
    assert _queued() == [{"args": {"event_id": event["id"]}, "queue": "platform", "status": "todo"}]
    account.refresh_from_db()
    assert account.status == BillingAccount.Status.TRIALING


def test_the_queued_job_applies_the_event(hooks, account):
    hooks.send(StripeSide().subscription_event("updated", "active", at=BASE.replace(day=2)))
    account.refresh_from_db()
    assert account.status == BillingAccount.Status.ACTIVE
    stored = StripeEvent.objects.get()
    assert stored.processed_at == hooks.now and stored.attempts == 1 and stored.last_error == ""


@pytest.mark.parametrize(
    "signature",
    [
        "",  # no header at all
        "t=1700000000,v1=deadbeef",
        "garbage",
        "wrong-secret",
        "stale",
    ],
)
def test_a_missing_or_bad_signature_is_refused_and_nothing_is_stored(
    hooks, account, signature, caplog
):
    event = StripeSide().subscription_event("deleted", "canceled", at=BASE.replace(day=2))
    payload = json.dumps(event)
    if signature == "wrong-secret":
        signature = signed(payload, "whsec_someone_else")
    elif signature == "stale":
        import stripe

        signature = stripe.WebhookSignature.generate_signature_header(
            payload, SECRET, timestamp=1_600_000_000
        )
    # when
    with caplog.at_level(logging.DEBUG):
        response = hooks.post(payload, signature=signature)
    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "signature_invalid"
    assert not StripeEvent.objects.exists()
    assert _queued() == []
    # nothing sensitive logged: neither the payload nor the header
    assert event["id"] not in caplog.text and "sub_Alpha01" not in caplog.text
    if signature:
        assert signature not in caplog.text
    assert "signature" in caplog.text


def test_a_signed_body_that_is_not_an_event_is_refused(hooks):
    for body in ["not json", json.dumps([1, 2]), json.dumps({"id": "evt_1", "type": "x"})]:
        response = hooks.post(body)
        assert response.status_code == 400
        assert response.json()["code"] == "payload_invalid"
    assert not StripeEvent.objects.exists()


def test_a_duplicate_delivery_is_stored_once_processed_once_and_mailed_once(hooks, account):
    event = StripeSide().invoice_event("payment_failed", at=BASE.replace(day=3))
    # when: Stripe delivers the same event twice (a retry, or two endpoints)
    first = hooks.post(event)
    second = hooks.post(event)
    hooks.run_jobs()
    hooks.post(event)  # and again after processing
    hooks.run_jobs()
    # then
    assert [first.status_code, second.status_code] == [200, 200]
    assert second.json() == {"received": True, "duplicate": True}
    stored = StripeEvent.objects.get()
    assert stored.attempts == 1 and stored.processed_at is not None
    assert len(_queued()) == 1
    assert [m.to for m in mail.outbox] == [["admin@alpha.example"]]
    # and processing it again directly changes nothing either
    assert event_process(event_id=event["id"]).attempts == 1
    assert len(mail.outbox) == 1


def test_get_is_not_allowed(hooks):
    response = hooks.client.get("/billing/stripe/webhook")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_billing_off_answers_404_and_stores_nothing(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    event = StripeSide().subscription_event("updated", "active", at=BASE)
    response = Webhooks().post(event)
    assert response.status_code == 404
    assert Client(HTTP_HOST="localhost").get("/billing/stripe/webhook").status_code == 404
    assert not StripeEvent.objects.exists()


def test_no_webhook_secret_configured_refuses_with_503(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_linli"
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = Webhooks().post(StripeSide().subscription_event("updated", "active", at=BASE))
    assert response.status_code == 503
    assert response.json()["code"] == "billing_not_configured"
    assert not StripeEvent.objects.exists()


def test_the_webhook_is_not_served_on_a_tenant_host(billing, tenant):
    payload = json.dumps(StripeSide().subscription_event("updated", "active", at=BASE))
    response = Client(HTTP_HOST="alpha.localhost").post(
        "/billing/stripe/webhook",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signed(payload),
    )
    assert response.status_code == 404
    assert not StripeEvent.objects.exists()


def test_an_event_for_no_known_account_is_processed_with_a_note(hooks, tenant):
    stranger = StripeSide(slug="nobody", customer="cus_Nobody", subscription="sub_Nobody")
    hooks.send(stranger.subscription_event("updated", "past_due", at=BASE))
    stored = StripeEvent.objects.get()
    assert stored.processed_at is not None and stored.last_error == NOTE_NO_ACCOUNT
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE


def test_an_unhandled_event_type_is_processed_with_a_note(hooks, account):
    side = StripeSide()
    event = side.event("customer.updated", {"id": side.customer, "object": "customer"}, at=BASE)
    hooks.send(event)
    assert StripeEvent.objects.get().last_error == NOTE_UNHANDLED


def test_a_failing_event_records_the_error_and_raises_for_a_retry(hooks, account):
    event = StripeSide().subscription_event("updated", "no_such_status", at=BASE.replace(day=2))
    assert hooks.post(event).status_code == 200
    # when: the job body runs and fails (twice, as retries would)
    for attempt in (1, 2):
        with pytest.raises(ValueError, match="no_such_status"):
            event_process(event_id=event["id"])
        stored = StripeEvent.objects.get()
        assert stored.attempts == attempt and stored.processed_at is None
        assert "no_such_status" in stored.last_error
    account.refresh_from_db()
    assert account.status == BillingAccount.Status.TRIALING


def test_the_processing_job_retries_with_backoff():
    from linli.billing.tasks import billing_event_process

    strategy = billing_event_process.retry_strategy
    assert strategy is not None
    assert strategy.max_attempts == 8
    assert strategy.exponential_wait == 4
