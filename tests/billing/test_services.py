"""Billing services against the stateful Stripe stand-in (``tests/billing/standin.py``):
Stripe replaced at its client boundary, everything else real."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from linli import cli
from linli.billing import plans
from linli.billing.client import stripe_client
from linli.billing.models import BillingAccount
from linli.billing.services import (
    account_connect,
    checkout_url,
    items_sync,
    portal_url,
)
from linli.billing.sync import catalogue_sync
from linli.errors import Conflict
from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled, tenant_create
from tests.billing.conftest import StandIn, Worker, connect


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

    connected = connect(tenant)
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
    again = connect(tenant)
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


# --- Modules and proration ------------------------------------------------------------------


def _paying(standin: StandIn, tenant: Tenant) -> BillingAccount:
    """alpha, billed from today (no trial) with a card on file: an active subscription."""
    catalogue_sync()
    customer = standin.client.customers.create(params={"name": tenant.name})
    standin.card(customer.id)
    BillingAccount.objects.create(
        tenant=tenant,
        customer_id=customer.id,
        trial_end=timezone.now() - timedelta(days=1),
        has_payment_method=True,
    )
    return connect(tenant)


def _plans(subscription: dict[str, Any]) -> list[str]:
    return sorted(item["plan"]["id"] for item in subscription["items"]["data"])


def test_turning_a_module_on_and_off_reprices_with_proration(
    standin: StandIn, tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # given alpha paying for the base and its modules but the shop
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    account = _paying(standin, tenant)
    assert account.status == "active"
    before = standin.subscription(account.subscription_id)
    assert "linli_shop_9900_cny_month" not in _plans(before)

    # when the shop is turned on
    with django_capture_on_commit_callbacks(execute=True):
        module_set_enabled(slug="alpha", module="shop", enabled=True)
    assert _jobs("billing_items_sync")[-1] == {"tenant_id": tenant.pk}
    synced = items_sync(tenant_id=tenant.pk)
    assert synced is not None

    # then Stripe's subscription has the shop's item, prorated for the rest of the period
    after = standin.subscription(account.subscription_id)
    assert "linli_shop_9900_cny_month" in _plans(after)
    [added] = standin.requests("/v1/subscription_items", "POST")
    assert added["params"]["proration_behavior"] == "create_prorations"
    assert added["idempotency_key"].startswith(f"linli-item-{tenant.pk}-shop-")
    preview = standin.client.invoices.create_preview(
        params={"customer": account.customer_id, "subscription": account.subscription_id}
    )
    prorations = [
        line
        for line in preview["lines"]["data"]
        if line["parent"]["subscription_item_details"]["proration"]
    ]
    assert [line["amount"] for line in prorations] == [9900]  # the whole period is left
    enabled = Tenant.objects.get(pk=tenant.pk).enabled_modules
    assert synced.monthly_amount == plans.catalogue().monthly_amount(enabled)

    # Running the job again changes nothing in Stripe.
    items_sync(tenant_id=tenant.pk)
    assert len(standin.requests("/v1/subscription_items")) == 1

    # Turning it off removes the item, prorated.
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    removed_shop = items_sync(tenant_id=tenant.pk)
    assert removed_shop is not None
    [removed] = standin.requests("/v1/subscription_items/", "DELETE")
    assert removed["params"] == {"proration_behavior": "create_prorations"}
    assert "linli_shop_9900_cny_month" not in _plans(standin.subscription(account.subscription_id))
    assert "shop" not in removed_shop.items and "base" in removed_shop.items
    assert removed_shop.monthly_amount == synced.monthly_amount - 9900


def test_items_wait_for_the_account_to_reach_stripe(standin: StandIn, tenant: Tenant) -> None:
    BillingAccount.objects.create(tenant=tenant, status="pending")
    items_sync(tenant_id=tenant.pk)
    assert standin.requests() == []


# --- Checkout and the Billing Portal ---------------------------------------------------------


def test_checkout_and_portal_links_are_made_server_side(standin: StandIn, tenant: Tenant) -> None:
    with pytest.raises(Conflict) as not_ready:
        checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    assert not_ready.value.code == "billing_not_ready"
    assert standin.requests() == []

    customer = standin.client.customers.create(params={"name": "Alpha"})
    BillingAccount.objects.create(tenant=tenant, customer_id=customer.id, status="trialing")
    url = checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    [sent] = standin.requests("/v1/checkout/sessions", "POST")
    assert url == f"https://checkout.stripe.com/c/pay/{sent and url.rsplit('/', 1)[1]}"
    assert (sent["params"]["mode"], sent["params"]["customer"]) == ("setup", customer.id)
    assert sent["params"]["metadata"] == {"tenant": "alpha"}
    portal = portal_url(tenant=tenant, return_url="https://a/billing")
    assert portal.startswith("https://billing.stripe.com/p/session/bps_")
    [asked] = standin.requests("/v1/billing_portal/sessions", "POST")
    assert asked["params"] == {"customer": customer.id, "return_url": "https://a/billing"}


def test_stripe_down_is_a_clear_error_not_a_500(standin: StandIn, tenant: Tenant) -> None:
    from linli.billing.services import BillingUnavailable

    customer = standin.client.customers.create(params={"name": "Alpha"})
    BillingAccount.objects.create(tenant=tenant, customer_id=customer.id, status="trialing")
    standin.fail("POST", "/v1/checkout/sessions", status=500, times=5)
    with pytest.raises(BillingUnavailable) as down:
        checkout_url(tenant=tenant, success_url="https://a/ok", cancel_url="https://a/no")
    assert (down.value.status, down.value.code) == (503, "billing_unavailable")


# --- A connect that fails halfway -------------------------------------------------------------

DAY = 86400


def test_a_failed_connect_keeps_its_customer_and_a_retry_a_day_later_reuses_it(
    standin: StandIn, tenant: Tenant
) -> None:
    # given the subscription call fails (Stripe's own retries too) after the customer exists
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    standin.fail("POST", "/v1/subscriptions", status=500, times=3)
    with pytest.raises(stripe.APIError):
        account_connect(tenant_id=tenant.pk)
    account = BillingAccount.objects.get(tenant=tenant)
    [customer] = standin.customers()
    assert account.customer_id == customer["id"]  # stored as soon as Stripe returned it

    # when the job is retried after Stripe's 24-hour idempotency window
    standin.advance(25 * 3600)
    retried = connect(tenant)

    # then the same customer is used: still exactly one, with one subscription
    assert [c["id"] for c in standin.customers()] == [customer["id"]]
    assert len(standin.requests("/v1/customers", "POST")) == 1
    [subscription] = standin.subscriptions(customer["id"])
    assert retried.subscription_id == subscription["id"]


def test_a_subscription_stripe_made_but_linli_did_not_record_is_adopted(
    standin: StandIn, tenant: Tenant
) -> None:
    # given a subscription created for alpha's customer by an attempt whose answer was lost
    catalogue_sync()
    customer = standin.client.customers.create(params={"name": tenant.name})
    BillingAccount.objects.create(
        tenant=tenant,
        customer_id=customer.id,
        trial_end=timezone.now() + timedelta(days=30),
        status="pending",
    )
    lost = standin.client.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"plan": "linli_base_19900_cny_month", "metadata": {"module": "base"}}],
            "trial_end": int((timezone.now() + timedelta(days=30)).timestamp()),
            "metadata": {"tenant": "alpha", "linli_tenant_id": str(tenant.pk)},
        }
    )
    standin.advance(25 * 3600)  # the idempotency key is forgotten

    # when the connect job runs again
    account = connect(tenant)

    # then it is adopted, and brought in step with the modules, not created twice
    assert account.subscription_id == lost.id
    assert len(standin.subscriptions(customer.id)) == 1
    assert account.status == "trialing"


# --- Every path that changes modules reprices --------------------------------------------


def test_going_back_to_an_earlier_module_version_reprices(
    standin: StandIn, tenant: Tenant, worker: Worker, django_capture_on_commit_callbacks: Any
) -> None:
    from linli.registry.models import ModuleSettingVersion
    from linli.registry.services import module_settings_rollback

    # given alpha paying, the shop turned on and then off again (two versions)
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    account = _paying(standin, tenant)
    assert "linli_shop_9900_cny_month" not in _plans(standin.subscription(account.subscription_id))
    turned_on = ModuleSettingVersion.objects.filter(
        tenant=tenant, module="shop", enabled=True
    ).latest("id")

    # when the admin goes back to the version with the shop on ("Go back to this")
    with django_capture_on_commit_callbacks(execute=True):
        module_settings_rollback(slug="alpha", version_id=turned_on.pk, changed_by="admin")
    assert _jobs("billing_items_sync")[-1] == {"tenant_id": tenant.pk}
    worker.run()

    # then the subscription has the shop again
    assert "linli_shop_9900_cny_month" in _plans(standin.subscription(account.subscription_id))
    assert worker.failures == []


def test_item_sync_follows_stripe_not_linlis_copy(standin: StandIn, tenant: Tenant) -> None:
    # given the shop's item removed in Stripe (say, from the Dashboard) behind Linli's back
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    account = _paying(standin, tenant)
    standin.client.subscription_items.delete(
        account.items["shop"], params={"proration_behavior": "none"}
    )

    # when the items are synced
    synced = items_sync(tenant_id=tenant.pk)

    # then Stripe's subscription has what the modules promise again
    assert synced is not None
    subscription = standin.subscription(account.subscription_id)
    assert "linli_shop_9900_cny_month" in _plans(subscription)
    enabled = Tenant.objects.get(pk=tenant.pk).enabled_modules
    assert synced.monthly_amount == plans.catalogue().monthly_amount(enabled)
    assert synced.items == {
        item["metadata"]["module"]: item["id"] for item in subscription["items"]["data"]
    }
