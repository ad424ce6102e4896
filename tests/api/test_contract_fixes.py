"""Defects an integrator found in the contract of deliberation, the help team, the shop and
points: ids a body names that name nothing, repeated state writes with other arguments, and
error pointers that named another field than the one the request carried.

The rule each test pins: an unknown id in a body is 422 ``<thing>_not_found`` pointing at
that body field (and nothing is written); an unknown id in the path is 404; a repeated
write with the same arguments changes nothing, with other arguments the state forbids 409.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tests.conftest import key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

MISSING = 2**62  # a valid 64-bit id no row has


def post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def refusal(response) -> tuple[int, str, list[str]]:
    body = response.json()
    return response.status_code, body["code"], [e["pointer"] for e in body.get("errors") or []]


@pytest.fixture
def modules(tenant, other_tenant):
    for slug in ("alpha", "beta"):
        for module in ("deliberation", "helpteam", "shop", "points"):
            module_set_enabled(slug=slug, module=module, enabled=True)


@pytest.fixture
def place(tenant, modules):
    """An estate with one unit of two flats, a resident in each, and the estate's secretary."""
    from tenants.community.roles import role_assign

    with tenant_context(tenant):
        estate = EstateFactory()
        unit = UnitFactory(building__estate=estate)
        first = ResidentFactory(household=HouseholdFactory(unit=unit))
        second = ResidentFactory(household=HouseholdFactory(unit=unit))
        secretary = ResidentFactory(household=None)
        role_assign(
            resident_id=secretary.pk, role="estate_secretary", scope="estate", place_id=estate.pk
        )
    return {"estate": estate, "unit": unit, "residents": [first, second], "secretary": secretary}


def acting(tenant, make_key, resident, *scopes):
    token = make_key(*(scopes or ("deliberation:write",)), "residents:act")
    return key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))


def _accepted_topic(tenant, place):
    from tenants.deliberation.services import topic_raise, topic_transition

    with tenant_context(tenant):
        topic = topic_raise(
            raised_by_id=place["residents"][0].pk,
            title="樓道燈",
            description="d",
            category="facilities",
            scope="unit",
            place_id=place["unit"].pk,
        )
        topic_transition(topic_id=topic.pk, to="accepted", actor_id=None)
    return topic


def _count(tenant, model) -> int:
    with tenant_context(tenant):
        return model.objects.count()


# --- 1. deliberation: every id a body names ---------------------------------------------------


def test_a_contact_naming_no_resident_is_422_on_leader_id_and_logs_nothing(tenant, api, place):
    from tenants.deliberation.models import Contact

    body = {"leader_id": MISSING, "household_id": place["residents"][0].household_id}
    response = post(api, "/api/v1/deliberation/contacts", {**body, "kind": "visit"})
    assert refusal(response) == (422, "resident_not_found", ["/body/leader_id"])
    missing_home = {"leader_id": place["secretary"].pk, "household_id": MISSING, "kind": "visit"}
    response = post(api, "/api/v1/deliberation/contacts", missing_home)
    assert refusal(response) == (422, "household_not_found", ["/body/household_id"])
    assert _count(tenant, Contact) == 0


def test_a_meeting_naming_nothing_is_422_on_the_field_and_schedules_nothing(
    tenant, api, make_key, place
):
    from tenants.deliberation.models import Meeting, Topic

    topic = _accepted_topic(tenant, place)
    good = {
        "estate_id": place["estate"].pk,
        "starts_at": "2030-01-01T19:00:00+08:00",
        "convener_id": place["secretary"].pk,
        "topic_ids": [topic.pk],
    }
    for change, answer in [
        ({"convener_id": MISSING}, ("resident_not_found", "/body/convener_id")),
        ({"estate_id": MISSING}, ("estate_not_found", "/body/estate_id")),
        ({"building_id": MISSING}, ("building_not_in_estate", "/body/building_id")),
        ({"topic_ids": [MISSING]}, ("agenda_invalid", "/body/topic_ids")),
    ]:
        response = post(api, "/api/v1/deliberation/meetings", {**good, **change})
        assert refusal(response) == (422, answer[0], [answer[1]]), change
    # the secretary acting as themself: a missing estate is the body's fault, not out of scope
    secretary = acting(tenant, make_key, place["secretary"])
    mine = {k: v for k, v in good.items() if k != "convener_id"}
    response = post(secretary, "/api/v1/deliberation/meetings", {**mine, "estate_id": MISSING})
    assert refusal(response) == (422, "estate_not_found", ["/body/estate_id"])
    assert _count(tenant, Meeting) == 0
    with tenant_context(tenant):
        assert Topic.objects.get(pk=topic.pk).status == "accepted"


