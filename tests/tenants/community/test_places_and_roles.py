from __future__ import annotations

from datetime import date

import pytest

from linli.errors import Conflict, NotFound, ValidationFailed
from tenants.community.models import Area
from tenants.community.places import area_create, area_level_create, estate_create
from tenants.community.roles import role_assign, role_end, staff_scope
from tests.factories import BuildingFactory, EstateFactory, ResidentFactory, UnitFactory


@pytest.fixture
def hierarchy(in_tenant):
    street = area_level_create(depth=1, name="街道")
    community = area_level_create(depth=2, name="社區")
    grid = area_level_create(depth=3, name="網格")
    s = area_create(name="岑城街道", level_id=street.pk)
    c = area_create(name="第一社區", level_id=community.pk, parent_id=s.pk)
    g = area_create(name="第一網格", level_id=grid.pk, parent_id=c.pk)
    return {"levels": (street, community, grid), "street": s, "community": c, "grid": g}


def test_areas_nest_level_by_level_with_a_path(hierarchy):
    s, c, g = hierarchy["street"], hierarchy["community"], hierarchy["grid"]
    assert g.path == f"/{s.pk}/{c.pk}/{g.pk}/"
    assert list(Area.objects.filter(path__startswith=s.path).order_by("path")) == [s, c, g]


def test_an_area_must_sit_directly_under_the_level_above(hierarchy):
    _street, _community, grid = hierarchy["levels"]
    with pytest.raises(ValidationFailed) as err:
        area_create(name="跳級網格", level_id=grid.pk, parent_id=hierarchy["street"].pk)
    assert err.value.code == "area_level_mismatch"
    with pytest.raises(ValidationFailed) as err:
        area_create(name="孤兒網格", level_id=grid.pk)
    assert err.value.code == "parent_required"
    with pytest.raises(Conflict):
        area_create(name="第一網格", level_id=grid.pk, parent_id=hierarchy["community"].pk)


def test_estates_attach_to_the_lowest_level_only(hierarchy):
    estate = estate_create(name="學府一號", area_id=hierarchy["grid"].pk)
    assert estate.area == hierarchy["grid"]
    with pytest.raises(ValidationFailed) as err:
        estate_create(name="萬象公館", area_id=hierarchy["community"].pk)
    assert err.value.code == "area_not_lowest"


def test_estate_coordinates_come_in_pairs_and_in_range(in_tenant):
    from decimal import Decimal

    with pytest.raises(ValidationFailed) as err:
        estate_create(name="甲", latitude=Decimal("22.9"))
    assert err.value.code == "coordinates_incomplete"
    with pytest.raises(ValidationFailed) as err:
        estate_create(name="乙", latitude=Decimal("95"), longitude=Decimal("110"))
    assert err.value.code == "coordinates_invalid"


def test_a_role_fits_its_scope(in_tenant):
    resident = ResidentFactory()
    unit = UnitFactory()
    with pytest.raises(ValidationFailed) as err:
        role_assign(resident_id=resident.pk, role="building_leader", scope="unit", place_id=unit.pk)
    assert err.value.code == "role_scope_invalid"
    with pytest.raises(ValidationFailed) as err:
        role_assign(resident_id=resident.pk, role="unit_leader", scope="unit", place_id=999999)
    assert err.value.code == "place_not_found"
    with pytest.raises(NotFound):
        role_assign(resident_id=999999, role="volunteer", scope="tenant")


def test_a_role_scoped_to_a_place_in_another_estate_is_refused(in_tenant):
    resident = ResidentFactory()
    here, elsewhere = EstateFactory(), BuildingFactory()
    with pytest.raises(ValidationFailed) as err:
        role_assign(
            resident_id=resident.pk,
            role="building_leader",
            scope="building",
            place_id=elsewhere.pk,
            estate_id=here.pk,
        )
    assert err.value.code == "place_not_in_estate"


def test_a_role_cannot_end_before_it_starts(in_tenant):
    resident = ResidentFactory()
    with pytest.raises(ValidationFailed) as err:
        role_assign(
            resident_id=resident.pk,
            role="volunteer",
            scope="tenant",
            starts_on=date(2024, 5, 1),
            ends_on=date(2024, 4, 1),
        )
    assert err.value.code == "dates_invalid"


def test_staff_scope_follows_active_roles(in_tenant):
    from tests.factories import UserFactory

    user = UserFactory()
    leader = ResidentFactory(user=user)
    building = BuildingFactory()
    assignment = role_assign(
        resident_id=leader.pk,
        role="building_leader",
        scope="building",
        place_id=building.pk,
        starts_on=date(2020, 1, 1),
    )
    scope = staff_scope(user)
    assert (scope.building_ids, scope.personal_data, scope.everything) == (
        frozenset({building.pk}),
        True,
        False,
    )
    role_end(assignment_id=assignment.pk, on=date(2020, 6, 1))
    assert staff_scope(user).anything is False
