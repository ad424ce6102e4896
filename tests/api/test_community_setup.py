"""Setting up a district's places through the API alone: estates, buildings, units and
households, created and changed, with the area hierarchy, unique names, the audit log, who
may do it, and isolation between tenants."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEntry
from tenants.community.models import Building, Estate, Household, Resident, Unit
from tenants.community.places import area_create, area_level_create
from tenants.community.roles import role_assign
from tests.conftest import key_client
from tests.factories import BuildingFactory, EstateFactory, HouseholdFactory, UnitFactory
from tests.tenants.community.world import build_world, call, problem

BASE = "/api/v1/community"


def post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    return client.post(BASE + path, json.dumps(body), content_type="application/json", **extra)


def patch(client: Any, path: str, body: Any) -> Any:
    return client.patch(BASE + path, json.dumps(body), content_type="application/json")


def pointed(response: Any) -> tuple[int, str, list[str]]:
    body = response.json()
    return response.status_code, body["code"], [e["pointer"] for e in body.get("errors") or []]


@pytest.fixture
def grids(tenant):
    """Two levels of areas: a street and, under it, a grid (the lowest level)."""
    with tenant_context(tenant):
        street_level = area_level_create(depth=1, name="街道")
        grid_level = area_level_create(depth=2, name="網格")
        street = area_create(name="岑城街道", level_id=street_level.pk)
        grid = area_create(name="一網格", level_id=grid_level.pk, parent_id=street.pk)
        other = area_create(name="二網格", level_id=grid_level.pk, parent_id=street.pk)
    return {"street": street, "grid": grid, "other": other}


# --- a new district, from nothing to a resident ------------------------------------------


def test_a_district_sets_up_its_places_and_a_resident_through_the_api_alone(tenant, api, grids):
    # given an empty district with its areas
    # when it adds an estate, a building, a unit, a flat and a resident
    estate = post(
        api,
        "/estates",
        {
            "name": "岑城花園",
            "address": "岑溪市岑城路1號",
            "area_id": grids["grid"].pk,
            "latitude": 22.918406,
            "longitude": 110.994291,
        },
    )
    assert estate.status_code == 201
    estate_id = estate.json()["id"]
    assert estate.json() == {
        "id": estate_id,
        "name": "岑城花園",
        "address": "岑溪市岑城路1號",
        "area_id": grids["grid"].pk,
        "latitude": 22.918406,
        "longitude": 110.994291,
    }
    building = post(api, "/buildings", {"estate_id": estate_id, "name": "1棟"})
    assert building.status_code == 201
    building_id = building.json()["id"]
    assert building.json() == {"id": building_id, "estate_id": estate_id, "name": "1棟"}
    unit = post(api, "/units", {"building_id": building_id, "name": "1單元"})
    assert unit.status_code == 201
    unit_id = unit.json()["id"]
    assert unit.json() == {"id": unit_id, "building_id": building_id, "name": "1單元"}
    flat = post(api, "/households", {"unit_id": unit_id, "flat_number": "101"})
    assert flat.status_code == 201
    flat_id = flat.json()["id"]
    resident = post(
        api, "/residents", {"display_name": "徐伯", "household_id": flat_id, "birth_year": 1948}
    )
    assert resident.status_code == 201
    # then every place reads back, and the resident lists under the street
    assert api.get(f"{BASE}/estates/{estate_id}").json() == estate.json()
    assert api.get(f"{BASE}/buildings/{building_id}").json() == building.json()
    assert api.get(f"{BASE}/units/{unit_id}").json() == unit.json()
    assert api.get(f"{BASE}/households/{flat_id}").json() == {
        "id": flat_id,
        "unit_id": unit_id,
        "flat_number": "101",
    }
    listed = api.get(f"{BASE}/residents?area_id={grids['street'].pk}").json()["items"]
    assert [(r["id"], r["birth_year"]) for r in listed] == [(resident.json()["id"], 1948)]
    # and each write is in the audit log, by this key
    with tenant_context(tenant):
        entries = list(
            AuditEntry.objects.filter(
                action__in=["estate.created", "building.created", "unit.created"]
            ).values_list("action", "object_id")
        )
        assert sorted(entries) == sorted(
            [
                ("building.created", str(building_id)),
                ("estate.created", str(estate_id)),
                ("unit.created", str(unit_id)),
            ]
        )
        api_writes = AuditEntry.objects.filter(
            action__in=["estate.created", "building.created", "unit.created", "household.created"]
        )
        assert api_writes.count() == 4
        assert not api_writes.filter(actor_key_id__isnull=True).exists()


# --- estates -----------------------------------------------------------------------------


def test_an_estate_goes_in_an_area_of_the_lowest_level(tenant, api, grids):
    response = post(api, "/estates", {"name": "街道小區", "area_id": grids["street"].pk})
    assert pointed(response) == (422, "area_not_lowest", ["/body/area_id"])
    response = post(api, "/estates", {"name": "街道小區", "area_id": 987654})
    assert pointed(response) == (422, "area_not_found", ["/body/area_id"])
    with tenant_context(tenant):
        assert not Estate.objects.filter(name="街道小區").exists()


def test_estate_names_are_unique_in_the_tenant(tenant, api):
    with tenant_context(tenant):
        EstateFactory(name="學府小區")
    response = post(api, "/estates", {"name": "學府小區"})
    assert pointed(response) == (409, "estate_exists", ["/body/name"])
    with tenant_context(tenant):
        assert Estate.objects.filter(name="學府小區").count() == 1


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": "x" * 121}, "/body/name"),
        ({"name": ""}, "/body/name"),
        ({"name": "a\u0000b"}, "/body/name"),
        ({"name": 7}, "/body/name"),
        ({"name": "好", "address": "路" * 256}, "/body/address"),
        ({"name": "好", "area_id": "3"}, "/body/area_id"),
        ({"name": "好", "area_id": True}, "/body/area_id"),
        ({"name": "好", "area_id": 2**70}, "/body/area_id"),
        ({"name": "好", "area_id": 0}, "/body/area_id"),
        ({"name": "好", "latitude": 91, "longitude": 0}, "/body/latitude"),
        ({"name": "好", "latitude": "22.9", "longitude": 110}, "/body/latitude"),
        ({"name": "好", "latitude": 22.1234567, "longitude": 110}, "/body/latitude"),
        ({"name": "好", "latitude": 22, "longitude": 181}, "/body/longitude"),
    ],
)
def test_a_bad_estate_body_is_a_422_on_its_field(tenant, api, body, pointer):
    response = post(api, "/estates", body)
    assert pointed(response) == (422, "validation_failed", [pointer])
    with tenant_context(tenant):
        assert not Estate.objects.exists()


def test_an_estate_name_of_blanks_or_half_coordinates_is_refused(tenant, api):
    assert pointed(post(api, "/estates", {"name": "   "})) == (
        422,
        "name_required",
        ["/body/name"],
    )
    assert pointed(post(api, "/estates", {"name": "半", "latitude": 22.9})) == (
        422,
        "coordinates_incomplete",
        ["/body/latitude"],
    )
    with tenant_context(tenant):
        assert not Estate.objects.exists()


def test_a_long_non_ascii_name_within_the_limit_is_kept_whole(api):
    name = "𠀋小區" * 40  # 120 characters, some outside the BMP
    response = post(api, "/estates", {"name": name})
    assert response.status_code == 201
    assert response.json()["name"] == name


def test_changing_an_estate_changes_only_what_is_sent_and_is_audited(tenant, api, grids):
    with tenant_context(tenant):
        estate = EstateFactory(name="舊名", address="舊路1號", area=grids["grid"])
    response = patch(api, f"/estates/{estate.pk}", {"name": "新名", "area_id": grids["other"].pk})
    assert response.status_code == 200
    assert response.json() == {
        "id": estate.pk,
        "name": "新名",
        "address": "舊路1號",
        "area_id": grids["other"].pk,
        "latitude": None,
        "longitude": None,
    }
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="estate.updated")
    assert entry.object_id == str(estate.pk)
    assert entry.changes == {
        "area_id": [grids["grid"].pk, grids["other"].pk],
        "name": ["舊名", "新名"],
    }
    # detaching from its area and setting coordinates
    response = patch(
        api, f"/estates/{estate.pk}", {"area_id": None, "latitude": -1.5, "longitude": 2.25}
    )
    assert response.status_code == 200
    assert (response.json()["area_id"], response.json()["latitude"]) == (None, -1.5)


def test_changing_an_estate_refuses_what_creating_one_refuses(tenant, api, grids):
    with tenant_context(tenant):
        estate, other = EstateFactory(name="甲"), EstateFactory(name="乙")
    assert pointed(patch(api, f"/estates/{estate.pk}", {"name": "乙"})) == (
        409,
        "estate_exists",
        ["/body/name"],
    )
    assert pointed(patch(api, f"/estates/{estate.pk}", {"area_id": grids["street"].pk})) == (
        422,
        "area_not_lowest",
        ["/body/area_id"],
    )
    assert pointed(patch(api, f"/estates/{estate.pk}", {"longitude": 3})) == (
        422,
        "coordinates_incomplete",
        ["/body/latitude"],
    )
    assert pointed(patch(api, f"/estates/{estate.pk}", {"name": None})) == (
        422,
        "name_required",
        ["/body/name"],
    )
    missing = patch(api, "/estates/987654", {"name": "丙"})
    assert (missing.status_code, missing.json()["code"]) == (404, "estate_not_found")
    with tenant_context(tenant):
        assert Estate.objects.get(pk=estate.pk).name == "甲"
        assert Estate.objects.get(pk=other.pk).name == "乙"
        assert not AuditEntry.objects.filter(action="estate.updated").exists()


# --- buildings, units, households ----------------------------------------------------------


def test_a_building_needs_a_known_estate_and_a_name_free_in_it(tenant, api):
    with tenant_context(tenant):
        building = BuildingFactory(name="1棟")
        elsewhere = EstateFactory()
    estate_id = building.estate_id
    assert pointed(post(api, "/buildings", {"estate_id": 987654, "name": "2棟"})) == (
        422,
        "estate_not_found",
        ["/body/estate_id"],
    )
    assert pointed(post(api, "/buildings", {"estate_id": estate_id, "name": "1棟"})) == (
        409,
        "building_exists",
        ["/body/name"],
    )
    # the same name in another estate is another building
    assert post(api, "/buildings", {"estate_id": elsewhere.pk, "name": "1棟"}).status_code == 201
    assert pointed(post(api, "/buildings", {"estate_id": estate_id, "name": "棟" * 65})) == (
        422,
        "validation_failed",
        ["/body/name"],
    )
    assert pointed(post(api, "/buildings", {"name": "3棟"})) == (
        422,
        "validation_failed",
        ["/body/estate_id"],
    )
    with tenant_context(tenant):
        assert Building.objects.filter(estate_id=estate_id).count() == 1


def test_renaming_a_building_keeps_names_unique_in_its_estate(tenant, api):
    with tenant_context(tenant):
        one = BuildingFactory(name="1棟")
        BuildingFactory(name="2棟", estate=one.estate)
    assert pointed(patch(api, f"/buildings/{one.pk}", {"name": "2棟"})) == (
        409,
        "building_exists",
        ["/body/name"],
    )
    response = patch(api, f"/buildings/{one.pk}", {"name": "A棟"})
    assert response.status_code == 200
    assert response.json() == {"id": one.pk, "estate_id": one.estate_id, "name": "A棟"}
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="building.updated")
        assert entry.changes == {"name": ["1棟", "A棟"]}
    missing = patch(api, "/buildings/987654", {"name": "B棟"})
    assert (missing.status_code, missing.json()["code"]) == (404, "building_not_found")


def test_units_belong_to_a_known_building_with_unique_names(tenant, api):
    with tenant_context(tenant):
        unit = UnitFactory(name="1單元")
        sibling = UnitFactory(name="2單元", building=unit.building)
    assert pointed(post(api, "/units", {"building_id": 987654, "name": "3單元"})) == (
        422,
        "building_not_found",
        ["/body/building_id"],
    )
    assert pointed(post(api, "/units", {"building_id": unit.building_id, "name": "1單元"})) == (
        409,
        "unit_exists",
        ["/body/name"],
    )
    assert pointed(patch(api, f"/units/{sibling.pk}", {"name": "1單元"})) == (
        409,
        "unit_exists",
        ["/body/name"],
    )
    renamed = patch(api, f"/units/{sibling.pk}", {"name": "東單元"})
    assert renamed.status_code == 200
    assert renamed.json() == {"id": sibling.pk, "building_id": unit.building_id, "name": "東單元"}
    missing = api.get(f"{BASE}/units/987654")
    assert (missing.status_code, missing.json()["code"]) == (404, "unit_not_found")
    with tenant_context(tenant):
        assert list(
            Unit.objects.filter(building_id=unit.building_id).values_list("name", flat=True)
        ) == ["1單元", "東單元"]
        assert AuditEntry.objects.filter(action="unit.updated").count() == 1


def test_renumbering_a_flat_keeps_numbers_unique_in_its_unit(tenant, api):
    with tenant_context(tenant):
        flat = HouseholdFactory(flat_number="101")
        HouseholdFactory(flat_number="102", unit=flat.unit)
    assert pointed(patch(api, f"/households/{flat.pk}", {"flat_number": "102"})) == (
        409,
        "household_exists",
        ["/body/flat_number"],
    )
    assert pointed(patch(api, f"/households/{flat.pk}", {"flat_number": "  "})) == (
        422,
        "flat_required",
        ["/body/flat_number"],
    )
    assert pointed(patch(api, f"/households/{flat.pk}", {"flat_number": "1" * 33})) == (
        422,
        "validation_failed",
        ["/body/flat_number"],
    )
    response = patch(api, f"/households/{flat.pk}", {"flat_number": " 101A "})
    assert response.status_code == 200
    assert response.json() == {"id": flat.pk, "unit_id": flat.unit_id, "flat_number": "101A"}
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="household.updated")
        assert entry.changes == {"flat_number": ["101", "101A"]}
    missing = patch(api, "/households/987654", {"flat_number": "1"})
    assert (missing.status_code, missing.json()["code"]) == (404, "household_not_found")


def test_a_flat_in_an_unknown_unit_is_a_422_on_unit_id(tenant, api):
    response = post(api, "/households", {"unit_id": 987654, "flat_number": "101"})
    assert pointed(response) == (422, "unit_not_found", ["/body/unit_id"])


# --- who may ---------------------------------------------------------------------------

OK, CREATED = (200, None), (201, None)
NOT_FOR_RESIDENTS = (403, "not_for_residents")
OUT_OF_SCOPE = (403, "out_of_scope")


def _secretary(world: Any) -> None:
    """The neighbour also becomes the estate's secretary (leads the whole estate)."""
    with tenant_context(world.tenant):
        role_assign(
            resident_id=world.id("neighbour"),
            role="estate_secretary",
            scope="estate",
            place_id=world.units["one"].building.estate_id,
        )


