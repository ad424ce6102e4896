"""The billing pages as people read them: real buttons in the admin theme's style, notices
that fit the account's state, product names and yuan in the reader's language, one time
zone rule (the tenant's on the district's page, UTC and labelled on the ops pages), status
labels rather than keys, revenue from tenants that serve, and no trace of billing when it
is off. Against the Stripe stand-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from linli.billing.models import BillingAccount
from linli.billing.views import money
from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled, tenant_close
from tests.billing.conftest import StandIn
from tests.conftest import ADMIN_PASSWORD, host_of


def _admin(tenant: Tenant, language: str = "en") -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE=language)
    with tenant_context(tenant):
        assert client.login(username=f"admin-{tenant.slug}", password=ADMIN_PASSWORD)
    return client


@pytest.fixture
def ops(db: None) -> Client:
    get_user_model().objects.create_user(username="ops", password="ops-password-1", is_staff=True)
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="ops", password="ops-password-1")
    return client


def _account(standin: StandIn, tenant: Tenant, **fields: Any) -> BillingAccount:
    customer = standin.client.customers.create(params={"name": tenant.name})
    return BillingAccount.objects.create(tenant=tenant, customer_id=customer.id, **fields)


def test_the_payment_buttons_are_buttons_in_the_admin_theme(
    standin: StandIn, tenant: Tenant
) -> None:
    _account(standin, tenant, status="trialing", trial_end=timezone.now() + timedelta(days=9))
    html = _admin(tenant).get("/admin/billing/").content.decode()
    pay = html.split("data-pay")[1].split("</div>")[0]
    assert len(re.findall(r'<button\s+type="submit"', pay)) == 2
    assert "bg-primary-600" in pay  # unfold's primary button
    assert 'type="submit" value=' not in html  # no bare inputs left


def test_an_active_account_is_not_told_about_a_trial(standin: StandIn, tenant: Tenant) -> None:
    # active, paying by invoice: no payment method on file, and no trial either
    _account(standin, tenant, status="active", has_payment_method=False)
    html = _admin(tenant).get("/admin/billing/").content.decode()
    assert "trial" not in html.split('id="billing-status"')[1].split("</section>")[0].lower()
    assert "Manage billing in Stripe" in html


def test_a_trial_without_a_card_is_asked_for_one(standin: StandIn, tenant: Tenant) -> None:
    _account(standin, tenant, status="trialing", trial_end=timezone.now() + timedelta(days=9))
    html = _admin(tenant).get("/admin/billing/").content.decode()
    assert "Add a payment method before then" in html


@pytest.mark.parametrize(
    ("language", "shown"),
    [("zh-hans", "¥425.00"), ("zh-hant", "425.00 元"), ("en", "CNY 425.00")],
)
def test_yuan_are_written_the_readers_way(language: str, shown: str) -> None:
    with translation.override(language):
        assert money(42500, "cny") == shown
        assert money(-100, "cny").startswith("-")


def test_a_zh_hans_page_names_products_and_amounts_in_chinese(
    standin: StandIn, tenant: Tenant
) -> None:
    _account(standin, tenant, status="active", has_payment_method=True)
    module_set_enabled(slug="alpha", module="shop", enabled=True)
    html = _admin(tenant, "zh-hans").get("/admin/billing/").content.decode()
    plan = html.split('id="billing-plan"')[1].split("</section>")[0]
    assert "Linli shop" not in plan and "Linli platform" not in plan
    assert "CNY" not in plan
    assert "¥99.00" in plan and "¥298.00" in plan
    assert "每月合计" in plan and "订阅有效。" in html


def test_the_district_page_speaks_the_tenants_time_zone(standin: StandIn, tenant: Tenant) -> None:
    # the trial ends at 20:30 UTC on the 9th: the 10th, 04:30 in Shanghai
    end = datetime(2031, 3, 9, 20, 30, tzinfo=UTC)
    _account(standin, tenant, status="trialing", trial_end=end)
    html = _admin(tenant).get("/admin/billing/").content.decode()
    status = html.split('id="billing-status"')[1].split("</section>")[0]
    assert "March 10, 2031" in status and "Asia/Shanghai" in status


def test_the_ops_overview_labels_statuses_counts_serving_revenue_and_says_utc(
    standin: StandIn, ops: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    end = datetime(2031, 3, 9, 20, 30, tzinfo=UTC)
    BillingAccount.objects.create(tenant=tenant, status="past_due", monthly_amount=29800)
    BillingAccount.objects.create(
        tenant=other_tenant, status="active", monthly_amount=19900, trial_end=end
    )
    tenant_close(slug="beta", actor="ops")  # closed: no longer recurring revenue
    html = ops.get("/admin/billing/").content.decode()
    assert "data-mrr>CNY 298.00<" in html
    assert "past_due: 1" not in html and "Past due: 1" in html
    assert "2031-03-09 20:30 UTC" in html


def test_self_hosted_lists_no_billing_and_runs_no_grace_job(
    settings: Any, tenant: Tenant, ops: Client
) -> None:
    from linli.billing.tasks import billing_grace_enforce

    settings.STRIPE_SECRET_KEY = ""
    get_user_model().objects.filter(username="ops").update(is_superuser=True)
    BillingAccount.objects.create(
        tenant=tenant,
        status="past_due",
        customer_id="cus_x",
        grace_until=timezone.now() - timedelta(days=1),
    )
    index = ops.get("/admin/").content.decode()
    assert 'href="/admin/billing/' not in index
    assert billing_grace_enforce.func() == []
    assert Tenant.objects.get(pk=tenant.pk).status == "active"
