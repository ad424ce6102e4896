"""Metered usage that is billed: with a price per active resident, ``billing sync``
creates the Billing Meter and the metered plan on it, every subscription carries the
metered item, and each serving tenant's active residents are reported once per month it
existed in, stamped so that Stripe bills them. Against the Stripe stand-in, whose meter
events are billed at renewal from the events in the period."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.billing import plans
from linli.billing.models import BillingAccount, UsageReport
from linli.billing.services import items_sync, usage_report, usage_report_due
from linli.billing.sync import catalogue_sync
from linli.registry.models import Tenant
from linli.registry.services import tenant_close
from tests.billing.conftest import StandIn, connect
from tests.factories import ResidentFactory

METERED_PLAN = "linli_residents_10_cny_month"


@pytest.fixture
def metered(standin: StandIn, settings: Any, tmp_path: Path) -> None:
    catalogue = plans.Catalogue().model_dump()
    catalogue["per_resident"] = {"key": "residents", "name": "Active residents", "amount": 10}
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(catalogue))
    settings.LINLI_BILLING_PLANS_FILE = str(path)
    plans.catalogue.cache_clear()


def _meter(standin: StandIn) -> None:
    """The meter, made in Stripe directly: these tests are about what Linli reports."""
    standin.client.billing.meters.create(
        params={
            "display_name": "Active residents",
            "event_name": "linli_active_residents",
            "default_aggregation": {"formula": "sum"},
        }
    )


def _plans(standin: StandIn, subscription_id: str) -> list[str]:
    items = standin.subscription(subscription_id)["items"]["data"]
    return sorted(item["plan"]["id"] for item in items)


def test_sync_creates_the_meter_and_bills_the_metered_plan_from_it(
    standin: StandIn, metered: None
) -> None:
    report = catalogue_sync()
    [meter] = standin.client.billing.meters.list().data
    assert meter.event_name == "linli_active_residents"
    assert meter.default_aggregation.formula == "sum"
    plan = standin.client.plans.retrieve(METERED_PLAN)
    assert (plan.usage_type, plan.meter) == ("metered", meter.id)
    assert "meter linli_active_residents" in report.created
    again = catalogue_sync()
    assert again.created == [] and len(standin.client.billing.meters.list().data) == 1


def test_a_new_subscription_carries_the_metered_price(
    standin: StandIn, metered: None, tenant: Tenant
) -> None:
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    account = connect(tenant)
    assert METERED_PLAN in _plans(standin, account.subscription_id)
    assert "residents" in account.items
    [item] = [
        i
        for i in standin.subscription(account.subscription_id)["items"]["data"]
        if i["plan"]["id"] == METERED_PLAN
    ]
    assert item["quantity"] is None  # metered: billed from the meter, no quantity


def test_an_older_subscription_gets_the_metered_price_at_its_next_item_sync(
    standin: StandIn, tenant: Tenant, settings: Any, tmp_path: Path
) -> None:
    # given a subscription made before the price per resident existed
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    account = connect(tenant)
    catalogue = plans.Catalogue().model_dump()
    catalogue["per_resident"] = {"key": "residents", "name": "Active residents", "amount": 10}
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(catalogue))
    settings.LINLI_BILLING_PLANS_FILE = str(path)
    plans.catalogue.cache_clear()
    catalogue_sync()
    # when
    items_sync(tenant_id=tenant.pk)
    # then
    assert METERED_PLAN in _plans(standin, account.subscription_id)


def _month_after(moment: datetime) -> datetime:
    return (
        moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)
    ).replace(day=1)


def test_usage_is_reported_once_and_billed_at_renewal(
    standin: StandIn, metered: None, tenant: Tenant
) -> None:
    # given alpha paying since the 10th of a month (Stripe's clock), three active residents
    catalogue_sync()
    month = _month_after(_month_after(timezone.now()))
    standin.travel_to(int((month + timedelta(days=9)).timestamp()))
    Tenant.objects.filter(pk=tenant.pk).update(created_at=month - timedelta(days=60))
    customer = standin.client.customers.create(params={"name": tenant.name})
    standin.card(customer.id)
    BillingAccount.objects.create(
        tenant=tenant, customer_id=customer.id, trial_end=timezone.now() - timedelta(days=1)
    )
    account = connect(tenant)
    with tenant_context(tenant):
        ResidentFactory.create_batch(3)
        ResidentFactory(status="moved_out", moved_out_on=date(2026, 10, 3))
    # the month is over (for Stripe and for Linli)
    after = _month_after(month) + timedelta(minutes=20)
    standin.travel_to(int(after.timestamp()))
    standin.fail("POST", "/v1/billing/meter_events", status=500, times=3)

    # when the report fails (the client's own retries too), then is retried, twice
    with pytest.raises(stripe.APIError):
        usage_report(tenant_id=tenant.pk, period=month.date(), now=after)
    report = UsageReport.objects.get(tenant=tenant)
    assert (report.period, report.quantity, report.reported_at) == (month.date(), 3, None)
    done = usage_report(tenant_id=tenant.pk, period=month.date(), now=after)
    usage_report(tenant_id=tenant.pk, period=month.date() + timedelta(days=20), now=after)

    # then one meter event, inside the month (Shanghai's), counted once
    assert done is not None and done.reported_at is not None
    [event] = standin.meter_events()
    assert event["payload"] == {"stripe_customer_id": customer.id, "value": "3"}
    assert event["identifier"] == report.identifier
    month_ends = datetime(after.year, after.month, 1, tzinfo=UTC) - timedelta(hours=8)
    assert event["timestamp"] == int(month_ends.timestamp()) - 1
    assert UsageReport.objects.filter(tenant=tenant).count() == 1

    # and Stripe bills it at the end of the subscription's period: 3 residents x 10 fen
    standin.period_end(account.subscription_id)
    [renewal] = [
        i
        for i in standin.client.invoices.list(params={"customer": customer.id}).data
        if i.billing_reason == "subscription_cycle"
    ]
    usage = [
        line for line in renewal.lines.data if line.pricing.price_details.price == METERED_PLAN
    ]
    assert [(line.quantity, line.amount) for line in usage] == [(3, 30)]


def test_usage_is_not_reported_for_a_month_before_the_tenant_existed(
    standin: StandIn, metered: None, tenant: Tenant
) -> None:
    # given alpha created on 1 December (Shanghai), 00:30
    _meter(standin)
    created = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    Tenant.objects.filter(pk=tenant.pk).update(created_at=created)
    BillingAccount.objects.filter(tenant=tenant).delete()
    customer = standin.client.customers.create(params={"name": tenant.name})
    BillingAccount.objects.create(
        tenant=tenant, customer_id=customer.id, subscription_id="sub_x", status="active"
    )
    BillingAccount.objects.filter(tenant=tenant).update(created_at=created)
    # when November's usage is due
    now = datetime(2026, 12, 1, 0, 20, tzinfo=UTC)
    assert usage_report(tenant_id=tenant.pk, period=date(2026, 11, 1), now=now) is None
    # then nothing is reported
    assert standin.meter_events() == [] and not UsageReport.objects.exists()


def test_usage_is_reported_only_for_serving_billed_tenants(
    standin: StandIn, metered: None, tenant: Tenant, other_tenant: Tenant
) -> None:
    _meter(standin)
    long_ago = timezone.now() - timedelta(days=90)
    Tenant.objects.filter(pk__in=[tenant.pk, other_tenant.pk]).update(created_at=long_ago)
    for each, status in [(tenant, "active"), (other_tenant, "canceled")]:
        customer = standin.client.customers.create(params={"name": each.name})
        BillingAccount.objects.create(
            tenant=each, customer_id=customer.id, subscription_id=f"sub_{each.slug}", status=status
        )
    BillingAccount.objects.update(created_at=long_ago)
    tenant_close(slug="alpha", actor="ops")  # closed: no report either
    assert usage_report_due() == 0
    assert standin.meter_events() == [] and not UsageReport.objects.exists()


def test_no_metered_price_reports_nothing(standin: StandIn, tenant: Tenant) -> None:
    BillingAccount.objects.create(
        tenant=tenant, customer_id="cus_alpha", subscription_id="sub_alpha", status="active"
    )
    assert usage_report(tenant_id=tenant.pk, period=date(2026, 10, 1)) is None
    assert standin.requests() == [] and not UsageReport.objects.exists()