# (caller, building of the new unit or renamed building) → the answer
BUILDING_WRITES = [
    ("district", "one", CREATED, OK),
    ("district_admin", "two", CREATED, OK),
    ("leader", "one", CREATED, OK),  # a building leader adds units to their building
    ("leader", "two", OUT_OF_SCOPE, OUT_OF_SCOPE),
    ("other_leader", "one", OUT_OF_SCOPE, OUT_OF_SCOPE),
    ("owner", "one", NOT_FOR_RESIDENTS, NOT_FOR_RESIDENTS),
    ("volunteer", "two", NOT_FOR_RESIDENTS, NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "where", "add_unit", "rename"), BUILDING_WRITES)
def test_who_adds_units_and_renames_buildings_where(
    tenant, make_key, caller, where, add_unit, rename
):
    world = build_world(tenant, make_key)
    building_id = world.units[where].building_id
    client = world.client(caller)
    response = call(client, "post", f"{BASE}/units", {"building_id": building_id, "name": "新單元"})
    assert problem(response) == add_unit
    response = call(client, "patch", f"{BASE}/buildings/{building_id}", {"name": "新樓"})
    assert problem(response) == rename
    with tenant_context(tenant):
        assert Unit.objects.filter(name="新單元").exists() is (add_unit == CREATED)
        assert Building.objects.filter(name="新樓").exists() is (rename == OK)


