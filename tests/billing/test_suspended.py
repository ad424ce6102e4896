"""A district suspended for non-payment can always pay: its billing page, Checkout, the
Billing Portal and their return pages work while every other write of its admin stays
refused. The buttons are followed as a browser would (the form's method, action and
fields, read from the page). Against the Stripe stand-in."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.billing.models import BillingAccount
from linli.registry.models import Tenant
from linli.registry.services import tenant_suspend
from tests.billing.conftest import StandIn
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import UserFactory


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = {**attributes, "fields": {}, "text": ""}
            self.forms.append(self._open)
        elif tag in ("input", "button") and self._open is not None and attributes.get("name"):
            self._open["fields"][attributes["name"]] = attributes.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def press(client: Client, page: Any, button: str) -> Any:
    """Press the button labelled ``button`` on ``page``, as a browser would."""
    parser = _Forms()
    parser.feed(page.content.decode())
    [form] = [f for f in parser.forms if button in " ".join(f["text"].split())]
    action = form.get("action") or page.wsgi_request.path
    if form.get("method", "get").lower() == "post":
        return client.post(action, form["fields"])
    return client.get(f"{action}?{urlencode(form['fields'])}")


def _admin(tenant: Tenant, username: str = "", password: str = ADMIN_PASSWORD) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username=username or f"admin-{tenant.slug}", password=password)
    return client


def _suspended_for_billing(standin: StandIn, tenant: Tenant) -> BillingAccount:
    customer = standin.client.customers.create(params={"name": tenant.name})
    account = BillingAccount.objects.create(
        tenant=tenant,
        customer_id=customer.id,
        subscription_id="sub_overdue",
        status="past_due",
        grace_until=timezone.now() - timedelta(days=1),
        suspended_for_billing=True,
    )
    tenant_suspend(slug=tenant.slug, actor="billing")
    return account


def test_a_district_suspended_for_non_payment_reaches_checkout_and_the_portal(
    standin: StandIn, tenant: Tenant
) -> None:
    # given
    account = _suspended_for_billing(standin, tenant)
    admin = _admin(tenant)

    # when the admin opens the billing page
    page = admin.get("/admin/billing/")

    # then it tells the real situation and the one action that restores service
    assert page.status_code == 200
    html = page.content.decode()
    assert "to keep the site open" not in html
    assert "The site is suspended because a payment is overdue." in html
    assert "Add a payment method" in html

    # and its buttons work: Checkout ...
    checkout = press(admin, page, "Add a payment method")
    assert checkout.status_code == 302, checkout.content
    assert checkout["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [sent] = standin.requests("/v1/checkout/sessions", "POST")
    assert sent["params"]["customer"] == account.customer_id
    # ... its return page ...
    back = admin.get("/admin/billing/?added=1")
    assert back.status_code == 200
    assert "your payment method is being confirmed" in back.content.decode()
    # ... and the Billing Portal
    portal = press(admin, page, "Pay or manage billing in Stripe")
    assert portal.status_code == 302
    assert portal["Location"].startswith("https://billing.stripe.com/p/session/bps_")


def test_only_billing_opens_up_while_suspended(standin: StandIn, tenant: Tenant) -> None:
    _suspended_for_billing(standin, tenant)
    admin = _admin(tenant)
    refused = admin.post("/admin/modules/", {"module": "shop", "enabled": "on"})
    assert refused.status_code == 403 and b"tenant_suspended" in refused.content
    assert admin.get("/admin/community/estate/add/").status_code == 403


def test_an_ops_suspension_is_not_lifted_by_paying_and_offers_no_payment(
    standin: StandIn, tenant: Tenant
) -> None:
    customer = standin.client.customers.create(params={"name": tenant.name})
    BillingAccount.objects.create(tenant=tenant, customer_id=customer.id, status="active")
    tenant_suspend(slug=tenant.slug, actor="ops")
    admin = _admin(tenant)
    page = admin.get("/admin/billing/")
    html = page.content.decode()
    assert "suspended by the platform" in html
    assert "Add a payment method" not in html
    refused = admin.get("/admin/billing/?pay=checkout&token=forged")
    assert refused.status_code == 403
    assert standin.requests("/v1/checkout") == []


def test_a_pay_button_works_only_for_the_admin_it_was_shown_to(
    standin: StandIn, tenant: Tenant
) -> None:
    _suspended_for_billing(standin, tenant)
    with tenant_context(tenant):
        UserFactory(username="admin-two", is_staff=True, is_superuser=True)
    page = _admin(tenant).get("/admin/billing/")
    other = _admin(tenant, "admin-two", "leader-password")
    stolen = press(other, page, "Add a payment method")
    assert stolen.status_code == 400
    assert "This button has expired" in stolen.content.decode()
    assert standin.requests("/v1/checkout") == []


def test_the_suspension_email_sends_the_district_to_its_billing_page(
    standin: StandIn, tenant: Tenant, settings: Any
) -> None:
    from linli.billing.emails import SUSPENDED, billing_email_render

    Tenant.objects.filter(pk=tenant.pk).update(locale="en")
    tenant.refresh_from_db()
    _subject, body = billing_email_render(tenant=tenant, kind=SUSPENDED, context={})
    assert "https://alpha.localhost/admin/billing/" in body
    assert "add a payment method there" in body
