"""The Actor each channel builds: who is calling, and the places they lead."""

from __future__ import annotations

from tenants.community.actor import Kind, actor_for_key, actor_for_resident, actor_for_user
from tenants.community.roles import role_assign
from tests.factories import HouseholdFactory, ResidentFactory, UserFactory


def test_a_key_acting_for_nobody_is_the_districts_tool(in_tenant):
    actor = actor_for_key(key_id=7, personal_data=False, acting=None)
    assert (actor.kind, actor.is_district, actor.is_person, actor.key_id) == (
        Kind.DISTRICT,
        True,
        False,
        7,
    )
    assert actor.leads_household(HouseholdFactory().pk) is True
    assert actor.personal_data is False


def test_a_resident_leads_only_the_places_of_their_roles(in_tenant):
    leader = ResidentFactory()
    building = leader.household.unit.building
    role_assign(
        resident_id=leader.pk, role="building_leader", scope="building", place_id=building.pk
    )
    same_building = HouseholdFactory(unit__building=building)
    elsewhere = HouseholdFactory()
    actor = actor_for_key(key_id=1, personal_data=False, acting=leader)
    assert (actor.kind, actor.is_district, actor.resident_id) == (Kind.RESIDENT, False, leader.pk)
    assert actor.leads_household(same_building.pk) is True
    assert actor.leads_household(elsewhere.pk) is False
    assert actor.leads_in_estate(building.estate_id) is True
    assert actor.leads_estate(building.estate_id) is False  # a building is not the estate
    assert actor.leads_in_estate(elsewhere.unit.building.estate_id) is False


def test_a_resident_who_leads_nothing_leads_nothing(in_tenant):
    actor = actor_for_resident(ResidentFactory())
    assert actor.leads_anything is False
    assert actor.leads_household(HouseholdFactory().pk) is False
    assert not actor.households_led().exists()


def test_a_named_person_is_judged_as_themself(in_tenant):
    tool = actor_for_key(key_id=1, personal_data=True, acting=None)
    named_resident = ResidentFactory()
    named = tool.as_named(named_resident.pk)
    assert named is not None
    assert (named.kind, named.resident_id, named.is_district) == (
        Kind.RESIDENT,
        named_resident.pk,
        False,
    )
    assert tool.as_named(10**12) is None
    me = actor_for_resident(named_resident)
    assert me.as_named(named_resident.pk) is me


def test_the_admin_user_is_the_district_staff_or_nobody(in_tenant):
    boss = UserFactory(is_superuser=True)
    assert actor_for_user(boss).kind == Kind.DISTRICT
    leader_user = UserFactory()
    leader = ResidentFactory(user=leader_user)
    role_assign(
        resident_id=leader.pk, role="unit_leader", scope="unit", place_id=leader.household.unit_id
    )
    staff = actor_for_user(leader_user)
    assert (staff.kind, staff.resident_id, staff.personal_data) == (Kind.STAFF, leader.pk, True)
    assert staff.leads_household(leader.household_id) is True
    nobody = actor_for_user(UserFactory())
    assert (nobody.kind, nobody.leads_anything) == (Kind.STAFF, False)