# (caller) → adding a building to the estate, renaming the estate
ESTATE_WRITES = [
    ("district", CREATED, OK),
    ("secretary", CREATED, OK),
    ("leader", OUT_OF_SCOPE, OUT_OF_SCOPE),  # a building leader does not lead the estate
    ("owner", NOT_FOR_RESIDENTS, NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "add_building", "rename"), ESTATE_WRITES)
def test_who_adds_buildings_and_changes_the_estate(tenant, make_key, caller, add_building, rename):
    world = build_world(tenant, make_key)
    _secretary(world)
    estate_id = world.units["one"].building.estate_id
    client = world.client("neighbour" if caller == "secretary" else caller)
    response = call(client, "post", f"{BASE}/buildings", {"estate_id": estate_id, "name": "9棟"})
    assert problem(response) == add_building
    response = call(client, "patch", f"{BASE}/estates/{estate_id}", {"address": "新路8號"})
    assert problem(response) == rename
    with tenant_context(tenant):
        assert Building.objects.filter(name="9棟").exists() is (add_building == CREATED)
        assert Estate.objects.filter(address="新路8號").exists() is (rename == OK)


def test_only_the_district_or_a_leader_of_the_area_adds_an_estate_or_moves_one(
    tenant, make_key, grids
):
    world = build_world(tenant, make_key)
    _secretary(world)
    estate_id = world.units["one"].building.estate_id
    with tenant_context(tenant):
        role_assign(
            resident_id=world.id("stranger"),
            role="grid_worker",
            scope="area",
            place_id=grids["grid"].pk,
        )
    body = {"name": "網格小區", "area_id": grids["grid"].pk}
    assert problem(call(world.client("stranger"), "post", f"{BASE}/estates", body)) == CREATED
    other = {"name": "別處小區", "area_id": grids["other"].pk}
    assert problem(call(world.client("stranger"), "post", f"{BASE}/estates", other)) == (
        OUT_OF_SCOPE
    )
    # without an area, only the district
    bare = {"name": "無區小區"}
    assert problem(call(world.client("neighbour"), "post", f"{BASE}/estates", bare)) == (
        OUT_OF_SCOPE
    )
    assert problem(call(world.client("owner"), "post", f"{BASE}/estates", bare)) == (
        NOT_FOR_RESIDENTS
    )
    # the secretary changes the estate, but may not move it into an area they do not lead
    move = {"area_id": grids["grid"].pk}
    assert problem(
        call(world.client("neighbour"), "patch", f"{BASE}/estates/{estate_id}", move)
    ) == (OUT_OF_SCOPE)
    assert (
        problem(call(world.client("district"), "patch", f"{BASE}/estates/{estate_id}", move)) == OK
    )
    with tenant_context(tenant):
        assert set(Estate.objects.values_list("name", flat=True)) >= {"網格小區"}
        assert not Estate.objects.filter(name__in=["別處小區", "無區小區"]).exists()


