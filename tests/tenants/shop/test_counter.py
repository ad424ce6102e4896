"""The counter in the shop's admin: the operator scans or types a pickup code, sees the
order or parcel it is for, takes the money due and hands it over."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.shop.models import Order, Parcel
from tenants.shop.services import catalogue, orders, parcels
from tests.conftest import host_of
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UserFactory

COUNTER = "/admin/shop/order/counter/"
NOT_HERE = "No open order or waiting parcel has this code here."


def _operator(tenant, estate, language: str = "en") -> Client:
    """The shop's operator (a resident with the shop-operator role), signed in to the admin."""
    user: Any = UserFactory(username="counter")
    operator = estate["operator"]
    operator.user = user
    operator.save(update_fields=["user"])
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="shop"))
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def _soy_order(estate, quantity: int = 2) -> Order:
    return orders.order_place(
        resident_id=estate["xu"].pk, shop_id=estate["shop"].pk, lines=[(estate["soy"].pk, quantity)]
    )


def _ready(order: Order) -> Order:
    return orders.order_ready(order_id=order.pk)


def _parcel(estate) -> Parcel:
    return parcels.parcel_log(
        shop_id=estate["shop"].pk,
        carrier="順豐",
        tracking_number="SF1234567890",
        household_id=estate["xu"].household_id,
        recipient_name="徐先生",
        shelf="A3",
    )


def _hand_over(client: Client, estate, code: str, **extra: str):
    data = {"shop": str(estate["shop"].pk), "code": code, "action": "order_pick_up", **extra}
    return client.post(COUNTER, data)


def test_a_scanned_code_shows_the_order_and_the_money_to_take(tenant, estate):
    order = _ready(_soy_order(estate))
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": order.pickup_code})

    assert page.status_code == 200
    text = page.content.decode()
    assert "徐大爺" in text and "醬油" in text and "2 瓶" in text
    assert "¥24.00" in text and "Money taken (¥24.00): hand over" in text
    assert 'value="order_pick_up"' in text and 'name="payment"' in text


def test_handing_over_takes_exactly_the_money_due_and_says_so(tenant, estate):
    order = _ready(_soy_order(estate))
    client = _operator(tenant, estate)

    done = _hand_over(client, estate, order.pickup_code, payment="cash")

    assert done.status_code == 302
    assert done["Location"] == f"{COUNTER}?shop={estate['shop'].pk}"
    order.refresh_from_db()
    assert (order.status, order.payment, order.paid_fen) == ("picked_up", "cash", 2400)
    assert order.picked_up_at is not None
    after = client.get(done["Location"]).content.decode()
    assert f"Order {order.pickup_code} handed over; ¥24.00 taken (Cash)." in after


def test_without_the_payment_method_nothing_is_handed_over(tenant, estate):
    order = _ready(_soy_order(estate))
    client = _operator(tenant, estate)

    refused = _hand_over(client, estate, order.pickup_code)

    assert refused.status_code == 400
    text = refused.content.decode()
    assert "Choose how the money was paid." in text
    assert "醬油" in text  # the order stays on the page
    order.refresh_from_db()
    assert (order.status, order.payment, order.paid_fen) == ("ready", "", 0)


def test_an_order_paid_with_points_is_handed_over_without_money(tenant, estate):
    from tests.tenants.shop.conftest import give_points

    give_points(estate["xu"], 100)
    order = orders.order_place(
        resident_id=estate["xu"].pk,
        shop_id=estate["shop"].pk,
        lines=[(estate["soy"].pk, 1)],
        points=12,
    )
    _ready(order)
    assert order.money_due_fen == 0
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": order.pickup_code}).content.decode()
    assert "Hand over (nothing to pay)" in page and 'name="payment"' not in page
    done = _hand_over(client, estate, order.pickup_code)

    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.payment, order.paid_fen) == ("picked_up", "", 0)


def test_an_order_not_yet_packed_is_marked_ready_first(tenant, estate):
    order = _soy_order(estate)
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": order.pickup_code}).content.decode()
    assert 'value="order_ready"' in page and 'value="order_pick_up"' not in page
    # handing it over before it is ready is refused by the service, nothing taken
    refused = _hand_over(client, estate, order.pickup_code, payment="cash")
    assert refused.status_code == 409
    assert "This order is not ready yet." in refused.content.decode()
    assert Order.objects.get(pk=order.pk).status == "placed"

    marked = client.post(
        COUNTER,
        {"shop": str(estate["shop"].pk), "code": order.pickup_code, "action": "order_ready"},
    )
    assert marked.status_code == 302
    assert marked["Location"].endswith(f"&code={order.pickup_code}")
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_a_parcel_is_found_by_its_code_and_handed_over(tenant, estate):
    parcel = _parcel(estate)
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": parcel.pickup_code.lower()}).content.decode()
    assert "SF1234567890" in page and "A3" in page and "徐先生" in page
    done = client.post(
        COUNTER,
        {"shop": str(estate["shop"].pk), "code": parcel.pickup_code, "action": "parcel_pick_up"},
    )

    assert done.status_code == 302
    parcel.refresh_from_db()
    assert parcel.status == "picked_up" and parcel.picked_up_at is not None
    assert "Parcel SF1234567890 handed over" in client.get(done["Location"]).content.decode()


