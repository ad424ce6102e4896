"""After Checkout (setup mode) the new card is the customer's default payment method, as
Stripe does not make it one by itself; an overdue invoice is paid with it at once, and a
district suspended for non-payment serves again. Against the Stripe stand-in; Stripe's
events are delivered to the webhook and the jobs run as a worker would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import mail
from django.utils import timezone

from linli.billing.events import billing_grace_enforce
from linli.billing.models import BillingAccount
from linli.billing.services import checkout_url
from linli.billing.sync import catalogue_sync
from linli.registry.models import Tenant
from tests.billing.conftest import StandIn, Worker, connect

DECLINING = "4000000000000341"  # attaches, but every charge is declined


def _trial(tenant: Tenant) -> BillingAccount:
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    return connect(tenant)


def _checkout(standin: StandIn, tenant: Tenant, card: str) -> None:
    """The admin presses the button and types ``card`` into Stripe Checkout."""
    url = checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    standin.complete_checkout(url.rsplit("/", 1)[1], card)


def test_a_card_added_in_checkout_becomes_the_default_and_pays_after_the_trial(
    standin: StandIn, worker: Worker, tenant: Tenant
) -> None:
    # given a trial without a card
    account = _trial(tenant)
    # when the admin adds one in Checkout
    _checkout(standin, tenant, "4242424242424242")
    worker.run()
    # then it is the customer's default, and the invoice at the trial's end is paid with it
    customer = standin.client.customers.retrieve(account.customer_id)
    assert customer.invoice_settings.default_payment_method is not None
    assert BillingAccount.objects.get(pk=account.pk).has_payment_method
    standin.period_end(account.subscription_id)
    worker.run()
    assert standin.subscription(account.subscription_id)["status"] == "active"
    assert Tenant.objects.get(pk=tenant.pk).status == "active"
    assert worker.failures == []


def test_a_suspended_district_that_adds_a_card_pays_and_serves_again(
    standin: StandIn,
    worker: Worker,
    tenant: Tenant,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.contrib.auth import get_user_model
    from django_tenants.utils import tenant_context

    with tenant_context(tenant):
        get_user_model().objects.filter(username="admin-alpha").update(email="a@alpha.example")
    # given a declined renewal, and the grace period over: suspended for billing
    account = _trial(tenant)
    standin.card(account.customer_id, DECLINING)
    standin.period_end(account.subscription_id)
    worker.run()
    assert BillingAccount.objects.get(pk=account.pk).status == "past_due"
    with django_capture_on_commit_callbacks(execute=True):
        billing_grace_enforce(now=timezone.now() + timedelta(days=30))
    assert Tenant.objects.get(pk=tenant.pk).status == "suspended"
    mail.outbox.clear()

    # when the admin adds a good card in Checkout
    _checkout(standin, tenant, "4242424242424242")
    worker.run()

    # then the overdue invoice is paid with it and the district serves again, and is told
    [invoice] = standin.client.invoices.list(
        params={"customer": account.customer_id, "status": "paid"}
    ).data[:1]
    assert invoice.billing_reason == "subscription_cycle"
    assert BillingAccount.objects.get(pk=account.pk).status == "active"
    assert Tenant.objects.get(pk=tenant.pk).status == "active"
    assert [m.subject for m in mail.outbox] == ["Alpha District 已恢复服务"]
    assert worker.failures == []
