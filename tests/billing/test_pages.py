"""Billing pages: the district admin's (plan, next invoice, invoices, payment links) and the
ops overview (MRR, trials ending, past due). Off entirely in self-hosted mode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.billing.client import stripe_client
from linli.billing.models import BillingAccount
from linli.billing.services import items_sync
from linli.billing.sync import catalogue_sync
from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled
from tests.billing.conftest import StandIn, Worker, connect
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import UserFactory


def _admin(tenant: Tenant, username: str | None = None, password: str = ADMIN_PASSWORD) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username=username or f"admin-{tenant.slug}", password=password)
    return client


def test_billing_pages_do_not_exist_in_self_hosted_mode(settings: Any, tenant: Tenant) -> None:
    settings.STRIPE_SECRET_KEY = ""
    assert _admin(tenant).get("/admin/billing/").status_code == 404
    html = _admin(tenant).get("/admin/").content.decode()
    assert 'href="/admin/billing/"' not in html


def test_district_admin_sees_plan_status_and_invoices_from_stripe(
    billing_on: str, tenant: Tenant, other_tenant: Tenant
) -> None:
    catalogue_sync()
    # localstripe serves one-item subscriptions only: the base plan, no paid modules.
    for module in ["shop", "points", "helpteam", "deliberation"]:
        module_set_enabled(slug="alpha", module=module, enabled=False)
    # A customer with a card, billed from today (no trial): Stripe invoices at once.
    stripe = stripe_client().v1
    card = stripe.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    customer = stripe.customers.create(
        params={"name": "Alpha", "invoice_settings": {"default_payment_method": card.id}}
    )
    stripe.payment_methods.attach(card.id, params={"customer": customer.id})
    BillingAccount.objects.create(
        tenant=tenant,
        customer_id=customer.id,
        trial_end=timezone.now() - timedelta(days=1),
        status="pending",
    )
    account = connect(tenant)
    BillingAccount.objects.create(tenant=other_tenant, status="pending")

    page = _admin(tenant).get("/admin/billing/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Linli platform" in html and ">Shop<" not in html
    assert "data-total>CNY 199.00<" in html
    assert f'data-status="{account.status}"' in html
    invoices = html.split('id="billing-invoices"')[1]
    assert "No invoices yet." not in invoices and "CNY 199.00" in invoices
    assert 'href="/admin/billing/"' in _admin(tenant).get("/admin/").content.decode()

    # beta's admin sees beta's account only.
    beta = _admin(other_tenant).get("/admin/billing/").content.decode()
    assert 'data-status="pending"' in beta and account.customer_id not in beta
    assert "No invoices yet." in beta


def test_payment_links_redirect_to_stripe(standin: StandIn, tenant: Tenant) -> None:
    customer = standin.client.customers.create(params={"name": "Alpha"})
    BillingAccount.objects.create(tenant=tenant, customer_id=customer.id, status="trialing")
    for module in ["points", "helpteam", "deliberation"]:
        module_set_enabled(slug="alpha", module=module, enabled=False)
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    admin = _admin(tenant)
    html = admin.get("/admin/billing/").content.decode()
    assert ">Shop<" in html and "CNY 99.00" in html and ">Points<" not in html
    assert "data-total>CNY 298.00<" in html
    checkout = admin.post("/admin/billing/", {"action": "checkout"})
    assert checkout.status_code == 302
    assert checkout["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [sent] = standin.requests("/v1/checkout/sessions", "POST")
    assert sent["params"]["success_url"] == "http://alpha.localhost/admin/billing/?added=1"
    portal = admin.post("/admin/billing/", {"action": "portal"})
    assert portal.status_code == 302
    assert portal["Location"].startswith("https://billing.stripe.com/p/session/bps_")
    nonsense = admin.post("/admin/billing/", {"action": "refund-everything"})
    assert nonsense.status_code == 400 and b"Choose what to do." in nonsense.content


def test_only_district_admins_see_billing(billing_on: str, tenant: Tenant) -> None:
    with tenant_context(tenant):
        UserFactory(username="leader-li")
    leader = _admin(tenant, "leader-li", "leader-password")
    assert leader.get("/admin/billing/").status_code == 403
    assert leader.post("/admin/billing/", {"action": "portal"}).status_code == 403


@pytest.fixture
def ops(db: None) -> Client:
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="ops", password="ops-password-1", is_staff=True)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="ops", password="ops-password-1")
    return client


def test_ops_overview_shows_mrr_trials_ending_and_past_due(
    billing_on: str, ops: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    from linli.registry.services import tenant_create

    now = timezone.now()
    third = tenant_create(slug="gamma", name="Gamma")
    BillingAccount.objects.create(tenant=tenant, status="active", monthly_amount=29800)
    BillingAccount.objects.create(
        tenant=other_tenant,
        status="past_due",
        monthly_amount=19900,
        grace_until=now + timedelta(days=3),
    )
    BillingAccount.objects.filter(tenant=third).update(
        status="trialing", monthly_amount=24800, trial_end=now + timedelta(days=2)
    )
    page = ops.get("/admin/billing/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-mrr>CNY 497.00<" in html  # active and past due; a trial is not revenue
    assert 'data-trial="gamma"' in html and 'data-trial="alpha"' not in html
    assert 'data-past-due="beta"' in html and 'data-past-due="alpha"' not in html
    for slug in ["alpha", "beta", "gamma"]:
        assert f'data-account="{slug}"' in html


def test_ops_overview_is_for_platform_staff(billing_on: str, db: None, settings: Any) -> None:
    anonymous = Client(HTTP_HOST="localhost").get("/admin/billing/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    settings.STRIPE_SECRET_KEY = ""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="ops2", password="ops-password-1", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    assert client.login(username="ops2", password="ops-password-1")
    assert client.get("/admin/billing/").status_code == 404


def test_billing_records_are_read_only_for_platform_staff(
    standin: StandIn, ops: Client, tenant: Tenant
) -> None:
    from django.contrib.auth import get_user_model

    from linli.billing.models import StripeEvent

    get_user_model().objects.filter(username="ops").update(is_superuser=True)
    BillingAccount.objects.create(tenant=tenant, status="active", customer_id="cus_alpha")
    StripeEvent.objects.create(
        event_id="evt_1", type="invoice.paid", created=timezone.now(), payload={}
    )
    assert ops.get("/admin/billing/billingaccount/").status_code == 200
    assert b"evt_1" in ops.get("/admin/billing/stripeevent/").content
    assert ops.get("/admin/billing/stripeevent/add/").status_code == 403
    event = StripeEvent.objects.get()
    assert (
        ops.post(f"/admin/billing/stripeevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert StripeEvent.objects.filter(pk=event.pk).exists()


# --- Stripe hangs ---------------------------------------------------------------------------


def test_the_stripe_client_gives_up_in_seconds(standin: StandIn) -> None:
    from linli.billing.client import stripe_client

    page = stripe_client(interactive=True)._requestor
    job = stripe_client()._requestor
    assert page._client._timeout == (3.0, 5.0)  # type: ignore[union-attr]
    assert job._client._timeout == (3.0, 30.0)  # type: ignore[union-attr]
    assert (page._options.max_network_retries, job._options.max_network_retries) == (0, 2)


def test_the_billing_page_says_stripe_is_not_answering_within_seconds(
    standin: StandIn, tenant: Tenant, settings: Any
) -> None:
    import time

    # given alpha in Stripe, then Stripe hangs on every read (for longer than a page waits)
    catalogue_sync()
    BillingAccount.objects.create(
        tenant=tenant, trial_end=timezone.now() + timedelta(days=30), status="pending"
    )
    connect(tenant)
    settings.LINLI_STRIPE_PAGE_TIMEOUT = 1.0  # the default is 5 s; the test waits less
    for method, path in [
        ("GET", "/v1/subscriptions/"),
        ("POST", "/v1/invoices/create_preview"),
        ("GET", "/v1/invoices"),
    ]:
        standin.hang(method, path, seconds=12, times=3)
    admin = _admin(tenant)

    # when
    started = time.monotonic()
    page = admin.get("/admin/billing/")
    took = time.monotonic() - started

    # then the page answers at once with the situation, having waited for Stripe once
    assert page.status_code == 200
    assert "Stripe is not answering; try again in a minute." in page.content.decode()
    assert took < 3, f"the page took {took:.1f} s"

    # and the payment buttons say the same, as fast
    started = time.monotonic()
    standin.hang("POST", "/v1/checkout/sessions", seconds=12)
    checkout = admin.post("/admin/billing/", {"action": "checkout"})
    assert time.monotonic() - started < 3
    assert checkout.status_code == 503
    assert "Stripe is not answering; try again in a minute." in checkout.content.decode()


# --- The plan beside the subscription --------------------------------------------------


def _paying_without_the_shop(standin: StandIn, tenant: Tenant) -> BillingAccount:
    catalogue_sync()
    module_set_enabled(slug="alpha", module="shop", enabled=False)
    customer = standin.client.customers.create(params={"name": tenant.name})
    standin.card(customer.id)
    BillingAccount.objects.create(
        tenant=tenant, customer_id=customer.id, trial_end=timezone.now() - timedelta(days=1)
    )
    return connect(tenant)


def test_a_failed_item_sync_shows_as_a_plan_that_differs_from_the_subscription(
    standin: StandIn, tenant: Tenant, worker: Worker, django_capture_on_commit_callbacks: Any
) -> None:
    # given alpha paying without the shop, then the shop turned on while Stripe fails
    _paying_without_the_shop(standin, tenant)
    standin.fail("POST", "/v1/subscription_items", status=500, times=3)
    with django_capture_on_commit_callbacks(execute=True):
        module_set_enabled(slug="alpha", module="shop", enabled=True)
    worker.run()
    assert [name for name, _exc in worker.failures] == ["linli.billing.tasks.billing_items_sync"]

    # when the admin looks at the billing page
    html = _admin(tenant).get("/admin/billing/").content.decode()

    # then the plan (with the shop) stands beside what the subscription really holds, and
    # the difference is told
    plan = html.split('id="billing-plan"')[1].split("</section>")[0]
    held = html.split('id="billing-subscription"')[1].split("</section>")[0]
    assert ">Shop<" in plan and ">Shop<" not in held
    assert "data-differs" in html
    assert "Your subscription in Stripe does not match your modules yet" in html
    assert BillingAccount.objects.get(tenant=tenant).sync_error != ""


def test_ops_see_a_failed_item_sync_and_run_it_again(
    standin: StandIn, tenant: Tenant, worker: Worker, ops: Client
) -> None:
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="ops").update(is_superuser=True)
    account = _paying_without_the_shop(standin, tenant)
    standin.fail("POST", "/v1/subscription_items", status=500, times=3)
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    with pytest.raises(stripe.APIError):
        items_sync(tenant_id=tenant.pk)

    page = ops.get("/admin/ops/tenants/alpha/")
    html = page.content.decode()
    assert "data-billing-sync-error" in html and "data-billing-differs" in html
    resync = ops.post("/admin/ops/tenants/alpha/billing-sync/")
    assert resync.status_code == 302
    items = standin.subscription(account.subscription_id)["items"]["data"]
    assert "linli_shop_9900_cny_month" in [item["plan"]["id"] for item in items]
    assert BillingAccount.objects.get(pk=account.pk).sync_error == ""
    assert "data-billing-differs" not in ops.get("/admin/ops/tenants/alpha/").content.decode()