def test_merging_into_a_topic_that_is_not_there_is_422_on_into_id(tenant, api, place):
    topic = _accepted_topic(tenant, place)
    response = post(api, f"/api/v1/deliberation/topics/{topic.pk}/merge", {"into_id": MISSING})
    assert refusal(response) == (422, "topic_not_found", ["/body/into_id"])
    # the topic in the path is still the path's 404
    response = post(api, f"/api/v1/deliberation/topics/{MISSING}/merge", {"into_id": topic.pk})
    assert refusal(response) == (404, "topic_not_found", [])


def test_reporting_or_reviewing_a_comment_that_is_not_there_is_422_on_comment_id(
    tenant, api, place
):
    from tenants.deliberation.models import PostReport

    topic = _accepted_topic(tenant, place)
    report = {"resident_id": place["residents"][1].pk, "comment_id": MISSING, "reason": "spam"}
    response = post(api, f"/api/v1/deliberation/topics/{topic.pk}/reports", report)
    assert refusal(response) == (422, "comment_not_found", ["/body/comment_id"])
    review = {"comment_id": MISSING, "approve": True}
    response = post(api, f"/api/v1/deliberation/topics/{topic.pk}/review", review)
    assert refusal(response) == (422, "comment_not_found", ["/body/comment_id"])
    assert _count(tenant, PostReport) == 0


def test_the_raise_service_points_at_raised_by_id(in_tenant):
    from linli.errors import ValidationFailed
    from tenants.deliberation.services import topic_raise

    with pytest.raises(ValidationFailed) as refused:
        topic_raise(
            raised_by_id=MISSING,
            title="t",
            description="d",
            category="c",
            scope="estate",
            place_id=1,
        )
    assert (refused.value.code, refused.value.field) == ("resident_not_found", "raised_by_id")


# --- 1 and 3. the help team: bodies that name requests, homes and estates ----------------------


@pytest.fixture
def done_request(tenant, place):
    """A request of the first resident, claimed and done by the second (a volunteer)."""
    from tenants.helpteam.models import Volunteer
    from tenants.helpteam.services import request_claim, request_create, request_done

    first, second = place["residents"]
    with tenant_context(tenant):
        Volunteer.objects.create(resident=second)
        start = timezone.now() - timedelta(hours=1)  # the window has opened
        request = request_create(
            requester_id=first.pk,
            category="default",
            description="接孩子",
            window_start=start,
            window_end=start + timedelta(hours=2),
        )
        request_claim(request_id=request.pk, volunteer_resident_id=second.pk)
        request_done(request_id=request.pk, volunteer_resident_id=second.pk)
    return request


def test_confirming_again_with_the_same_hours_is_200_and_with_other_hours_409(
    tenant, api, done_request
):
    from tenants.helpteam.models import HelpRequest
    from tenants.points.models import Transaction

    path = f"/api/v1/helpteam/requests/{done_request.pk}/confirm"
    first = post(api, path, {"hours": 1.5})
    assert (first.status_code, first.json()["hours"]) == (200, "1.50")
    again = post(api, path, {"hours": 1.5})
    assert again.status_code == 200
    assert again.json() == first.json()
    other = post(api, path, {"hours": 2})
    assert refusal(other) == (409, "already_confirmed", [])
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=done_request.pk).hours == Decimal("1.50")
        assert Transaction.objects.filter(kind="earn").count() == 1


