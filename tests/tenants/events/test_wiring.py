"""The modules record their events as things happen, in order, with ids and no names."""

from __future__ import annotations

from django.test import Client

from tenants.events.models import Event
from tenants.shop.services import catalogue, orders, parcels
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.tenants.helpteam.conftest import ask, street  # noqa: F401 - the fixture
from tests.tenants.shop.conftest import (  # noqa: F401 - the fixtures
    batch,
    estate,
    give_points,
    in_shop_tenant,
    items,
)


def types_for(object_type: str, object_id: int) -> list[str]:
    return list(
        Event.objects.filter(object_type=object_type, object_id=object_id)
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_a_help_request_from_asking_to_confirmation(in_shop_tenant, street):  # noqa: F811
    from decimal import Decimal

    from tenants.helpteam.services import request_claim, request_confirm, request_done

    r = ask(street["parent"])
    neighbour = street["neighbour"]
    request_claim(request_id=r.pk, volunteer_resident_id=neighbour.pk)
    request_done(request_id=r.pk, volunteer_resident_id=neighbour.pk)
    request_confirm(
        request_id=r.pk, hours=Decimal("1"), by_resident_id=street["parent"].pk, as_leader=False
    )
    assert types_for("help_request", r.pk) == [
        "help_request.created",
        "help_request.claimed",
        "help_request.done",
        "help_request.confirmed",
    ]
    claimed = Event.objects.get(type="help_request.claimed")
    assert claimed.payload["claimed_by_resident_id"] == neighbour.pk
    assert claimed.personal["description"] == "Pick up my child from school"
    assert "description" not in claimed.payload
    assert Event.objects.filter(type="points.awarded").count() == 1


def test_an_order_and_a_parcel_at_the_shop(estate, batch):  # noqa: F811
    give_points(estate["xu"], 10)
    greens, _eggs = items(batch)
    order = orders.order_place(
        resident_id=estate["xu"].pk,
        batch_id=batch.pk,
        slot_id=batch.slots.first().pk,
        lines=[(greens.pk, 1)],
        points=1,
    )
    catalogue.batch_close(batch_id=batch.pk)
    orders.order_ready(order_id=order.pk)
    orders.order_pick_up(order_id=order.pk, code=order.pickup_code, payment="cash", paid_fen=200)
    assert types_for("order", order.pk) == ["order.placed", "order.ready", "order.picked_up"]
    assert types_for("batch", batch.pk) == ["batch.opened", "batch.closed"]
    assert Event.objects.filter(type="points.redeemed").count() == 1
    parcel = parcels.parcel_log(
        shop_id=estate["shop"].pk,
        carrier="順豐",
        tracking_number="SF7",
        household_id=estate["xu"].household_id,
        recipient_name="徐先生",
    )
    arrived = Event.objects.get(type="parcel.arrived")
    assert arrived.object_id == parcel.pk
    assert arrived.personal == {"recipient_name": "徐先生", "tracking_number": "SF7"}
    assert "徐" not in str(arrived.payload)


def test_erasure_is_an_event_without_the_person(in_tenant):
    from tenants.community.personal_data import resident_erase
    from tests.factories import ResidentFactory

    resident = ResidentFactory(display_name="張三", phone="+8613800000001")
    resident_erase(resident_id=resident.pk)
    event = Event.objects.get(type="resident.erased")
    assert event.payload == {"resident_id": resident.pk} and event.personal == {}


def test_webhooks_in_the_admin(tenant, in_tenant):
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    refused = client.post(
        "/admin/events/webhookendpoint/add/",
        {"url": "http://169.254.169.254/latest", "modules": "shop", "active": "on"},
    )
    assert refused.status_code == 200 and "public addresses" in refused.content.decode()
    assert client.get("/admin/events/delivery/").status_code == 200
    assert client.get("/admin/events/event/").status_code == 200