# (caller, flat renumbered) → the answer
FLAT_WRITES = [
    ("district", "201", OK),
    ("leader", "102", OK),
    ("leader", "201", OUT_OF_SCOPE),
    ("owner", "101", NOT_FOR_RESIDENTS),  # even their own flat
    ("volunteer", "202", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "flat", "answer"), FLAT_WRITES)
def test_who_renumbers_flats_where(tenant, make_key, caller, flat, answer):
    world = build_world(tenant, make_key)
    household_id = world.flats[flat].pk
    response = call(
        world.client(caller), "patch", f"{BASE}/households/{household_id}", {"flat_number": "909"}
    )
    assert problem(response) == answer
    with tenant_context(tenant):
        assert Household.objects.filter(flat_number="909").exists() is (answer == OK)


def test_a_leader_naming_an_unknown_place_hears_422_before_403(tenant, make_key):
    world = build_world(tenant, make_key)
    leader = world.client("leader")
    for path, body, code, pointer in [
        ("/units", {"building_id": 987654, "name": "x"}, "building_not_found", "/body/building_id"),
        ("/buildings", {"estate_id": 987654, "name": "x"}, "estate_not_found", "/body/estate_id"),
        ("/households", {"unit_id": 987654, "flat_number": "x"}, "unit_not_found", "/body/unit_id"),
        ("/estates", {"name": "x", "area_id": 987654}, "area_not_found", "/body/area_id"),
    ]:
        response = call(leader, "post", BASE + path, body)
        assert pointed(response) == (422, code, [pointer]), path
    # a resident who leads nothing may not set up places at all, whatever the body names
    response = call(
        world.client("owner"), "post", f"{BASE}/units", {"building_id": 987654, "name": "x"}
    )
    assert problem(response) == NOT_FOR_RESIDENTS