def test_feedback_again_is_the_same_feedback_or_409(tenant, api, make_key, place, done_request):
    from tenants.helpteam.models import HelpRequest

    confirmed = post(api, f"/api/v1/helpteam/requests/{done_request.pk}/confirm", {"hours": 1})
    assert confirmed.status_code == 200
    requester = acting(tenant, make_key, place["residents"][0], "helpteam:write")
    path = f"/api/v1/helpteam/requests/{done_request.pk}/feedback"
    first = post(requester, path, {"rating": 5, "comment": "謝謝"})
    assert (first.status_code, first.json()["rating"]) == (200, 5)
    assert post(requester, path, {"rating": 5, "comment": "謝謝"}).json() == first.json()
    assert refusal(post(requester, path, {"rating": 1})) == (409, "already_rated", [])
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=done_request.pk).rating == 5


def test_bulk_hours_point_at_the_entry_that_is_wrong(tenant, api, done_request):
    from tenants.helpteam.models import HelpRequest

    unknown = {
        "entries": [
            {"request_id": done_request.pk, "hours": 1},
            {"request_id": MISSING, "hours": 1},
        ]
    }
    response = post(api, "/api/v1/helpteam/hours", unknown)
    assert refusal(response) == (404, "help_request_not_found", ["/body/entries/1/request_id"])
    too_long = {"entries": [{"request_id": done_request.pk, "hours": 3}]}  # the window is 2 h
    response = post(api, "/api/v1/helpteam/hours", too_long)
    assert refusal(response) == (422, "hours_invalid", ["/body/entries/0/hours"])
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=done_request.pk).status == "done"  # all or nothing
    assert (
        post(
            api,
            "/api/v1/helpteam/hours",
            {"entries": [{"request_id": done_request.pk, "hours": 1}]},
        ).status_code
        == 200
    )
    again_other = {"entries": [{"request_id": done_request.pk, "hours": 2}]}
    assert refusal(post(api, "/api/v1/helpteam/hours", again_other)) == (
        409,
        "already_confirmed",
        [],
    )


def test_asking_for_help_at_a_home_that_is_not_there_is_422_for_a_leader_too(
    tenant, api, make_key, place
):
    from tenants.helpteam.models import HelpRequest

    start = timezone.now() + timedelta(hours=1)
    body = {
        "category": "default",
        "description": "d",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=1)).isoformat(),
        "household_id": MISSING,
    }
    secretary = acting(tenant, make_key, place["secretary"], "helpteam:write")
    response = post(secretary, "/api/v1/helpteam/requests", body)
    assert refusal(response) == (422, "household_not_found", ["/body/household_id"])
    district = post(
        api, "/api/v1/helpteam/requests", {**body, "requester_id": place["residents"][0].pk}
    )
    assert refusal(district) == (422, "household_not_found", ["/body/household_id"])
    assert _count(tenant, HelpRequest) == 0


def test_an_activity_in_an_estate_that_is_not_there_is_422_for_a_leader_too(
    tenant, make_key, place
):
    start = timezone.now() + timedelta(days=1)
    body = {
        "title": "義剪",
        "estate_id": MISSING,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "capacity": 10,
    }
    secretary = acting(tenant, make_key, place["secretary"], "helpteam:write")
    response = post(secretary, "/api/v1/helpteam/activities", body)
    assert refusal(response) == (422, "estate_not_found", ["/body/estate_id"])


# --- 1 and 3. the shop: shops, batches and slots a body names -----------------------------------


@pytest.fixture
def shop(tenant, place):
    from tenants.shop.services import catalogue

    with tenant_context(tenant):
        return catalogue.shop_create(
            estate_id=place["estate"].pk, name="鄰家小店", zones=["daily_goods", "preorders"]
        )


