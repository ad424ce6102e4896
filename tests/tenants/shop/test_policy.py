"""The shop's policy table: every kind of actor, every action on every kind of object,
with the exact status and problem code, through the API (the resident pages run the
rows they offer from this same table: tests/tenants/pages/test_shop_pages_policy.py).

Not visible → 404 with the object's not-found code (the same as a missing one); visible
but not allowed → 403 with a code saying why; allowed but in the wrong state → 409.
The rules themselves are in ``tenants.shop.access``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from api.scopes import ALL_SCOPES
from tenants.shop.services import orders, partners
from tests.conftest import key_client
from tests.tenants.shop.conftest import ACTORS
from tests.tenants.shop.test_partners_and_reports import slot_started

# The outcomes in the table: a success status, or (status, problem code).
Outcome = int | tuple[int, str]
LEGEND: dict[str, Outcome] = {
    "ok": 200,
    "new": 201,
    "Onf": (404, "order_not_found"),
    "Pnf": (404, "parcel_not_found"),
    "Bnf": (404, "booking_not_found"),
    "oper": (403, "not_shop_operator"),
    "dist": (403, "not_for_residents"),
    "part": (403, "not_the_partner"),
    "self": (403, "not_yourself"),
    "own": (403, "own_booking"),
    "state": (409, "transition_not_allowed"),
    "twice": (409, "already_picked_up"),
    "dup": (409, "already_booked"),
    "who?": (422, "resident_required"),
}

# Columns: the actors of tests/tenants/shop/conftest.py (ACTORS), in order.
POLICY = """
action                          district operator secretary bldg  other partner owner house neigh
order: view                     ok       ok       ok        Onf   Onf   Onf     ok    Onf   Onf
order: place for oneself        who?     new      new       new   new   new     new   new   new
order: place for Mr Xu          new      self     self      self  self  self    new   self  self
order: confirm                  ok       ok       ok        Onf   Onf   Onf     oper  Onf   Onf
order: confirm again            state    state    state     Onf   Onf   Onf     oper  Onf   Onf
order: ready                    ok       ok       ok        Onf   Onf   Onf     oper  Onf   Onf
order: pick up                  ok       ok       ok        Onf   Onf   Onf     oper  Onf   Onf
order: pick up again            twice    twice    twice     Onf   Onf   Onf     oper  Onf   Onf
order: cancel                   ok       ok       ok        Onf   Onf   Onf     ok    Onf   Onf
order: cancel once packed       ok       ok       ok        Onf   Onf   Onf     state Onf   Onf
order: look up by code          ok       ok       ok        oper  oper  oper    oper  oper  oper
parcel: log                     new      new      new       oper  oper  oper    oper  oper  oper
parcel: pick up                 ok       ok       ok        Pnf   Pnf   Pnf     oper  oper  Pnf
parcel: send back               ok       ok       ok        Pnf   Pnf   Pnf     oper  oper  Pnf
parcel: look up recipients      ok       ok       ok        oper  ok    oper    oper  oper  oper
parcel: the day's figures       ok       ok       ok        oper  oper  oper    oper  oper  oper
product: add                    new      new      new       oper  oper  oper    oper  oper  oper
product: restock                ok       ok       ok        oper  oper  oper    oper  oper  oper
batch: view                     ok       ok       ok        ok    ok    ok      ok    ok    ok
batch: open                     new      new      new       oper  oper  oper    oper  oper  oper
batch: close                    ok       ok       ok        oper  oper  oper    oper  oper  oper
batch: packing list             ok       ok       ok        oper  oper  oper    oper  oper  oper
shop: view                      ok       ok       ok        ok    ok    ok      ok    ok    ok
shop: close                     ok       dist     dist      dist  dist  dist    dist  dist  dist
shop: open one                  new      dist     dist      dist  dist  dist    dist  dist  dist
supplier: add                   new      dist     dist      dist  dist  dist    dist  dist  dist
service: offer                  new      dist     dist      dist  dist  dist    dist  dist  dist
service: offer a slot           new      part     part      part  part  new     part  part  part
booking: book for Mr Xu         new      self     self      self  self  self    new   self  self
booking: book him twice         dup      self     self      self  self  self    dup   self  self
booking: confirm                ok       Bnf      Bnf       Bnf   Bnf   ok      part  Bnf   Bnf
booking: complete               ok       Bnf      Bnf       Bnf   Bnf   ok      part  Bnf   Bnf
booking: complete unconfirmed   state    Bnf      Bnf       Bnf   Bnf   state   part  Bnf   Bnf
booking: decline                ok       Bnf      Bnf       Bnf   Bnf   ok      part  Bnf   Bnf
booking: cancel                 ok       Bnf      Bnf       Bnf   Bnf   self    ok    Bnf   Bnf
booking: confirm one's own      ok       Bnf      Bnf       Bnf   Bnf   own     Bnf   Bnf   Bnf
report: a shop's sales          ok       ok       ok        oper  oper  oper    oper  oper  oper
report: every shop's sales      ok       dist     dist      dist  dist  dist    dist  dist  dist
report: parcel turnaround       ok       dist     dist      dist  dist  dist    dist  dist  dist
report: partner settlement      ok       dist     dist      dist  dist  dist    dist  dist  dist
"""

# Which of the world's things each actor finds in the API's lists (the pages' own lists,
# "my orders" and "my parcels", are in the pages' test).
LISTED = """
list                            district operator secretary bldg  other partner owner house neigh
orders                          yes      yes      yes       -     -     -       yes   -     -
parcels                         yes      yes      yes       -     -     -       yes   yes   -
bookings                        yes      -        -         -     -     yes     yes   -     -
"""

LABEL = 32  # the width of the first column


def parse(table: str) -> dict[str, tuple[str, ...]]:
    rows = [line for line in table.strip().splitlines()[1:] if line.strip()]
    parsed = {line[:LABEL].strip(): tuple(line[LABEL:].split()) for line in rows}
    assert all(len(cells) == len(ACTORS) for cells in parsed.values())
    return parsed


TABLE: dict[str, tuple[Outcome, ...]] = {
    action: tuple(LEGEND[cell] for cell in cells) for action, cells in parse(POLICY).items()
}


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def _month() -> str:
    return timezone.localdate().replace(day=1).isoformat()


def _ready(w: dict[str, Any]) -> None:
    orders.order_ready(order_id=w["order"].pk)


def _picked_up(w: dict[str, Any]) -> None:
    _ready(w)
    orders.order_pick_up(
        order_id=w["order"].pk, code=w["order"].pickup_code, payment="cash", paid_fen=1200
    )


def _another_slot(w: dict[str, Any]) -> Any:
    start = timezone.now() + timedelta(days=4)
    return partners.service_slot_create(
        service_id=w["service"].pk, starts_at=start, ends_at=start + timedelta(hours=2)
    )


def _batch_body(w: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    return {
        "shop_id": w["shop"].pk,
        "supplier_id": w["coop"].pk,
        "title": "下週蔬菜",
        "opens_at": now.isoformat(),
        "closes_at": (now + timedelta(days=1)).isoformat(),
        "pickup_on": (timezone.localdate() + timedelta(days=2)).isoformat(),
        "items": [{"product_id": w["greens"].pk, "limit_total": 10}],
    }


S = "/api/v1/shop"
# Each action: what to set up first (with the services), then the request.
ACTIONS: dict[str, Callable[[Client, dict[str, Any]], Any]] = {
    "order: view": lambda c, w: c.get(f"{S}/orders/{w['order'].pk}"),
    "order: place for oneself": lambda c, w: post(
        c,
        f"{S}/orders",
        {"shop_id": w["shop"].pk, "lines": [{"product_id": w["soy"].pk, "quantity": 1}]},
    ),
    "order: place for Mr Xu": lambda c, w: post(
        c,
        f"{S}/orders",
        {
            "resident_id": w["xu"].pk,
            "shop_id": w["shop"].pk,
            "lines": [{"product_id": w["soy"].pk, "quantity": 1}],
        },
    ),
    "order: confirm": lambda c, w: post(c, f"{S}/orders/{w['order'].pk}/confirm"),
    "order: confirm again": lambda c, w: (
        orders.order_confirm(order_id=w["order"].pk),
        post(c, f"{S}/orders/{w['order'].pk}/confirm"),
    )[1],
    "order: ready": lambda c, w: post(c, f"{S}/orders/{w['order'].pk}/ready"),
    "order: pick up": lambda c, w: (
        _ready(w),  # type: ignore[func-returns-value]
        post(
            c,
            f"{S}/orders/{w['order'].pk}/pick-up",
            {"code": w["order"].pickup_code, "payment": "cash", "paid_fen": 1200},
        ),
    )[1],
    "order: pick up again": lambda c, w: (
        _picked_up(w),  # type: ignore[func-returns-value]
        post(
            c,
            f"{S}/orders/{w['order'].pk}/pick-up",
            {"code": w["order"].pickup_code, "payment": "cash", "paid_fen": 1200},
        ),
    )[1],
    "order: cancel": lambda c, w: post(c, f"{S}/orders/{w['order'].pk}/cancel", {"reason": "x"}),
    "order: cancel once packed": lambda c, w: (
        _ready(w),  # type: ignore[func-returns-value]
        post(c, f"{S}/orders/{w['order'].pk}/cancel", {"reason": "x"}),
    )[1],
    "order: look up by code": lambda c, w: post(
        c, f"{S}/shops/{w['shop'].pk}/orders/lookup", {"code": w["order"].pickup_code}
    ),
    "parcel: log": lambda c, w: post(
        c,
        f"{S}/parcels",
        {
            "shop_id": w["shop"].pk,
            "carrier": "郵政",
            "tracking_number": "E42",
            "household_id": w["xu"].household_id,
        },
    ),
    "parcel: pick up": lambda c, w: post(
        c, f"{S}/parcels/{w['parcel'].pk}/pick-up", {"code": w["parcel"].pickup_code}
    ),
    "parcel: send back": lambda c, w: post(c, f"{S}/parcels/{w['parcel'].pk}/return"),
    "parcel: look up recipients": lambda c, w: c.get(f"{S}/parcels/recipients?q=徐"),
    "parcel: the day's figures": lambda c, w: c.get(
        f"{S}/parcels/daily?shop_id={w['shop'].pk}&day={timezone.localdate().isoformat()}"
    ),
    "product: add": lambda c, w: post(
        c,
        f"{S}/products",
        {"shop_id": w["shop"].pk, "name": "米", "unit": "袋", "price_fen": 5000, "stock": 3},
    ),
    "product: restock": lambda c, w: post(c, f"{S}/products/{w['soy'].pk}/stock", {"delta": 5}),
    "batch: view": lambda c, w: c.get(f"{S}/batches/{w['batch'].pk}"),
    "batch: open": lambda c, w: post(c, f"{S}/batches", _batch_body(w)),
    "batch: close": lambda c, w: post(c, f"{S}/batches/{w['batch'].pk}/close"),
    "batch: packing list": lambda c, w: c.get(f"{S}/batches/{w['batch'].pk}/packing-list"),
    "shop: view": lambda c, w: c.get(f"{S}/shops/{w['shop'].pk}"),
    "shop: close": lambda c, w: post(c, f"{S}/shops/{w['shop'].pk}/active", {"active": False}),
    "shop: open one": lambda c, w: post(
        c, f"{S}/shops", {"estate_id": w["estate"].pk, "name": "二號店", "zones": ["parcels"]}
    ),
    "supplier: add": lambda c, w: post(c, f"{S}/suppliers", {"name": "農場", "kind": "farm"}),
    "service: offer": lambda c, w: post(
        c,
        f"{S}/services",
        {
            "organisation_id": w["company"].pk,
            "category": "housekeeping",
            "title": "擦窗",
            "price_fen": 3000,
        },
    ),
    "service: offer a slot": lambda c, w: post(
        c,
        f"{S}/services/{w['service'].pk}/slots",
        {
            "starts_at": (timezone.now() + timedelta(days=3)).isoformat(),
            "ends_at": (timezone.now() + timedelta(days=3, hours=1)).isoformat(),
        },
    ),
    "booking: book for Mr Xu": lambda c, w: post(
        c,
        f"{S}/bookings",
        {"resident_id": w["xu"].pk, "slot_id": _another_slot(w).pk, "pay_with": "money"},
    ),
    "booking: book him twice": lambda c, w: post(
        c,
        f"{S}/bookings",
        {"resident_id": w["xu"].pk, "slot_id": w["slot"].pk, "pay_with": "money"},
    ),
    "booking: confirm": lambda c, w: post(c, f"{S}/bookings/{w['booking'].pk}/confirm"),
    "booking: complete": lambda c, w: (
        partners.booking_confirm(booking_id=w["booking"].pk),
        slot_started(w["slot"]),  # type: ignore[func-returns-value]  # completes once started
        post(c, f"{S}/bookings/{w['booking'].pk}/complete"),
    )[2],
    "booking: complete unconfirmed": lambda c, w: post(
        c, f"{S}/bookings/{w['booking'].pk}/complete"
    ),
    "booking: decline": lambda c, w: post(
        c, f"{S}/bookings/{w['booking'].pk}/decline", {"reason": "沒空"}
    ),
    "booking: cancel": lambda c, w: post(c, f"{S}/bookings/{w['booking'].pk}/cancel", {}),
    "booking: confirm one's own": lambda c, w: post(
        c, f"{S}/bookings/{w['partners_own_booking'].pk}/confirm"
    ),
    "report: a shop's sales": lambda c, w: c.get(
        f"{S}/reports/sales?month={_month()}&shop_id={w['shop'].pk}"
    ),
    "report: every shop's sales": lambda c, w: c.get(f"{S}/reports/sales?month={_month()}"),
    "report: parcel turnaround": lambda c, w: c.get(f"{S}/reports/parcels?month={_month()}"),
    "report: partner settlement": lambda c, w: c.get(f"{S}/reports/settlement?month={_month()}"),
}

ROWS = [
    pytest.param(action, who, expected, id=f"{action} | {who}")
    for action, outcomes in TABLE.items()
    for who, expected in zip(ACTORS, outcomes, strict=True)
]


def test_the_table_covers_every_action():
    assert set(TABLE) == set(ACTIONS)


@pytest.fixture
def as_actor(tenant, make_key) -> Callable[[str, dict[str, Any]], Client]:
    """An API client for one kind of actor: the district's tool, or a key acting for them."""
    token = make_key(*ALL_SCOPES)

    def client(who: str, world: dict[str, Any]) -> Client:
        if who == "district":
            return key_client(tenant, token)
        resident = world["people"][who]
        return key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))

    return client


