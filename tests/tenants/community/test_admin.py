"""The tenant admin follows roles: a building leader manages only their building."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.community.models import Household, Resident
from tenants.community.roles import role_assign
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory, UserFactory


@pytest.fixture
def two_buildings(tenant):
    with tenant_context(tenant):
        mine_unit, other_unit = UnitFactory(), UnitFactory()
        mine = HouseholdFactory(unit=mine_unit, flat_number="101")
        other = HouseholdFactory(unit=other_unit, flat_number="909")
        ResidentFactory(household=mine, display_name="本樓居民")
        ResidentFactory(household=other, display_name="別樓居民")
        user = UserFactory(username="leader-a", password="leader-pass")
        leader = ResidentFactory(household=mine, user=user, display_name="樓棟長")
        role_assign(
            resident_id=leader.pk,
            role="building_leader",
            scope="building",
            place_id=mine_unit.building_id,
            starts_on=date(2024, 1, 1),
        )
    return {"mine": mine, "other": other}


def login(tenant, username: str, password: str) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):  # users and sessions live in the tenant's schema
        assert client.login(username=username, password=password)
    return client


def test_a_building_leader_lists_only_their_buildings_households(tenant, two_buildings):
    client = login(tenant, "leader-a", "leader-pass")
    page = client.get("/admin/community/household/").content.decode()
    assert "101" in page
    assert "909" not in page
    residents = client.get("/admin/community/resident/").content.decode()
    assert "本樓居民" in residents
    assert "別樓居民" not in residents


def test_a_building_leader_cannot_open_or_edit_another_buildings_household(tenant, two_buildings):
    client = login(tenant, "leader-a", "leader-pass")
    other = two_buildings["other"]
    response = client.get(f"/admin/community/household/{other.pk}/change/")
    assert response.status_code == 302  # "doesn't exist": the same as a missing household
    response = client.post(
        f"/admin/community/household/{other.pk}/change/",
        {"unit": other.unit_id, "flat_number": "HACKED"},
    )
    assert response.status_code == 302
    with tenant_context(tenant):
        assert Household.objects.get(pk=other.pk).flat_number == "909"
    mine = two_buildings["mine"]
    assert client.get(f"/admin/community/household/{mine.pk}/change/").status_code == 200


def test_a_volunteer_without_a_leading_role_sees_no_residents(tenant):
    with tenant_context(tenant):
        user = UserFactory(username="volunteer-v", password="v-pass")
        volunteer = ResidentFactory(user=user)
        role_assign(resident_id=volunteer.pk, role="volunteer", scope="tenant")
    client = login(tenant, "volunteer-v", "v-pass")
    assert client.get("/admin/community/resident/").status_code == 403


def test_the_district_admin_sees_everything_and_edits_through_the_services(tenant, two_buildings):
    client = login(tenant, "admin-alpha", ADMIN_PASSWORD)
    page = client.get("/admin/community/household/").content.decode()
    assert "101" in page and "909" in page
    with tenant_context(tenant):
        resident = Resident.objects.get(display_name="別樓居民")
    response = client.post(
        f"/admin/community/resident/{resident.pk}/change/",
        {
            "display_name": "別樓居民",
            "phone": "139 0000 7777",
            "household": resident.household_id,
            "preferred_language": "",
            "tags": [],
            "user": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenant):
        assert Resident.objects.get(pk=resident.pk).phone == "+8613900007777"


def test_the_admin_refuses_a_taken_phone_with_a_field_error(tenant, two_buildings):
    client = login(tenant, "admin-alpha", ADMIN_PASSWORD)
    with tenant_context(tenant):
        taken = Resident.objects.get(display_name="本樓居民").phone
        resident = Resident.objects.get(display_name="別樓居民")
    response = client.post(
        f"/admin/community/resident/{resident.pk}/change/",
        {
            "display_name": "別樓居民",
            "phone": taken,
            "household": resident.household_id,
            "preferred_language": "",
            "tags": [],
            "user": "",
        },
    )
    assert response.status_code == 200
    assert "Another resident already has this phone number." in response.content.decode()


def test_a_building_leader_cannot_move_a_resident_into_another_building(tenant, two_buildings):
    client = login(tenant, "leader-a", "leader-pass")
    with tenant_context(tenant):
        mine = Resident.objects.get(display_name="本樓居民")
    response = client.post(
        f"/admin/community/resident/{mine.pk}/change/",
        {
            "display_name": "本樓居民",
            "phone": "",
            "household": two_buildings["other"].pk,
            "preferred_language": "",
            "tags": [],
            "user": "",
        },
    )
    assert response.status_code == 200  # the form again: that household is not a choice
    with tenant_context(tenant):
        assert Resident.objects.get(pk=mine.pk).household_id == two_buildings["mine"].pk


def test_a_building_leader_cannot_link_a_resident_to_a_sign_in(tenant, two_buildings):
    """Linking gives the sign-in the resident's roles: a leader who could link a sign-in of
    theirs to a district admin living in their building would have a district admin's."""
    with tenant_context(tenant):
        boss = Resident.objects.get(display_name="本樓居民")
        role_assign(resident_id=boss.pk, role="district_admin", scope="tenant")
        sidekick_id = UserFactory(username="sidekick").pk
    client = login(tenant, "leader-a", "leader-pass")
    page = client.get(f"/admin/community/resident/{boss.pk}/change/")
    assert page.status_code == 200
    assert 'name="user"' not in page.content.decode()  # shown read-only
    response = client.post(
        f"/admin/community/resident/{boss.pk}/change/",
        {
            "display_name": "本樓居民",
            "phone": "",
            "household": two_buildings["mine"].pk,
            "preferred_language": "",
            "tags": [],
            "user": sidekick_id,
        },
    )
    assert response.status_code == 302  # saved, without the link
    with tenant_context(tenant):
        assert Resident.objects.get(pk=boss.pk).user_id is None