def test_a_body_naming_no_shop_is_422_on_shop_id_and_creates_nothing(tenant, api, shop):
    from tenants.shop.models import Parcel, PreorderBatch, Product

    product = {"shop_id": MISSING, "name": "雞蛋", "unit": "盒", "price_fen": 1200}
    assert refusal(post(api, "/api/v1/shop/products", product)) == (
        422,
        "shop_not_found",
        ["/body/shop_id"],
    )
    now = timezone.now()
    batch = {
        "shop_id": MISSING,
        "supplier_id": 1,
        "title": "青菜",
        "opens_at": now.isoformat(),
        "closes_at": (now + timedelta(days=1)).isoformat(),
        "pickup_on": (now + timedelta(days=2)).date().isoformat(),
        "items": [{"product_id": 1, "price_fen": 100}],
    }
    assert refusal(post(api, "/api/v1/shop/batches", batch)) == (
        422,
        "shop_not_found",
        ["/body/shop_id"],
    )
    parcel = {"shop_id": MISSING, "carrier": "SF", "tracking_number": "SF1", "household_id": 1}
    assert refusal(post(api, "/api/v1/shop/parcels", parcel)) == (
        422,
        "shop_not_found",
        ["/body/shop_id"],
    )
    assert (_count(tenant, Product), _count(tenant, PreorderBatch), _count(tenant, Parcel)) == (
        0,
        0,
        0,
    )


def test_an_order_from_no_batch_or_no_shop_is_422_on_its_field(tenant, api, place, shop):
    from tenants.shop.models import Order

    resident = place["residents"][0].pk
    lines = [{"item_id": 1, "quantity": 1}]
    response = post(
        api, "/api/v1/shop/orders", {"resident_id": resident, "batch_id": MISSING, "lines": lines}
    )
    assert refusal(response) == (422, "batch_not_found", ["/body/batch_id"])
    goods = [{"product_id": 1, "quantity": 1}]
    response = post(
        api, "/api/v1/shop/orders", {"resident_id": resident, "shop_id": MISSING, "lines": goods}
    )
    assert refusal(response) == (422, "shop_not_found", ["/body/shop_id"])
    assert _count(tenant, Order) == 0


def test_an_order_line_that_fails_is_pointed_at_and_nothing_is_taken(tenant, api, place, shop):
    from tenants.shop.models import Order, Product
    from tenants.shop.services import catalogue

    with tenant_context(tenant):
        eggs = catalogue.product_create(
            shop_id=shop.pk, name="雞蛋", unit="盒", price_fen=1200, stock=3
        )
    order = {"resident_id": place["residents"][0].pk, "shop_id": shop.pk}
    unknown = [{"product_id": eggs.pk, "quantity": 1}, {"product_id": MISSING, "quantity": 1}]
    response = post(api, "/api/v1/shop/orders", {**order, "lines": unknown})
    assert refusal(response) == (422, "product_not_found", ["/body/lines/1/product_id"])
    too_many = [{"product_id": eggs.pk, "quantity": 4}]
    response = post(api, "/api/v1/shop/orders", {**order, "lines": too_many})
    assert refusal(response) == (409, "out_of_stock", ["/body/lines/0/quantity"])
    with tenant_context(tenant):
        assert Product.objects.get(pk=eggs.pk).stock == 3
        assert Order.objects.count() == 0


def test_a_batch_item_naming_no_product_points_at_that_item(tenant, api, shop):
    from tenants.shop.models import Supplier

    with tenant_context(tenant):
        supplier = Supplier.objects.create(name="水汶村合作社", kind="cooperative")
    now = timezone.now()
    batch = {
        "shop_id": shop.pk,
        "supplier_id": supplier.pk,
        "title": "青菜",
        "opens_at": now.isoformat(),
        "closes_at": (now + timedelta(days=1)).isoformat(),
        "pickup_on": (now + timedelta(days=2)).date().isoformat(),
        "items": [{"product_id": MISSING, "price_fen": 100}],
    }
    response = post(api, "/api/v1/shop/batches", batch)
    assert refusal(response)[2] == ["/body/items/0/product_id"]


