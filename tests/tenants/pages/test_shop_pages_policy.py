"""The shop's policy table on the resident pages: the rows the pages offer, from the same
table as the API (tests/tenants/shop/test_policy.py), with the same answers: what is not
yours is a 404 page exactly like a missing one; a form that succeeds redirects.

The pages' own lists ("my orders", "my parcels", the home page) hold only what is the
signed-in resident's (their orders; their household's parcels), a part of what the
same resident sees through the API.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tenants.pages import signin
from tenants.shop.models import Order
from tests.conftest import host_of
from tests.tenants.shop.conftest import ACTORS, build_world, items
from tests.tenants.shop.test_policy import TABLE, Outcome

PEOPLE = [who for who in ACTORS if who != "district"]  # the pages are for residents


@pytest.fixture
def world(estate):
    return build_world(estate)


def signed_in(tenant: Any, resident: Any) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    code = signin.code_request(phone=resident.phone)
    assert code is not None
    _resident, token = signin.code_verify(phone=resident.phone, code=code)
    client.cookies["linli_r"] = token
    return client


def on_the_page(expected: Outcome) -> int:
    """What the page answers for an API outcome: a form's success redirects."""
    status = expected[0] if isinstance(expected, tuple) else expected
    return 302 if status == 201 else status


def _view_order(client: Client, w: dict[str, Any]) -> Any:
    return client.get(f"/r/orders/{w['order'].pk}")


def _order_from_the_batch(client: Client, w: dict[str, Any]) -> Any:
    greens, _eggs = items(w["batch"])
    slot = w["batch"].slots.first().pk
    return client.post(
        f"/r/shop/batches/{w['batch'].qr_token}", {f"item_{greens.pk}": "1", "slot": slot}
    )


PAGE_ACTIONS = {"order: view": _view_order, "order: place for oneself": _order_from_the_batch}
ROWS = [
    pytest.param(action, who, TABLE[action][ACTORS.index(who)], id=f"{action} | {who}")
    for action in PAGE_ACTIONS
    for who in PEOPLE
]


@pytest.mark.parametrize(("action", "who", "expected"), ROWS)
def test_policy_through_the_pages(in_shop_tenant, world, action, who, expected):
    client = signed_in(in_shop_tenant, world["people"][who])
    response = PAGE_ACTIONS[action](client, world)
    assert response.status_code == on_the_page(expected)
    if response.status_code == 302:
        placed = Order.objects.filter(resident=world["people"][who]).latest("id")
        assert response["Location"] == f"/r/orders/{placed.pk}"
    if response.status_code == 404:  # the same page as for an order that does not exist
        missing = client.get("/r/orders/999999")
        assert missing.status_code == 404 and missing.content == response.content


# Whose order and parcel show on their own pages: only what is theirs (and their household's).
#               operator secretary bldg   other  partner owner  household neighbour
MY_ORDER = dict(zip(PEOPLE, (False, False, False, False, False, True, False, False), strict=True))
MY_PARCEL = dict(zip(PEOPLE, (False, False, False, False, False, True, True, False), strict=True))


@pytest.mark.parametrize("who", PEOPLE)
def test_my_orders_and_my_parcels(in_shop_tenant, world, who):
    client = signed_in(in_shop_tenant, world["people"][who])
    order_link = f"/r/orders/{world['order'].pk}"
    code = world["parcel"].pickup_code
    assert (order_link in client.get("/r/orders").content.decode()) is MY_ORDER[who]
    assert (code in client.get("/r/parcels").content.decode()) is MY_PARCEL[who]
    home = client.get("/r/").content.decode()
    assert (order_link in home) is MY_ORDER[who]


def test_the_shop_you_run_shows_its_order_without_calling_it_yours(in_shop_tenant, world):
    """An operator opening a shop order sees it (as through the API), not "show this code"."""
    page = _view_order(signed_in(in_shop_tenant, world["operator"]), world).content.decode()
    assert world["order"].pickup_code in page and "Show this code at the shop" not in page
    own = _view_order(signed_in(in_shop_tenant, world["xu"]), world).content.decode()
    assert "Show this code at the shop" in own
