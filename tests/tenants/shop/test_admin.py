"""The shop in the tenant admin: the printable packing list, QR codes, counter actions, the
report, and operators who see only their own shops."""

from __future__ import annotations

import re
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


def _staff(tenant, resident=None, username="staffer"):
    from django.contrib.auth.models import Permission

    user = UserFactory(username=username)
    if resident is not None:
        resident.user = user
        resident.save(update_fields=["user"])
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="shop"))
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_admin_asks_the_same_rules_as_the_api(tenant, estate, batch):
    """An operator in the admin runs their shop's counter but does not set shops up; a
    partner's member sees that partner's bookings and never answers for their own."""
    from tenants.community.models import Organisation, OrganisationMember
    from tenants.shop.models import Booking, Shop
    from tenants.shop.services import partners

    order = orders.order_place(
        resident_id=estate["xu"].pk, shop_id=estate["shop"].pk, lines=[(estate["soy"].pk, 1)]
    )
    counter = _staff(tenant, estate["operator"], "counter")
    # the counter: the shop's orders, and the ready action works on them
    assert counter.get(f"/admin/shop/order/{order.pk}/change/").status_code == 200
    counter.post("/admin/shop/order/", {"action": "mark_ready", "_selected_action": [order.pk]})
    assert Order.objects.get(pk=order.pk).status == "ready"
    # setting up is the district's: the shop is read-only, suppliers cannot be added
    shop = estate["shop"]
    changed = counter.post(f"/admin/shop/shop/{shop.pk}/change/", {"name": "改名", "zones": []})
    assert changed.status_code == 403 and Shop.objects.get(pk=shop.pk).name == shop.name
    assert counter.get("/admin/shop/supplier/add/").status_code == 403
    # a product can only be added to a shop they run
    other = catalogue.shop_create(estate_id=EstateFactory().pk, name="別的店", zones=["parcels"])
    form = counter.get("/admin/shop/product/add/").content.decode()
    shops = re.search(r'<select name="shop".*?</select>', form, re.S)
    assert shops is not None
    assert re.findall(r'<option value="(\d+)"', shops.group(0)) == [str(shop.pk)]
    assert other.name not in form

    # a partner's member: the partner's bookings; their own booking is refused by the rule
    company = Organisation.objects.create(name="岑溪家政", kind="company")
    member = ResidentFactory(display_name="家政員")
    OrganisationMember.objects.create(organisation=company, resident=member)
    service = partners.service_create(
        organisation_id=company.pk, category="housekeeping", title="清潔", price_fen=100
    )
    start = timezone.now() + timedelta(days=1)
    slot = partners.service_slot_create(
        service_id=service.pk, starts_at=start, ends_at=start + timedelta(hours=1), capacity=3
    )
    xus = partners.booking_create(resident_id=estate["xu"].pk, slot_id=slot.pk, pay_with="money")
    own = partners.booking_create(resident_id=member.pk, slot_id=slot.pk, pay_with="money")
    partner = _staff(tenant, member, "partner")
    listing = partner.get("/admin/shop/booking/").content.decode()
    assert f"/admin/shop/booking/{xus.pk}/change/" in listing
    partner.post(
        "/admin/shop/booking/", {"action": "confirm", "_selected_action": [xus.pk, own.pk]}
    )
    assert Booking.objects.get(pk=xus.pk).status == "confirmed"
    assert Booking.objects.get(pk=own.pk).status == "requested"
    # the operator is not the partner: no bookings at all in their admin
    assert counter.get(f"/admin/shop/booking/{xus.pk}/change/").status_code == 302
    # nor do they see Mr Xu's booking in the list
    assert (
        f"/admin/shop/booking/{xus.pk}/" not in counter.get("/admin/shop/booking/").content.decode()
    )
