"""Community's policy, one table: every kind of caller by every kind of resident by every
action, through the API, with the exact status and problem code (and whether unmasked).
The rules live in ``tenants.community.access``; see the world in ``world.py``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tenants.community.models import Household, Resident, ResidentTag
from tests.tenants.community.world import build_world, call, problem

OK, CREATED = (200, None), (201, None)
HIDDEN = (404, "resident_not_found")
NOT_FOR_RESIDENTS = (403, "not_for_residents")
OUT_OF_SCOPE = (403, "out_of_scope")

# (caller, resident looked at) → the answer, and for a 200 whether names are unmasked
SEE = [
    ("district", "owner", OK, False),
    ("district", "stranger", OK, False),
    ("district_pd", "stranger", OK, True),
    ("district_admin", "owner", OK, True),  # leads everything, personal data there
    ("district_admin", "stranger", OK, True),
    ("owner", "owner", OK, True),
    ("owner", "spouse", OK, True),  # their own household
    ("owner", "neighbour", HIDDEN, None),
    ("owner", "stranger", HIDDEN, None),
    ("neighbour", "owner", HIDDEN, None),
    ("leader", "owner", OK, True),  # the places they lead
    ("leader", "neighbour", OK, True),
    ("leader", "stranger", HIDDEN, None),  # and nowhere else
    ("other_leader", "owner", HIDDEN, None),
    ("other_leader", "stranger", OK, True),
    ("volunteer", "volunteer", OK, True),
    ("volunteer", "stranger", HIDDEN, None),  # a volunteer leads nothing
    ("stranger", "owner", HIDDEN, None),
]


@pytest.mark.parametrize(("caller", "whom", "answer", "unmasked"), SEE)
def test_who_sees_which_resident(tenant, make_key, caller, whom, answer, unmasked):
    world = build_world(tenant, make_key)
    response = call(world.client(caller), "get", f"/api/v1/community/residents/{world.id(whom)}")
    assert problem(response) == answer
    if answer == OK:
        body = response.json()
        assert body["masked"] is (not unmasked)
        assert (body["display_name"] == f"{whom}名") is unmasked


LISTS = [
    ("district", {"owner", "spouse", "neighbour", "leader", "stranger", "volunteer",
                  "other_leader", "district_admin"}),
    ("owner", {"owner", "spouse"}),
    ("neighbour", {"neighbour"}),
    ("leader", {"owner", "spouse", "neighbour", "leader"}),
    ("other_leader", {"stranger", "volunteer", "other_leader", "district_admin"}),
    ("volunteer", {"volunteer"}),
]  # fmt: skip


@pytest.mark.parametrize(("caller", "listed"), LISTS)
def test_who_lists_which_residents(tenant, make_key, caller, listed):
    world = build_world(tenant, make_key)
    estate_id = world.units["one"].building.estate_id
    response = call(
        world.client(caller), "get", f"/api/v1/community/residents?estate_id={estate_id}"
    )
    assert response.status_code == 200
    names = {world_name for world_name, r in world.people.items()
             if r.pk in {item["id"] for item in response.json()["items"]}}  # fmt: skip
    assert names == listed


# (caller, resident changed, the change) → the answer
CHANGE = [
    ("district", "owner", "needs_assistance", OK),
    ("district", "owner", "tags", OK),
    ("district", "owner", "move_to_201", OK),
    ("owner", "spouse", "needs_assistance", OK),  # their own household
    ("owner", "owner", "needs_assistance", OK),
    ("owner", "neighbour", "needs_assistance", HIDDEN),
    ("owner", "owner", "phone", OK),
    ("owner", "spouse", "phone", (403, "not_yourself")),  # a phone signs its resident in
    ("leader", "spouse", "phone", OK),
    ("owner", "spouse", "tags", NOT_FOR_RESIDENTS),  # tags are leaders' classification
    ("owner", "spouse", "move_to_102", NOT_FOR_RESIDENTS),  # moving people is a leader's
    ("leader", "owner", "needs_assistance", OK),
    ("leader", "owner", "tags", OK),
    ("leader", "owner", "move_to_102", OK),  # within the building they lead
    ("leader", "owner", "move_to_201", OUT_OF_SCOPE),  # into another building
    ("leader", "stranger", "needs_assistance", HIDDEN),
    ("other_leader", "owner", "tags", HIDDEN),
    ("volunteer", "stranger", "needs_assistance", HIDDEN),
    ("district_admin", "owner", "move_to_201", OK),
]


@pytest.mark.parametrize(("caller", "whom", "change", "answer"), CHANGE)
def test_who_changes_which_resident(tenant, make_key, caller, whom, change, answer):
    world = build_world(tenant, make_key)
    with tenant_context(tenant):
        tag = ResidentTag.objects.create(name="獨居老人")
    body = {
        "needs_assistance": {"needs_assistance": True},
        "phone": {"phone": "+8613900009999"},
        "tags": {"tag_ids": [tag.pk]},
        "move_to_102": {"household_id": world.flats["102"].pk},
        "move_to_201": {"household_id": world.flats["201"].pk},
    }[change]
    before = world.people[whom]
    response = call(
        world.client(caller), "patch", f"/api/v1/community/residents/{world.id(whom)}", body
    )
    assert problem(response) == answer
    with tenant_context(tenant):
        after = Resident.objects.get(pk=before.pk)
        changed = (
            after.needs_assistance != before.needs_assistance
            or after.phone != before.phone
            or after.household_id != before.household_id
            or after.tags.exists()
        )
    assert changed is (answer == OK)  # a refusal changes nothing


# (caller, flat the new resident goes in) → the answer
REGISTER = [
    ("district", "201", CREATED),
    ("district", None, CREATED),
    ("leader", "102", CREATED),
    ("leader", "201", OUT_OF_SCOPE),
    ("leader", None, OUT_OF_SCOPE),  # only the district registers someone without a flat
    ("other_leader", "102", OUT_OF_SCOPE),
    ("owner", "101", NOT_FOR_RESIDENTS),  # even into their own flat
    ("volunteer", "202", NOT_FOR_RESIDENTS),
    ("district_admin", "102", CREATED),
]


@pytest.mark.parametrize(("caller", "flat", "answer"), REGISTER)
def test_who_registers_residents_where(tenant, make_key, caller, flat, answer):
    world = build_world(tenant, make_key)
    body = {"display_name": "新住戶", "household_id": world.flats[flat].pk if flat else None}
    response = call(world.client(caller), "post", "/api/v1/community/residents", body)
    assert problem(response) == answer
    with tenant_context(tenant):
        assert Resident.objects.filter(display_name="新住戶").exists() is (answer == CREATED)


# (caller, unit of the new flat) → the answer
ADD_FLAT = [
    ("district", "two", CREATED),
    ("leader", "one", CREATED),
    ("leader", "two", OUT_OF_SCOPE),
    ("owner", "one", NOT_FOR_RESIDENTS),
    ("volunteer", "two", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "unit", "answer"), ADD_FLAT)
def test_who_adds_flats_where(tenant, make_key, caller, unit, answer):
    world = build_world(tenant, make_key)
    body = {"unit_id": world.units[unit].pk, "flat_number": "909"}
    response = call(world.client(caller), "post", "/api/v1/community/households", body)
    assert problem(response) == answer
    with tenant_context(tenant):
        assert Household.objects.filter(flat_number="909").exists() is (answer == CREATED)


def test_a_page_of_residents_costs_the_same_queries_whatever_its_size(tenant, make_key):
    world = build_world(tenant, make_key)
    with tenant_context(tenant):
        for _ in range(20):
            Resident.objects.create(display_name="多", household=world.flats["102"])
    client = world.client("leader")
    client.get("/api/v1/community/residents?limit=1")  # warm the host and key caches
    with CaptureQueriesContext(connection) as one:
        small = client.get("/api/v1/community/residents?limit=1")
    with CaptureQueriesContext(connection) as many:
        big = client.get("/api/v1/community/residents?limit=200")
    assert small.status_code == big.status_code == 200
    assert len(big.json()["items"]) == 24  # the leader's building: 4 people and 20 more
    assert all(not item["masked"] for item in big.json()["items"])
    assert len(many.captured_queries) == len(one.captured_queries)