def test_a_key_without_the_write_scope_cannot_set_up_places(tenant, make_key):
    with tenant_context(tenant):
        estate = EstateFactory()
    reader = key_client(tenant, make_key("community:read"))
    for method, path, body in [
        ("post", "/estates", {"name": "讀者小區"}),
        ("patch", f"/estates/{estate.pk}", {"name": "讀者小區"}),
        ("post", "/buildings", {"estate_id": estate.pk, "name": "1棟"}),
    ]:
        response = call(reader, method, BASE + path, body)
        assert problem(response) == (403, "scope_missing"), path
    assert reader.get(f"{BASE}/estates/{estate.pk}").status_code == 200
    stranger = key_client(tenant, make_key("shop:write"))
    assert problem(stranger.get(f"{BASE}/estates/{estate.pk}")) == (403, "scope_missing")
    with tenant_context(tenant):
        assert not Estate.objects.filter(name="讀者小區").exists()
        assert not Building.objects.filter(estate=estate).exists()


# --- tenants apart -------------------------------------------------------------------------


def test_another_tenants_places_are_not_found_on_this_host(tenant, other_tenant, other_api):
    with tenant_context(tenant):
        flat = HouseholdFactory(flat_number="101")
    unit, building = flat.unit, flat.unit.building
    estate = building.estate
    for path, code in [
        (f"/estates/{estate.pk}", "estate_not_found"),
        (f"/buildings/{building.pk}", "building_not_found"),
        (f"/units/{unit.pk}", "unit_not_found"),
        (f"/households/{flat.pk}", "household_not_found"),
    ]:
        assert problem(other_api.get(BASE + path)) == (404, code), path
        assert problem(patch(other_api, path, {"name": "貝塔", "flat_number": "貝塔"})) == (
            404,
            code,
        ), path
    # naming alpha's places in a body on beta's host: no such place here
    assert pointed(post(other_api, "/buildings", {"estate_id": estate.pk, "name": "貝塔"})) == (
        422,
        "estate_not_found",
        ["/body/estate_id"],
    )
    assert pointed(post(other_api, "/units", {"building_id": building.pk, "name": "貝塔"})) == (
        422,
        "building_not_found",
        ["/body/building_id"],
    )
    assert pointed(
        post(other_api, "/residents", {"display_name": "貝塔", "household_id": flat.pk})
    ) == (422, "household_not_found", ["/body/household_id"])
    with tenant_context(tenant):
        assert Estate.objects.get(pk=estate.pk).name == estate.name
        assert Building.objects.get(pk=building.pk).name == building.name
        assert Household.objects.get(pk=flat.pk).flat_number == "101"
        assert not Resident.objects.filter(display_name="貝塔").exists()
    with tenant_context(other_tenant):
        assert not Building.objects.exists()
        assert not Resident.objects.exists()


