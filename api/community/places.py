"""The tenant's places: areas, estates, buildings, units and households (flats), and the
tenant's own words. Everyone sees places; the district sets them up, and a leader adds and
renames places inside those they lead (``tenants.community.access``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.community.schemas import (
    AreaIn,
    AreaLevelIn,
    AreaLevelOut,
    AreaLevelPage,
    AreaOut,
    AreaPage,
    BuildingIn,
    BuildingOut,
    BuildingPage,
    EstateIn,
    EstateOut,
    EstatePage,
    EstatePatch,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    HouseholdPatch,
    PlaceRename,
    TerminologyOut,
    UnitIn,
    UnitOut,
    UnitPage,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.community import access, selectors, services
from tenants.community.models import Area, AreaLevel, Building, Estate, Household, Unit
from tenants.community.places import (
    area_create,
    area_level_create,
    building_create,
    estate_create,
    unit_create,
)

router = Router()


@router.get(
    "/areas",
    response={200: AreaPage, **READ_ERRORS},
    summary="List areas (streets, communities, grids...)",
    operation_id="community_areas_list",
)
def areas_list(
    request: HttpRequest, params: Query[PageParams], parent_id: int | None = None
) -> dict[str, Any]:
    rows, next_cursor = paginate(selectors.area_list(parent_id=parent_id), params)
    return page(rows, next_cursor)


@router.post(
    "/areas",
    response={201: AreaOut, **WRITE_ERRORS},
    summary="Add an area one level below its parent (the district)",
    operation_id="community_areas_create",
)
def areas_create(request: HttpRequest, body: AreaIn) -> Status[Area]:
    access.may_define_areas(actor(request))
    return Status(201, area_create(**body.dict()))


@router.get(
    "/area-levels",
    response={200: AreaLevelPage, **READ_ERRORS},
    summary="List the levels of the tenant's areas (street, community, grid...)",
    operation_id="community_area_levels_list",
)
def area_levels_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    return page(*paginate(selectors.area_level_list(), params))


@router.post(
    "/area-levels",
    response={201: AreaLevelOut, **WRITE_ERRORS},
    summary="Add a level of areas (the district)",
    operation_id="community_area_levels_create",
)
def area_levels_create(request: HttpRequest, body: AreaLevelIn) -> Status[AreaLevel]:
    access.may_define_areas(actor(request))
    return Status(201, area_level_create(**body.dict()))


@router.get(
    "/terminology",
    response={200: TerminologyOut, **READ_ERRORS},
    summary="The tenant's words for what residents see, per language",
    operation_id="community_terminology_get",
)
def terminology_get(request: HttpRequest) -> dict[str, Any]:
    return {"labels": selectors.terminology()}


# --- estates -------------------------------------------------------------------------------


@router.get(
    "/estates",
    response={200: EstatePage, **READ_ERRORS},
    summary="List estates",
    operation_id="community_estates_list",
)
def estates_list(
    request: HttpRequest, params: Query[PageParams], area_id: int | None = None
) -> dict[str, Any]:
    rows, next_cursor = paginate(selectors.estate_list(area_id=area_id), params)
    return page(rows, next_cursor)


@router.get(
    "/estates/{estate_id}",
    response={200: EstateOut, **READ_ERRORS},
    summary="Get an estate",
    operation_id="community_estates_get",
)
def estates_get(request: HttpRequest, estate_id: int) -> Estate:
    return access.access_estate(actor=actor(request), estate_id=estate_id)


@router.post(
    "/estates",
    response={201: EstateOut, **WRITE_ERRORS},
    summary="Add an estate (in an area of the lowest level, when areas exist)",
    operation_id="community_estates_create",
)
def estates_create(request: HttpRequest, body: EstateIn) -> Status[Estate]:
    access.may_add_estate(actor(request), area_id=body.area_id)
    return Status(201, estate_create(**body.dict()))


@router.patch(
    "/estates/{estate_id}",
    response={200: EstateOut, **WRITE_ERRORS},
    summary="Change an estate: name, address, area, coordinates",
    operation_id="community_estates_update",
)
def estates_update(request: HttpRequest, estate_id: int, body: EstatePatch) -> Estate:
    who, changes = actor(request), body.dict(exclude_unset=True)
    access.may_change_estate(who, access.access_estate(actor=who, estate_id=estate_id), changes)
    return services.estate_update(estate_id=estate_id, **changes)


# --- buildings -----------------------------------------------------------------------------


@router.get(
    "/buildings",
    response={200: BuildingPage, **READ_ERRORS},
    summary="List buildings",
    operation_id="community_buildings_list",
)
def buildings_list(
    request: HttpRequest, params: Query[PageParams], estate_id: int | None = None
) -> dict[str, Any]:
    rows, next_cursor = paginate(selectors.place_list(Building, estate_id=estate_id), params)
    return page(rows, next_cursor)


@router.get(
    "/buildings/{building_id}",
    response={200: BuildingOut, **READ_ERRORS},
    summary="Get a building",
    operation_id="community_buildings_get",
)
def buildings_get(request: HttpRequest, building_id: int) -> Building:
    return access.access_building(actor=actor(request), building_id=building_id)


@router.post(
    "/buildings",
    response={201: BuildingOut, **WRITE_ERRORS},
    summary="Add a building to an estate",
    operation_id="community_buildings_create",
)
def buildings_create(request: HttpRequest, body: BuildingIn) -> Status[Building]:
    access.may_add_building(actor(request), estate_id=body.estate_id)
    return Status(201, building_create(**body.dict()))


@router.patch(
    "/buildings/{building_id}",
    response={200: BuildingOut, **WRITE_ERRORS},
    summary="Rename a building",
    operation_id="community_buildings_update",
)
def buildings_update(request: HttpRequest, building_id: int, body: PlaceRename) -> Building:
    who = actor(request)
    access.may_change_building(who, access.access_building(actor=who, building_id=building_id))
    return services.building_update(building_id=building_id, name=body.name)


# --- units ---------------------------------------------------------------------------------


@router.get(
    "/units",
    response={200: UnitPage, **READ_ERRORS},
    summary="List units",
    operation_id="community_units_list",
)
def units_list(
    request: HttpRequest, params: Query[PageParams], building_id: int | None = None
) -> dict[str, Any]:
    rows, next_cursor = paginate(selectors.place_list(Unit, building_id=building_id), params)
    return page(rows, next_cursor)


@router.get(
    "/units/{unit_id}",
    response={200: UnitOut, **READ_ERRORS},
    summary="Get a unit",
    operation_id="community_units_get",
)
def units_get(request: HttpRequest, unit_id: int) -> Unit:
    return access.access_unit(actor=actor(request), unit_id=unit_id)


@router.post(
    "/units",
    response={201: UnitOut, **WRITE_ERRORS},
    summary="Add a unit (a stairwell) to a building",
    operation_id="community_units_create",
)
def units_create(request: HttpRequest, body: UnitIn) -> Status[Unit]:
    access.may_add_unit(actor(request), building_id=body.building_id)
    return Status(201, unit_create(**body.dict()))


@router.patch(
    "/units/{unit_id}",
    response={200: UnitOut, **WRITE_ERRORS},
    summary="Rename a unit",
    operation_id="community_units_update",
)
def units_update(request: HttpRequest, unit_id: int, body: PlaceRename) -> Unit:
    who = actor(request)
    access.may_change_unit(who, access.access_unit(actor=who, unit_id=unit_id))
    return services.unit_update(unit_id=unit_id, name=body.name)


# --- households ----------------------------------------------------------------------------


@router.get(
    "/households",
    response={200: HouseholdPage, **READ_ERRORS},
    summary="List households",
    operation_id="community_households_list",
)
def households_list(
    request: HttpRequest, params: Query[PageParams], unit_id: int | None = None
) -> dict[str, Any]:
    rows, next_cursor = paginate(selectors.place_list(Household, unit_id=unit_id), params)
    return page(rows, next_cursor)


@router.get(
    "/households/{household_id}",
    response={200: HouseholdOut, **READ_ERRORS},
    summary="Get a household",
    operation_id="community_households_get",
)
def households_get(request: HttpRequest, household_id: int) -> Household:
    return access.access_household(actor(request), household_id)


@router.post(
    "/households",
    response={201: HouseholdOut, **WRITE_ERRORS},
    summary="Add a household (a flat in a unit)",
    operation_id="community_households_create",
)
def households_create(request: HttpRequest, body: HouseholdIn) -> Status[Household]:
    access.may_add_household(actor(request), unit_id=body.unit_id)
    return Status(201, services.household_create(**body.dict()))


@router.patch(
    "/households/{household_id}",
    response={200: HouseholdOut, **WRITE_ERRORS},
    summary="Renumber a household's flat",
    operation_id="community_households_update",
)
def households_update(request: HttpRequest, household_id: int, body: HouseholdPatch) -> Household:
    who = actor(request)
    flat = access.access_household(who, household_id)
    access.may_change_household(who, flat)
    return services.household_update(household=flat, flat_number=body.flat_number)