def check(response: Any, expected: Outcome) -> None:
    status, code = expected if isinstance(expected, tuple) else (expected, None)
    body = response.json() if response["Content-Type"].endswith("json") else None
    assert response.status_code == status, body
    if code is not None:
        assert body is not None and body["code"] == code, body


@pytest.mark.parametrize(("action", "who", "expected"), ROWS)
def test_policy_through_the_api(world, as_actor, action, who, expected):
    check(ACTIONS[action](as_actor(who, world), world), expected)


@pytest.mark.parametrize("who", ACTORS)
def test_lists_hold_what_each_actor_sees(world, as_actor, who):
    client = as_actor(who, world)
    n = ACTORS.index(who)
    found = {
        "orders": w_ids(client.get(f"{S}/orders")),
        "parcels": w_ids(client.get(f"{S}/parcels")),
        "bookings": w_ids(client.get(f"{S}/bookings")),
    }
    listed = parse(LISTED)
    assert (world["order"].pk in found["orders"]) is (listed["orders"][n] == "yes")
    assert (world["parcel"].pk in found["parcels"]) is (listed["parcels"][n] == "yes")
    assert (world["booking"].pk in found["bookings"]) is (listed["bookings"][n] == "yes")


def w_ids(response: Any) -> set[int]:
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.parametrize("who", ["operator", "other_leader", "household", "neighbour"])
def test_not_visible_answers_exactly_as_missing(world, as_actor, who):
    """The same status, code and words for an order that is not theirs as for one that
    does not exist (only the id in the sentence differs)."""
    client = as_actor(who, world)
    missing = client.get(f"{S}/orders/999999").json()
    assert missing["code"] == "order_not_found" and missing["status"] == 404
    theirs = client.get(f"{S}/orders/{world['order'].pk}")
    if who == "operator":  # runs the shop: sees it
        assert theirs.status_code == 200
        return
    body = theirs.json()
    assert {**body, "detail": body["detail"].replace(str(world["order"].pk), "999999")} == missing


def test_a_grid_worker_above_the_estate_runs_its_shop_and_no_other(world, as_actor):
    """Leading an area leads every estate in it, and so runs those estates' shops."""
    from tenants.community.models import Estate, Role
    from tenants.community.places import area_create, area_level_create
    from tests.factories import ResidentFactory
    from tests.tenants.shop.conftest import _role

    street = area_create(name="岑城街道", level_id=area_level_create(depth=1, name="街道").pk)
    grid_level = area_level_create(depth=2, name="網格")
    grid = area_create(name="一網格", level_id=grid_level.pk, parent_id=street.pk)
    Estate.objects.filter(pk=world["estate"].pk).update(area=grid)
    worker = ResidentFactory(display_name="網格員")
    _role(worker, Role.GRID_WORKER, area=grid)
    world["people"]["grid_worker"] = worker
    client = as_actor("grid_worker", world)
    confirmed = post(client, f"{S}/orders/{world['order'].pk}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    elsewhere = post(
        client,
        f"{S}/parcels",
        {"shop_id": world["other_shop"].pk, "carrier": "郵政", "tracking_number": "E7",
         "household_id": world["xu"].household_id},
    )  # fmt: skip
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "not_shop_operator"