def test_booking_a_slot_that_is_not_there_is_422_on_slot_id(tenant, api, place, modules):
    from tenants.shop.models import Booking

    body = {"resident_id": place["residents"][0].pk, "slot_id": MISSING, "pay_with": "money"}
    assert refusal(post(api, "/api/v1/shop/bookings", body)) == (
        422,
        "slot_not_found",
        ["/body/slot_id"],
    )
    assert _count(tenant, Booking) == 0


# --- 1 and 3. points: residents, accounts and redemptions a body names ---------------------------


@pytest.fixture
def ledger(tenant, place):
    from tenants.points.models import Account
    from tenants.points.services import account_for_resident, points_adjust

    with tenant_context(tenant):
        holder = place["residents"][0]
        points_adjust(
            account_id=account_for_resident(resident_id=holder.pk).pk,
            amount=50,
            reason="seed",
            idempotency_key="seed",
        )
        shop_account = Account.objects.create(kind="shop", code="shop:9", name="小店")
    return {"holder": holder, "shop": shop_account}


def _ledger_post(client, path, body, key):
    return post(client, path, body, HTTP_IDEMPOTENCY_KEY=key)


def test_points_bodies_naming_nothing_are_422_on_their_field_and_move_nothing(tenant, api, ledger):
    from tenants.points.models import Transaction

    holder, shop_account = ledger["holder"].pk, ledger["shop"].pk
    before = _count(tenant, Transaction)
    cases = [
        (
            "/api/v1/points/redemptions",
            {"resident_id": MISSING, "amount": 1, "to_account_id": shop_account},
            ("resident_not_found", "/body/resident_id"),
        ),
        (
            "/api/v1/points/redemptions",
            {"resident_id": holder, "amount": 1, "to_account_id": MISSING},
            ("account_not_found", "/body/to_account_id"),
        ),
        (
            "/api/v1/points/transfers",
            {"from_resident_id": MISSING, "to_resident_id": holder, "amount": 1},
            ("resident_not_found", "/body/from_resident_id"),
        ),
        (
            "/api/v1/points/transfers",
            {"from_resident_id": holder, "to_resident_id": MISSING, "amount": 1},
            ("resident_not_found", "/body/to_resident_id"),
        ),
        (
            "/api/v1/points/refunds",
            {"redemption_id": MISSING, "amount": 1},
            ("redemption_not_found", "/body/redemption_id"),
        ),
        (
            "/api/v1/points/adjustments",
            {"account_id": MISSING, "amount": 1, "reason": "fix"},
            ("account_not_found", "/body/account_id"),
        ),
        (
            "/api/v1/points/awards",
            {"resident_id": MISSING, "category": "default", "hours": 1, "source": "s"},
            ("resident_not_found", "/body/resident_id"),
        ),
    ]
    for n, (path, body, (code, pointer)) in enumerate(cases):
        assert refusal(_ledger_post(api, path, body, f"k{n}")) == (422, code, [pointer]), body
    assert _count(tenant, Transaction) == before
    # a path's transaction is still the path's 404
    response = _ledger_post(
        api, f"/api/v1/points/transactions/{MISSING}/reversal", {"reason": "x"}, "k-rev"
    )
    assert refusal(response) == (404, "transaction_not_found", [])


def test_the_idempotency_key_is_a_header_not_a_body_field(api, ledger):
    body = {"account_id": ledger["shop"].pk, "amount": 5, "reason": "fix"}
    response = post(api, "/api/v1/points/adjustments", body)
    assert refusal(response) == (422, "idempotency_key_required", [])
    # the longest key the API takes (255 characters) still fits the ledger with its prefix
    first = _ledger_post(api, "/api/v1/points/adjustments", body, key="k" * 255)
    assert first.status_code == 201, first.json()
    with_other_body = {**body, "amount": 6}
    response = _ledger_post(api, "/api/v1/points/adjustments", with_other_body, key="k" * 255)
    assert refusal(response)[:2] == (422, "idempotency_key_reused")
    assert refusal(response)[2] == []
