"""Billing services against a real stateful Stripe stand-in (localstripe) where it serves
the call, and against recorded responses in Stripe's documented shape where it does not
(localstripe has no multi-item subscriptions, Checkout, Billing Portal or meter events)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.utils import timezone
from django_tenants.utils import tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from linli import cli
from linli.billing import plans
from linli.billing.client import stripe_client
from linli.billing.models import BillingAccount, UsageReport
from linli.billing.services import (
    account_connect,
    checkout_url,
    items_sync,
    portal_url,
    usage_report,
)
from linli.billing.sync import catalogue_sync
from linli.errors import Conflict
from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled, tenant_create
from tests.billing.conftest import Recorded
from tests.factories import ResidentFactory


def _jobs(task: str) -> list[dict[str, Any]]:
    return [
        job.args for job in ProcrastinateJob.objects.filter(task_name__endswith=task).order_by("id")
    ]


# --- The catalogue in Stripe ------------------------------------------------------------


def test_sync_creates_the_catalogue_once(billing_on: str) -> None:
    first = catalogue_sync()
    catalogue = plans.catalogue()
    expected = {p.plan_id(catalogue) for p in catalogue.every_price()}
    assert expected <= set(first.created)
    assert len(first.created) + len(first.unchanged) == 2 * len(catalogue.every_price())
    second = catalogue_sync()
    assert second.created == []
    assert sorted(second.unchanged) == sorted(first.created + first.unchanged)
    shop = stripe_client().v1.plans.retrieve("linli_shop_9900_cny_month")
    assert (shop.amount, shop.currency, shop.interval, shop.product) == (
        9900,
        "cny",
        "month",
        "linli_shop",
    )


def test_a_new_price_is_a_new_plan(billing_on: str, settings: Any, tmp_path: Path) -> None:
    catalogue_sync()
    changed = plans.Catalogue().model_dump()
    changed["modules"]["shop"]["amount"] = 10900
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(changed))
    settings.LINLI_BILLING_PLANS_FILE = str(path)
    plans.catalogue.cache_clear()
    report = catalogue_sync()
    assert report.created == ["linli_shop_10900_cny_month"]
    old = stripe_client().v1.plans.retrieve("linli_shop_9900_cny_month")
    assert old.amount == 9900  # untouched, still serving its subscriptions


def test_cli_sync_reports_what_it_did(billing_on: str, capsys: Any) -> None:
    catalogue_sync()
    assert cli.main(["billing", "sync"]) == 0
    assert "0 created, 10 already in Stripe." in capsys.readouterr().out


# --- A new tenant's trial -----------------------------------------------------------------


def test_a_new_tenant_starts_a_trial_and_reaches_stripe_in_a_job(
    db: None, billing_on: str, django_capture_on_commit_callbacks: Any
) -> None:
    catalogue_sync()
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(slug="nuodong", name="糯垌鎮", status="trial")
    account = BillingAccount.objects.get(tenant=tenant)
    assert account.status == "pending" and account.customer_id == ""
    assert account.trial_end is not None
    assert timedelta(days=29, hours=23) < account.trial_end - timezone.now() <= timedelta(days=30)
    assert account.monthly_amount == 19900  # the base only: no modules yet
    assert _jobs("billing_account_connect") == [{"tenant_id": tenant.pk}]

    connected = account_connect(tenant_id=tenant.pk)
    customer = stripe_client().v1.customers.retrieve(connected.customer_id)
    assert customer.metadata is not None and customer.metadata["tenant"] == "nuodong"
    assert customer.name == "糯垌鎮"
    subscription = stripe_client().v1.subscriptions.retrieve(connected.subscription_id)
    assert subscription.trial_end == int(account.trial_end.timestamp())
    assert [item.plan.id for item in subscription["items"]["data"]] == [
        "linli_base_19900_cny_month"
    ]
    assert connected.items == {"base": subscription["items"]["data"][0].id}
    assert connected.status == subscription.status

    # A retried job creates nothing twice.
    again = account_connect(tenant_id=tenant.pk)
    assert (again.customer_id, again.subscription_id) == (
        connected.customer_id,
        connected.subscription_id,
    )
    listed = stripe_client().v1.subscriptions.list(params={"customer": connected.customer_id})
    assert len(listed.data) == 1


def test_self_hosted_mode_bills_nothing(
    db: None, settings: Any, django_capture_on_commit_callbacks: Any, capsys: Any
) -> None:
    settings.STRIPE_SECRET_KEY = ""
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(slug="selfhosted", name="Self-hosted", modules=["shop", "points"])
        module_set_enabled(slug="selfhosted", module="helpteam", enabled=True)
    assert not BillingAccount.objects.filter(tenant=tenant).exists()
    assert _jobs("billing_account_connect") == [] and _jobs("billing_items_sync") == []
    assert Tenant.objects.get(pk=tenant.pk).enabled_modules == {
        "community",
        "shop",
        "points",
        "helpteam",
    }
    assert cli.main(["billing", "sync"]) == 0
    assert "Billing is off" in capsys.readouterr().out


# --- Modules and proration (recorded: localstripe serves one-item subscriptions only) -----


def _subscription_item(params: dict[str, Any], item_id: str) -> tuple[int, dict[str, Any]]:
    return 200, {
        "id": item_id,
        "object": "subscription_item",
        "plan": {"id": params["plan"], "object": "plan"},
        "quantity": 1,
        "subscription": params["subscription"],
        "metadata": {"module": params["metadata[module]"]},
    }


def test_turning_a_module_on_and_off_reprices_with_proration(
    recorded: Recorded, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    BillingAccount.objects.create(
        tenant=tenant,
        customer_id="cus_alpha",
        subscription_id="sub_alpha",
        status="active",
        items={"base": "si_base"},
        monthly_amount=19900,
    )
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    module_set_enabled(slug="alpha", module="points", enabled=False)
    items_sync(tenant_id=tenant.pk)
    recorded.calls.clear()
    recorded.routes[("post", "/v1/subscription_items")] = lambda p: _subscription_item(p, "si_shop")
    recorded.routes[("delete", "/v1/subscription_items/si_shop")] = lambda p: (
        200,
        {"id": "si_shop", "object": "subscription_item", "deleted": True},
    )

    with django_capture_on_commit_callbacks(execute=True):
        module_set_enabled(slug="alpha", module="shop", enabled=True)
    assert _jobs("billing_items_sync")[-1] == {"tenant_id": tenant.pk}
    account = items_sync(tenant_id=tenant.pk)
    assert account is not None
    [added] = recorded.calls
    assert (added.method, added.path) == ("post", "/v1/subscription_items")
    assert added.params["plan"] == "linli_shop_9900_cny_month"
    assert added.params["proration_behavior"] == "create_prorations"
    assert added.params["subscription"] == "sub_alpha"
    assert added.idempotency_key and added.idempotency_key.startswith(
        f"linli-item-{tenant.pk}-shop-"
    )
    assert account.items["shop"] == "si_shop"
    enabled = Tenant.objects.get(pk=tenant.pk).enabled_modules
    assert account.monthly_amount == plans.catalogue().monthly_amount(enabled)
    assert account.monthly_amount == 19900 + 9900 + sum(
        plans.catalogue().modules[m].amount for m in enabled if m not in {"community", "shop"}
    )

    # Running the job again changes nothing in Stripe.
    items_sync(tenant_id=tenant.pk)
    assert len(recorded.calls) == 1

    before = account.monthly_amount
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    account = items_sync(tenant_id=tenant.pk)
    assert account is not None
    removed = recorded.calls[-1]
    assert (removed.method, removed.path) == ("delete", "/v1/subscription_items/si_shop")
    assert removed.params == {"proration_behavior": "create_prorations"}
    assert "shop" not in account.items and account.items["base"] == "si_base"
    assert account.monthly_amount == before - 9900


def test_items_wait_for_the_account_to_reach_stripe(recorded: Recorded, tenant: Tenant) -> None:
    BillingAccount.objects.create(tenant=tenant, status="pending")
    items_sync(tenant_id=tenant.pk)
    assert recorded.calls == []


# --- Checkout and the Billing Portal (recorded) ----------------------------------------------


def test_checkout_and_portal_links_are_made_server_side(recorded: Recorded, tenant: Tenant) -> None:
    with pytest.raises(Conflict) as not_ready:
        checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    assert not_ready.value.code == "billing_not_ready"
    assert recorded.calls == []

    BillingAccount.objects.create(tenant=tenant, customer_id="cus_alpha", status="trialing")
    recorded.routes[("post", "/v1/checkout/sessions")] = lambda p: (
        200,
        {
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": p["mode"],
            "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        },
    )
    recorded.routes[("post", "/v1/billing_portal/sessions")] = lambda p: (
        200,
        {
            "id": "bps_1",
            "object": "billing_portal.session",
            "url": "https://billing.stripe.com/p/session/bps_1",
        },
    )
    url = checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    assert url == "https://checkout.stripe.com/c/pay/cs_test_1"
    sent = recorded.calls[-1].params
    assert (sent["mode"], sent["customer"], sent["metadata[tenant]"]) == (
        "setup",
        "cus_alpha",
        "alpha",
    )
    assert portal_url(tenant=tenant, return_url="https://a/billing") == (
        "https://billing.stripe.com/p/session/bps_1"
    )
    assert recorded.calls[-1].params == {"customer": "cus_alpha", "return_url": "https://a/billing"}


def test_stripe_down_is_a_clear_error_not_a_500(recorded: Recorded, tenant: Tenant) -> None:
    from linli.billing.services import BillingUnavailable

    BillingAccount.objects.create(tenant=tenant, customer_id="cus_alpha", status="trialing")
    recorded.routes[("post", "/v1/checkout/sessions")] = lambda p: (
        500,
        {"error": {"type": "api_error", "message": "boom"}},
    )
    with pytest.raises(BillingUnavailable) as down:
        checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    assert (down.value.status, down.value.code) == (503, "billing_unavailable")


# --- Metered usage (recorded: meter events) ---------------------------------------------------


@pytest.fixture
def metered(settings: Any, tmp_path: Path) -> None:
    catalogue = plans.Catalogue().model_dump()
    catalogue["per_resident"] = {"key": "residents", "name": "Active residents", "amount": 10}
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(catalogue))
    settings.LINLI_BILLING_PLANS_FILE = str(path)
    plans.catalogue.cache_clear()


def test_usage_is_reported_exactly_once_per_period(
    recorded: Recorded, metered: None, tenant: Tenant
) -> None:
    BillingAccount.objects.create(tenant=tenant, customer_id="cus_alpha", status="active")
    with tenant_context(tenant):
        ResidentFactory.create_batch(3)
        ResidentFactory(status="moved_out", moved_out_on=date(2026, 10, 3))
    failures = iter([True, True, True])  # the client's own two retries fail as well

    def meter(params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if next(failures, False):
            return 500, {"error": {"type": "api_error", "message": "try again"}}
        return 200, {"object": "billing.meter_event", **params}

    recorded.routes[("post", "/v1/billing/meter_events")] = meter
    with pytest.raises(stripe.APIError):
        usage_report(tenant_id=tenant.pk, period=date(2026, 10, 15))
    report = UsageReport.objects.get(tenant=tenant)
    assert (report.period, report.quantity, report.reported_at) == (date(2026, 10, 1), 3, None)

    # The retry sends the same identifier; then it is done.
    done = usage_report(tenant_id=tenant.pk, period=date(2026, 10, 1))
    assert done is not None and done.reported_at is not None
    usage_report(tenant_id=tenant.pk, period=date(2026, 10, 31))
    posts = [c for c in recorded.calls if c.path == "/v1/billing/meter_events"]
    assert [c.params["identifier"] for c in posts] == [report.identifier] * (len(posts))
    assert len({c.params["identifier"] for c in posts}) == 1
    assert posts[-1].params["payload[value]"] == "3"
    assert posts[-1].params["payload[stripe_customer_id]"] == "cus_alpha"
    assert UsageReport.objects.filter(tenant=tenant).count() == 1
    assert len(posts) == 4  # three failed attempts (one call and its retries), one landed


def test_no_metered_price_reports_nothing(recorded: Recorded, tenant: Tenant) -> None:
    BillingAccount.objects.create(tenant=tenant, customer_id="cus_alpha", status="active")
    assert usage_report(tenant_id=tenant.pk, period=date(2026, 10, 1)) is None
    assert recorded.calls == [] and not UsageReport.objects.exists()
