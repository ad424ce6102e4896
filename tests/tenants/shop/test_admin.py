"""The shop in the tenant admin: the printable packing list, QR codes, counter actions, the
report, and operators who see only their own shops."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from tenants.community.models import Role, RoleAssignment
from tenants.shop.models import Order
from tenants.shop.services import catalogue, orders
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import EstateFactory, ResidentFactory, UserFactory
from tests.tenants.shop.conftest import items


def admin_client(tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def test_packing_list_qr_and_the_ready_action(tenant, estate, batch):
    greens, eggs = items(batch)
    order = orders.order_place(
        resident_id=estate["xu"].pk,
        batch_id=batch.pk,
        slot_id=batch.slots.first().pk,
        lines=[(greens.pk, 2), (eggs.pk, 1)],
    )
    client = admin_client(tenant)
    page = client.get(f"/admin/shop/preorderbatch/{batch.pk}/packing/")
    assert page.status_code == 200
    text = page.content.decode()
    assert order.pickup_code in text and "青菜 2斤" in text and "¥31.00" in text
    code = client.get(f"/admin/shop/preorderbatch/{batch.pk}/qr.svg")
    assert code.status_code == 200 and code["Content-Type"] == "image/svg+xml"
    assert client.get("/admin/shop/preorderbatch/").status_code == 200
    catalogue.batch_close(batch_id=batch.pk)
    changed = client.post(
        "/admin/shop/order/", {"action": "mark_ready", "_selected_action": [order.pk]}
    )
    assert changed.status_code == 302
    assert Order.objects.get(pk=order.pk).status == "ready"
    report = client.get("/admin/shop/parcel/report/")
    assert report.status_code == 200 and "Sales per shop per day" in report.content.decode()


def test_an_operator_sees_only_the_shops_they_run(tenant, estate, batch):
    other = catalogue.shop_create(estate_id=EstateFactory().pk, name="別的店", zones=["parcels"])
    user = UserFactory(username="shopkeeper")
    keeper = ResidentFactory(user=user)
    RoleAssignment.objects.create(
        resident=keeper,
        role=Role.SHOP_OPERATOR,
        scope="estate",
        estate=estate["estate"],
        starts_on=timezone.localdate() - timedelta(days=1),
    )
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(content_type__app_label="shop"))
    listing = client.get("/admin/shop/shop/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "萬象公館鄰家小店" in body and "別的店" not in body
    assert client.get(f"/admin/shop/shop/{other.pk}/qr.svg").status_code == 404
    assert client.get(f"/admin/shop/preorderbatch/{batch.pk}/packing/").status_code == 200