def test_an_estate_added_with_an_idempotency_key_is_added_once(tenant, api):
    first = post(api, "/estates", {"name": "一次小區"}, HTTP_IDEMPOTENCY_KEY="setup-1")
    again = post(api, "/estates", {"name": "一次小區"}, HTTP_IDEMPOTENCY_KEY="setup-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    # without the key, the same body is a second attempt: a conflict
    assert problem(post(api, "/estates", {"name": "一次小區"})) == (409, "estate_exists")
    with tenant_context(tenant):
        assert Estate.objects.filter(name="一次小區").count() == 1
        assert AuditEntry.objects.filter(action="estate.created").count() == 1


# --- areas -------------------------------------------------------------------------------


def test_the_district_defines_its_areas_through_the_api(tenant, api):
    street_level = post(api, "/area-levels", {"depth": 1, "name": "街道"})
    grid_level = post(api, "/area-levels", {"depth": 2, "name": "網格"})
    assert street_level.status_code == grid_level.status_code == 201
    assert street_level.json() == {"id": street_level.json()["id"], "depth": 1, "name": "街道"}
    levels = api.get(f"{BASE}/area-levels").json()
    assert [(level["depth"], level["name"]) for level in levels["items"]] == [
        (1, "街道"),
        (2, "網格"),
    ]
    street = post(api, "/areas", {"name": "岑城街道", "level_id": street_level.json()["id"]})
    assert street.status_code == 201
    street_id = street.json()["id"]
    assert street.json() == {
        "id": street_id,
        "name": "岑城街道",
        "level": "街道",
        "depth": 1,
        "parent_id": None,
        "code": "",
    }
    grid = post(
        api,
        "/areas",
        {
            "name": "一網格",
            "level_id": grid_level.json()["id"],
            "parent_id": street_id,
            "code": "G1",
        },
    )
    assert grid.status_code == 201
    assert (grid.json()["parent_id"], grid.json()["depth"], grid.json()["code"]) == (
        street_id,
        2,
        "G1",
    )
    # an estate then goes in the grid
    estate = post(api, "/estates", {"name": "網格裡的小區", "area_id": grid.json()["id"]})
    assert estate.status_code == 201
    with tenant_context(tenant):
        assert AuditEntry.objects.filter(action="area.created").count() == 2
        assert AuditEntry.objects.filter(action="area_level.created").count() == 2


def test_areas_follow_their_levels_and_names_are_unique_under_a_parent(tenant, api, grids):
    with tenant_context(tenant):
        from tenants.community.models import AreaLevel

        street_level = AreaLevel.objects.get(depth=1)
        grid_level = AreaLevel.objects.get(depth=2)
    street = grids["street"].pk
    cases = [
        (
            {"name": "二網格", "level_id": grid_level.pk, "parent_id": street},
            409,
            "area_exists",
            "/body/name",
        ),
        ({"name": "孤網格", "level_id": grid_level.pk}, 422, "parent_required", "/body/parent_id"),
        (
            {"name": "街中街", "level_id": street_level.pk, "parent_id": street},
            422,
            "area_level_mismatch",
            "/body/parent_id",
        ),
        ({"name": "無級", "level_id": 987654}, 422, "level_not_found", "/body/level_id"),
        (
            {"name": "無父", "level_id": grid_level.pk, "parent_id": 987654},
            422,
            "area_not_found",
            "/body/parent_id",
        ),
        ({"name": "區" * 121, "level_id": street_level.pk}, 422, "validation_failed", "/body/name"),
        ({"name": "甲", "level_id": "1"}, 422, "validation_failed", "/body/level_id"),
        (
            {"name": "甲", "level_id": street_level.pk, "code": "c" * 33},
            422,
            "validation_failed",
            "/body/code",
        ),
    ]
    for body, status, code, pointer in cases:
        assert pointed(post(api, "/areas", body)) == (status, code, [pointer]), body
    assert pointed(post(api, "/area-levels", {"depth": 1, "name": "又一級"})) == (
        409,
        "level_exists",
        ["/body/depth"],
    )
    for body, pointer in [
        ({"depth": 0, "name": "零"}, "/body/depth"),
        ({"depth": 2.0, "name": "浮"}, "/body/depth"),
        ({"depth": 3, "name": ""}, "/body/name"),
    ]:
        assert pointed(post(api, "/area-levels", body)) == (422, "validation_failed", [pointer])
    with tenant_context(tenant):
        from tenants.community.models import Area

        assert Area.objects.count() == 3  # the fixture's street and two grids
        assert AreaLevel.objects.count() == 2


@pytest.mark.parametrize("caller", ["leader", "owner", "volunteer"])
def test_only_the_district_defines_areas(tenant, make_key, caller):
    world = build_world(tenant, make_key)
    client = world.client(caller)
    response = call(client, "post", f"{BASE}/area-levels", {"depth": 1, "name": "街道"})
    assert problem(response) == NOT_FOR_RESIDENTS
    with tenant_context(tenant):
        level = area_level_create(depth=1, name="街道")
    response = call(client, "post", f"{BASE}/areas", {"name": "岑城街道", "level_id": level.pk})
    assert problem(response) == NOT_FOR_RESIDENTS
    assert call(client, "get", f"{BASE}/area-levels").status_code == 200
    reader = key_client(tenant, make_key("community:read"))
    body = {"name": "岑城街道", "level_id": level.pk}
    assert problem(call(reader, "post", f"{BASE}/areas", body)) == (403, "scope_missing")
    with tenant_context(tenant):
        from tenants.community.models import Area, AreaLevel

        assert not Area.objects.exists()
        assert AreaLevel.objects.count() == 1


def test_another_tenants_area_levels_cannot_be_named(tenant, other_tenant, other_api):
    with tenant_context(tenant):
        level = area_level_create(depth=1, name="街道")
    response = post(other_api, "/areas", {"name": "貝塔街道", "level_id": level.pk})
    assert pointed(response) == (422, "level_not_found", ["/body/level_id"])
    assert other_api.get(f"{BASE}/area-levels").json() == {"items": [], "next": None}