def test_the_code_is_read_as_a_scanner_or_a_person_types_it(tenant, estate):
    order = _ready(_soy_order(estate))
    code = order.pickup_code
    client = _operator(tenant, estate)

    typed = f"  {code[:3].lower()} {code[3:].lower()}\n"
    assert "醬油" in client.get(COUNTER, {"code": typed}).content.decode()


@pytest.mark.parametrize("code", ["ZZZZZZ", "取货码取货码", "';DROP--", ""])
def test_a_code_that_is_nobodys_is_told_at_the_field(tenant, estate, code):
    _ready(_soy_order(estate))
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": code})

    assert page.status_code == 200
    text = page.content.decode()
    assert (NOT_HERE if code else "This field is required.") in text
    assert "醬油" not in text


def test_a_huge_code_is_refused_and_nothing_changes(tenant, estate):
    order = _ready(_soy_order(estate))
    client = _operator(tenant, estate)

    assert (
        "A pickup code has six letters."
        in client.get(COUNTER, {"code": "A" * 10_000}).content.decode()
    )
    refused = _hand_over(client, estate, order.pickup_code + "X" * 5_000, payment="cash")
    assert refused.status_code == 400
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_a_second_hand_over_of_the_same_code_takes_nothing_more(tenant, estate):
    order = _ready(_soy_order(estate))
    client = _operator(tenant, estate)
    assert _hand_over(client, estate, order.pickup_code, payment="cash").status_code == 302

    again = _hand_over(client, estate, order.pickup_code, payment="terminal")

    assert again.status_code == 400 and NOT_HERE in again.content.decode()
    order.refresh_from_db()
    assert (order.status, order.payment, order.paid_fen) == ("picked_up", "cash", 2400)


def test_another_shops_orders_are_not_reached_from_this_counter(tenant, estate):
    elsewhere = catalogue.shop_create(
        estate_id=EstateFactory().pk, name="學府小店", zones=["daily_goods"]
    )
    rice = catalogue.product_create(
        shop_id=elsewhere.pk, name="大米", unit="袋", price_fen=5000, stock=5
    )
    stranger = ResidentFactory(household=HouseholdFactory())
    theirs = _ready(
        orders.order_place(resident_id=stranger.pk, shop_id=elsewhere.pk, lines=[(rice.pk, 1)])
    )
    client = _operator(tenant, estate)

    # not found at the operator's own shop, and the other shop cannot be chosen
    assert NOT_HERE in client.get(COUNTER, {"code": theirs.pickup_code}).content.decode()
    forged = client.post(
        COUNTER,
        {
            "shop": str(elsewhere.pk),
            "code": theirs.pickup_code,
            "action": "order_pick_up",
            "payment": "cash",
        },
    )
    assert forged.status_code == 400
    assert "Select a valid choice." in forged.content.decode()
    assert Order.objects.get(pk=theirs.pk).status == "ready"


def test_another_tenants_code_is_nobodys_here(tenant, other_tenant, estate):
    with tenant_context(other_tenant):
        shop = catalogue.shop_create(
            estate_id=EstateFactory().pk, name="別城小店", zones=["daily_goods"]
        )
        tea = catalogue.product_create(
            shop_id=shop.pk, name="茶", unit="包", price_fen=900, stock=3
        )
        theirs = _ready(
            orders.order_place(
                resident_id=ResidentFactory(household=HouseholdFactory()).pk,
                shop_id=shop.pk,
                lines=[(tea.pk, 1)],
            )
        )
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": theirs.pickup_code}).content.decode()
    assert NOT_HERE in page and "茶" not in page
    client.post(
        COUNTER,
        {
            "shop": str(estate["shop"].pk),
            "code": theirs.pickup_code,
            "action": "order_pick_up",
            "payment": "cash",
        },
    )
    with tenant_context(other_tenant):
        assert Order.objects.get(pk=theirs.pk).status == "ready"


def test_staff_who_run_no_shop_have_no_counter(tenant, estate):
    user: Any = UserFactory(username="clerk")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="shop"))
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)

    assert client.get(COUNTER).status_code == 403
    assert COUNTER not in client.get("/admin/shop/order/").content.decode()


def test_the_counter_is_in_the_menu_and_in_chinese(tenant, estate):
    order = _ready(_soy_order(estate))
    client = _operator(tenant, estate, "zh-hans")

    home = client.get("/admin/shop/order/").content.decode()
    assert f'href="{COUNTER}"' in home
    page = client.get(COUNTER, {"code": order.pickup_code}).content.decode()
    for words in ("柜台", "取货码", "现金", "应收"):
        assert words in page, words
    assert "Pickup code" not in page and "Paid by" not in page


def test_a_pre_order_is_not_offered_for_packing_while_its_batch_takes_orders(tenant, estate, batch):
    from tests.tenants.shop.conftest import items

    greens, _eggs = items(batch)
    order = orders.order_place(
        resident_id=estate["xu"].pk,
        batch_id=batch.pk,
        slot_id=batch.slots.first().pk,
        lines=[(greens.pk, 2)],
    )
    client = _operator(tenant, estate)

    page = client.get(COUNTER, {"code": order.pickup_code}).content.decode()
    assert "Orders for this batch are still open until" in page
    assert 'value="order_ready"' not in page and 'value="order_pick_up"' not in page

    catalogue.batch_close(batch_id=batch.pk)
    page = client.get(COUNTER, {"code": order.pickup_code}).content.decode()
    assert 'value="order_ready"' in page
