"""Community endpoints: filters, writes, bad input, and isolation between tenants."""

from __future__ import annotations

import json

from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEntry
from tenants.community.models import Household, Resident
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory


def post(client, path, body, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def test_register_a_resident_normalises_the_phone_and_audits(tenant, api):
    with tenant_context(tenant):
        home = HouseholdFactory()
    response = post(
        api,
        "/api/v1/community/residents",
        {
            "display_name": "徐伯",
            "phone": "138-1234-0070",
            "household_id": home.pk,
            "needs_assistance": True,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["phone"], body["household_id"], body["needs_assistance"]) == (
        "+8613812340070",
        home.pk,
        True,
    )
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="resident.created")
    assert entry.object_id == str(body["id"])
    assert entry.actor_key_id is not None
    assert entry.changes["phone"] == [None, "<personal>"]  # never the number itself
    assert "+8613812340070" not in str(entry.changes)


def test_update_changes_only_what_is_sent(tenant, api):
    with tenant_context(tenant):
        resident = ResidentFactory(display_name="李四", needs_assistance=False)
    response = api.patch(
        f"/api/v1/community/residents/{resident.pk}",
        json.dumps({"needs_assistance": True}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "李四"
    assert response.json()["needs_assistance"] is True


def test_filters_by_place(tenant, api):
    with tenant_context(tenant):
        here, there = HouseholdFactory(), HouseholdFactory()
        mine = ResidentFactory(household=here)
        ResidentFactory(household=there)
    for param, value in [
        ("household_id", here.pk),
        ("unit_id", here.unit_id),
        ("building_id", here.unit.building_id),
        ("estate_id", here.unit.building.estate_id),
    ]:
        items = api.get(f"/api/v1/community/residents?{param}={value}").json()["items"]
        assert [item["id"] for item in items] == [mine.pk], param


def test_household_in_a_unit_of_another_building_is_refused(tenant, api):
    with tenant_context(tenant):
        unit = UnitFactory()
        other_unit = UnitFactory()
    response = post(
        api,
        "/api/v1/community/households",
        {"unit_id": unit.pk, "building_id": other_unit.building_id, "flat_number": "301"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unit_not_in_building"
    assert response.json()["errors"][0]["pointer"] == "/body/unit_id"
    with tenant_context(tenant):
        assert not Household.objects.filter(flat_number="301").exists()


def test_duplicate_flat_is_a_conflict(tenant, api):
    with tenant_context(tenant):
        home = HouseholdFactory(flat_number="502")
    response = post(
        api, "/api/v1/community/households", {"unit_id": home.unit_id, "flat_number": "502"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "household_exists"


def test_another_tenants_resident_is_404_on_this_host(tenant, other_tenant, api, other_api):
    with tenant_context(tenant):
        alpha_resident = ResidentFactory()
    # the same id on beta's host: not found, whatever beta holds
    response = other_api.get(f"/api/v1/community/residents/{alpha_resident.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "resident_not_found"
    assert other_api.get("/api/v1/community/residents").json()["items"] == []
    # and beta cannot change it either
    patch = other_api.patch(
        f"/api/v1/community/residents/{alpha_resident.pk}",
        json.dumps({"display_name": "x"}),
        content_type="application/json",
    )
    assert patch.status_code == 404
    with tenant_context(tenant):
        assert Resident.objects.get(pk=alpha_resident.pk).display_name != "x"


def test_writes_on_one_host_land_in_that_tenant_only(tenant, other_tenant, other_api):
    assert (
        post(other_api, "/api/v1/community/residents", {"display_name": "貝塔"}).status_code == 201
    )
    with tenant_context(tenant):
        assert not Resident.objects.filter(display_name="貝塔").exists()
    with tenant_context(other_tenant):
        assert Resident.objects.filter(display_name="貝塔").count() == 1


def test_areas_roll_up_estates_and_residents(tenant, api):
    from tenants.community.places import area_create, area_level_create

    with tenant_context(tenant):
        street_level = area_level_create(depth=1, name="街道")
        grid_level = area_level_create(depth=2, name="網格")
        street = area_create(name="岑城街道", level_id=street_level.pk)
        grid = area_create(name="一網格", level_id=grid_level.pk, parent_id=street.pk)
        other_street = area_create(name="義昌街道", level_id=street_level.pk)
        home = HouseholdFactory()
        estate = home.unit.building.estate
        estate.area = grid
        estate.save()
        ResidentFactory(household=home)
        ResidentFactory()  # an estate without an area
    estates = api.get(f"/api/v1/community/estates?area_id={street.pk}").json()["items"]
    assert [e["id"] for e in estates] == [estate.pk]
    residents = api.get(f"/api/v1/community/residents?area_id={street.pk}").json()["items"]
    assert len(residents) == 1
    assert api.get(f"/api/v1/community/residents?area_id={other_street.pk}").json()["items"] == []
    areas = api.get(f"/api/v1/community/areas?parent_id={street.pk}").json()["items"]
    assert [(a["name"], a["level"], a["depth"]) for a in areas] == [("一網格", "網格", 2)]


def test_terminology_endpoint_shows_the_tenants_own_words(tenant, api):
    from tenants.community.models import Term

    with tenant_context(tenant):
        Term.objects.create(key="help_team", language="zh-hant", label="鄰里幫幫團")
    labels = api.get("/api/v1/community/terminology").json()["labels"]
    assert labels["zh-hant"]["help_team"] == "鄰里幫幫團"
    assert labels["en"]["help_team"] == "help team"


def test_an_unknown_language_is_refused(api):
    response = post(
        api, "/api/v1/community/residents", {"display_name": "甲", "preferred_language": "fr"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "language_invalid"


def test_text_postgresql_cannot_store_is_a_422_not_a_500(api):
    for name in ["a\u0000b", "\ud800"]:
        response = api.post(
            "/api/v1/community/residents",
            '{"display_name": ' + json.dumps(name) + "}",
            content_type="application/json",
        )
        assert response.status_code == 422, name
        assert response.json()["code"] == "validation_failed"
    assert api.get("/api/v1/community/residents?role=%00").status_code == 422
