"""Every step of a tenant's life has its billing step: closing stops the subscription (at
the period's end or now, as the operator chooses), deleting and purging cancel it now,
and the billing record outlives the tenant's schema so Stripe's late events still find
it. Against the Stripe stand-in; PostgreSQL real."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone, translation

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


# --- Closure is told; a resumed tenant is billed again --------------------------------------

ADMIN_EMAIL = "admin@alpha.example"


@pytest.fixture
def admin_mail(tenant: Tenant) -> str:
    from django.contrib.auth import get_user_model
    from django_tenants.utils import tenant_context

    with tenant_context(tenant):
        get_user_model().objects.filter(username="admin-alpha").update(email=ADMIN_EMAIL)
    return ADMIN_EMAIL


def test_a_subscription_cancelled_in_stripe_closes_the_tenant_and_tells_its_admins(
    standin: StandIn, worker: Worker, connected: BillingAccount, admin_mail: str
) -> None:
    from django.core import mail

    # when the district cancels in the Billing Portal (Stripe cancels the subscription)
    standin.client.subscriptions.cancel(connected.subscription_id)
    worker.run()

    # then the tenant is closed and its admins are told, in its language (zh-hans)
    tenant = Tenant.objects.get(schema_name="alpha")
    assert tenant.status == "closed" and tenant.purge_after is not None
    [message] = mail.outbox
    assert message.to == [admin_mail]
    assert message.subject == "Alpha District 的邻里站点已关闭"
    assert "订阅已结束" in message.body
    assert f"{tenant.purge_after:%Y}年" in message.body


def test_an_ops_closure_tells_the_admins_when_billing_stops(
    standin: StandIn,
    worker: Worker,
    connected: BillingAccount,
    admin_mail: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.core import mail

    Tenant.objects.filter(schema_name="alpha").update(locale="en")
    with django_capture_on_commit_callbacks(execute=True):
        tenant_close(slug="alpha", actor="ops")
    worker.run()
    [message] = mail.outbox
    assert message.subject == "Alpha District is closed"
    assert "nothing more is charged" in message.body


def _closed_by_billing(standin: StandIn, worker: Worker, account: BillingAccount) -> None:
    standin.client.subscriptions.cancel(account.subscription_id)
    worker.run()
    assert Tenant.objects.get(schema_name="alpha").status == "closed"


def test_resuming_a_billing_closed_tenant_subscribes_it_again_with_its_card(
    standin: StandIn, worker: Worker, connected: BillingAccount, admin_mail: str
) -> None:
    from django.core import mail

    from linli.registry.services import tenant_resume

    # given alpha closed because its subscription was cancelled, with a card on file
    standin.card(connected.customer_id)
    _closed_by_billing(standin, worker, connected)
    mail.outbox.clear()

    # when ops resume it
    with TestCase.captureOnCommitCallbacks(execute=True):
        tenant = tenant_resume(slug="alpha", actor="ops")
    worker.run()

    # then it is billed again, from now, on a new subscription with its modules
    account = BillingAccount.objects.get(pk=connected.pk)
    assert account.subscription_id != connected.subscription_id
    live = [s for s in standin.subscriptions(connected.customer_id) if s["status"] != "canceled"]
    assert [s["id"] for s in live] == [account.subscription_id]
    assert live[0]["status"] == "active" and account.status == "active"
    assert sorted(account.items) == sorted(connected.items)
    assert tenant.status == "active"
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    [message] = mail.outbox
    assert message.subject == "Alpha District 已重新开通"


def test_resuming_without_a_payment_method_is_refused_with_a_clear_message(
    standin: StandIn, worker: Worker, connected: BillingAccount, capsys: Any
) -> None:
    # given alpha closed by billing, and no card on file
    _closed_by_billing(standin, worker, connected)

    # when ops resume it without saying how it will be paid
    assert cli.main(["tenants", "resume", "alpha"]) == 1

    # then it is refused and stays closed: resuming would run it free
    err = capsys.readouterr().err
    assert "no payment method is on file" in err and "--trial-days" in err
    assert Tenant.objects.get(schema_name="alpha").status == "closed"
    assert [s for s in standin.subscriptions() if s["status"] != "canceled"] == []

    # with a trial it resumes, on a trialing subscription
    assert cli.main(["tenants", "resume", "alpha", "--trial-days", "14"]) == 0
    tenant = Tenant.objects.get(schema_name="alpha")
    account = BillingAccount.objects.get(pk=connected.pk)
    assert (tenant.status, account.status) == ("trial", "trialing")
    assert account.trial_end is not None
    assert timedelta(days=13) < account.trial_end - timezone.now() <= timedelta(days=14)


def test_resuming_before_the_period_ends_keeps_the_subscription(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    from linli.registry.services import tenant_resume

    tenant_close(slug="alpha", actor="ops")
    worker.run()
    assert standin.subscription(connected.subscription_id)["cancel_at_period_end"] is True
    tenant_resume(slug="alpha", actor="ops")
    subscription = standin.subscription(connected.subscription_id)
    assert (subscription["status"], subscription["cancel_at_period_end"]) == ("trialing", False)
    assert not BillingAccount.objects.get(pk=connected.pk).cancel_at_period_end
    assert Tenant.objects.get(schema_name="alpha").status == "trial"


def test_resuming_before_the_cancellation_job_ran_keeps_the_subscription(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    from linli.registry.services import tenant_resume

    tenant_close(slug="alpha", actor="ops", billing_cancel="now")
    tenant_resume(slug="alpha", actor="ops")
    worker.run()
    assert standin.requests(f"/v1/subscriptions/{connected.subscription_id}", "DELETE") == []
    assert standin.subscription(connected.subscription_id)["status"] == "trialing"


def test_resuming_a_tenant_closed_before_it_reached_stripe_connects_it_then(
    standin: StandIn, worker: Worker, tenant: Tenant
) -> None:
    from linli.billing.services import account_open
    from linli.registry.services import tenant_resume

    # given a trial whose connect job ran only after the tenant was closed (and stopped)
    catalogue_sync()
    standin.fail("POST", "/v1/customers", status=500, times=3)
    with TestCase.captureOnCommitCallbacks(execute=True):
        account = account_open(tenant=tenant)
    assert account is not None
    worker.run()
    tenant_close(slug="alpha", actor="ops")
    worker.run()
    assert BillingAccount.objects.get(pk=account.pk).subscription_id == ""
    assert standin.customers() == []

    # when it is resumed, its connect is queued again and runs
    tenant_resume(slug="alpha", actor="ops")
    worker.run()

    # then it is billed: one customer, one trialing subscription, and a trial tenant
    account.refresh_from_db()
    assert account.subscription_id
    assert standin.subscription(account.subscription_id)["status"] == "trialing"
    assert len(standin.customers()) == 1
    assert Tenant.objects.get(schema_name="alpha").status == "trial"
    assert worker.retrying == []


def test_a_resume_while_stripe_is_down_is_refused_with_the_reason(
    standin: StandIn, worker: Worker, connected: BillingAccount
) -> None:
    from linli.billing.services import BillingUnavailable
    from linli.registry.services import tenant_resume

    standin.card(connected.customer_id)
    _closed_by_billing(standin, worker, connected)
    standin.fail("POST", "/v1/subscriptions", status=500, times=3)
    with pytest.raises(BillingUnavailable) as down, translation.override("en"):
        tenant_resume(slug="alpha", actor="ops")
    assert "was not resumed" in down.value.message
    assert Tenant.objects.get(schema_name="alpha").status == "closed"


def test_what_ran_out_of_retries_is_queued_again_every_hour(
    standin: StandIn, worker: Worker, tenant: Tenant
) -> None:
    from linli.billing.services import accounts_reconcile

    # given a trial whose connect job gave up (Stripe was out for longer than its retries)
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    # when the hourly job runs, an hour later
    assert accounts_reconcile(now=timezone.now() + timedelta(minutes=30)) == 0
    assert accounts_reconcile(now=timezone.now() + timedelta(hours=2)) == 1
    assert accounts_reconcile(now=timezone.now() + timedelta(hours=2)) == 0  # queued once
    worker.run()
    # then the tenant is in Stripe
    account = BillingAccount.objects.get(tenant=tenant)
    assert account.subscription_id and account.status == "trialing"
