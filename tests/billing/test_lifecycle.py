"""Every step of a tenant's life has its billing step: closing stops the subscription (at
the period's end or now, as the operator chooses), deleting and purging cancel it now,
and the billing record outlives the tenant's schema so Stripe's late events still find
it. Against the Stripe stand-in; PostgreSQL real."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from linli import cli
from linli.billing.events import NOTE_TENANT_GONE
from linli.billing.models import BillingAccount, StripeEvent
from linli.billing.sync import catalogue_sync
from linli.registry.models import Tenant
from linli.registry.services import tenant_close, tenant_delete, tenants_purge_due
from tests.billing.conftest import StandIn, Worker, connect


def _connected(tenant: Tenant) -> BillingAccount:
    """The tenant's trial, in Stripe: a customer and a trialing subscription."""
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    return connect(tenant)


@pytest.fixture
def connected(standin: StandIn, tenant: Tenant) -> BillingAccount:
    catalogue_sync()
    account = _connected(tenant)
    assert standin.subscription(account.subscription_id)["status"] == "trialing"
    return account


def test_deleting_a_tenant_cancels_its_subscription_now_and_keeps_its_billing_record(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    # when
    tenant_delete(slug="alpha")
    worker.run()

    # then Stripe was told, once, and the subscription has ended
    [cancel] = standin.requests(f"/v1/subscriptions/{connected.subscription_id}", "DELETE")
    assert cancel["idempotency_key"] is None or cancel["idempotency_key"]
    assert standin.subscription(connected.subscription_id)["status"] == "canceled"
    assert not Tenant.objects.filter(schema_name="alpha").exists()
    kept = BillingAccount.objects.get(pk=connected.pk)
    assert (kept.tenant_id, kept.tenant_slug, kept.status) == (None, "alpha", "canceled")
    assert kept.tenant_gone_at is not None
    assert worker.failures == []


def test_a_late_event_for_a_deleted_tenant_finds_its_record_and_is_logged(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    # given alpha deleted while Stripe still had a payment in flight
    tenant_delete(slug="alpha")
    worker.run(deliver=False)
    standin.card(connected.customer_id)
    # when the subscription's invoice is paid in Stripe after all (a late event)
    worker.hooks.post(
        {
            "id": "evt_late_paid",
            "object": "event",
            "type": "invoice.paid",
            "created": int(timezone.now().timestamp()) + 5,
            "livemode": False,
            "data": {
                "object": {
                    "id": "in_late",
                    "object": "invoice",
                    "customer": connected.customer_id,
                    "amount_paid": 19900,
                    "billing_reason": "subscription_cycle",
                    "parent": {"subscription_details": {"subscription": connected.subscription_id}},
                    "lines": {"data": []},
                    "status_transitions": {"paid_at": int(timezone.now().timestamp()) + 5},
                }
            },
        }
    )
    worker.run(deliver=False)

    # then the event is matched to the kept record and logged as being about a gone tenant
    event = StripeEvent.objects.get(event_id="evt_late_paid")
    assert event.processed_at is not None
    assert event.last_error == NOTE_TENANT_GONE
    assert BillingAccount.objects.filter(pk=connected.pk, tenant__isnull=True).exists()


def test_closing_cancels_at_the_period_end_by_default(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    tenant_close(slug="alpha", actor="ops")
    worker.run()
    subscription = standin.subscription(connected.subscription_id)
    assert (subscription["status"], subscription["cancel_at_period_end"]) == ("trialing", True)
    account = BillingAccount.objects.get(pk=connected.pk)
    assert account.cancel_at_period_end and account.tenant_id is not None
    # at the end of the trial it ends, and nothing was charged
    standin.period_end(connected.subscription_id)
    worker.run()
    assert standin.subscription(connected.subscription_id)["status"] == "canceled"
    assert BillingAccount.objects.get(pk=connected.pk).status == "canceled"
    assert Tenant.objects.get(schema_name="alpha").status == "closed"


def test_closing_can_cancel_now(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    tenant_close(slug="alpha", actor="ops", billing_cancel="now")
    worker.run()
    assert standin.subscription(connected.subscription_id)["status"] == "canceled"
    assert BillingAccount.objects.get(pk=connected.pk).status == "canceled"


def test_purging_cancels_what_a_closure_left_running(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    # given alpha closed long ago without its subscription being told (closed before billing
    # followed the lifecycle)
    Tenant.objects.filter(schema_name="alpha").update(
        status="closed", purge_after=timezone.now() - timedelta(days=1)
    )
    # when
    assert tenants_purge_due() == ["alpha"]
    worker.run()
    # then
    assert standin.subscription(connected.subscription_id)["status"] == "canceled"
    kept = BillingAccount.objects.get(pk=connected.pk)
    assert (kept.tenant_id, kept.tenant_slug) == (None, "alpha")


def test_the_cli_lets_the_operator_choose_and_says_what_billing_does(
    standin: StandIn, worker: Worker, connected: BillingAccount, capsys: Any
) -> None:
    assert cli.main(["tenants", "close", "alpha", "--cancel", "now"]) == 0
    out = capsys.readouterr().out
    assert "subscription is cancelled now" in out
    worker.run()
    assert standin.subscription(connected.subscription_id)["status"] == "canceled"
    assert cli.main(["tenants", "delete", "alpha", "--yes"]) == 0
    assert "billing record is kept" in capsys.readouterr().out


def test_a_closure_queued_before_the_account_reached_stripe_opens_nothing(
    standin: StandIn, worker: Worker, tenant: Tenant
) -> None:
    # given a trial whose connect job has not run yet
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    # when the tenant is closed first, then the connect job runs
    tenant_close(slug="alpha", actor="ops")
    connect(tenant)
    worker.run()
    # then nothing runs in Stripe for a closed tenant
    assert [s for s in standin.subscriptions() if s["status"] != "canceled"] == []
