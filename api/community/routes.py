"""Community: places and residents. Who sees which residents, and unmasked, is decided in
``tenants.community.access``; personal data is masked by the response schema."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.auth import KeyAuth
from api.community.schemas import (
    AreaPage,
    BuildingPage,
    EstatePage,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    ResidentFilter,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentPatch,
    TerminologyOut,
    UnitPage,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.community import access, selectors, services
from tenants.community.models import Building, Household, Resident, Unit

router = Router(auth=KeyAuth("community"), tags=["community"])


@router.get(
    "/residents",
    response={200: ResidentPage, **READ_ERRORS},
    summary="List residents",
    operation_id="community_residents_list",
)
def residents_list(
    request: HttpRequest, params: Query[PageParams], filters: Query[ResidentFilter]
) -> dict[str, Any]:
    residents = selectors.resident_list(actor=actor(request), **filters.dict())
    rows, next_cursor = paginate(residents, params)
    return page(rows, next_cursor)


@router.get(
    "/residents/{resident_id}",
    response={200: ResidentOut, **READ_ERRORS},
    summary="Get a resident",
    operation_id="community_residents_get",
)
def residents_get(request: HttpRequest, resident_id: int) -> Resident:
    return access.access_resident(actor=actor(request), resident_id=resident_id)


@router.post(
    "/residents",
    response={201: ResidentOut, **WRITE_ERRORS},
    summary="Register a resident",
    operation_id="community_residents_create",
)
def residents_create(request: HttpRequest, body: ResidentIn) -> Status[Resident]:
    who = actor(request)
    access.may_register_resident(who, body.household_id)
    created = services.resident_create(**body.dict())
    return Status(201, access.access_resident(actor=who, resident_id=created.pk))


@router.patch(
    "/residents/{resident_id}",
    response={200: ResidentOut, **WRITE_ERRORS},
    summary="Change a resident",
    operation_id="community_residents_update",
)
def residents_update(request: HttpRequest, resident_id: int, body: ResidentPatch) -> Resident:
    who, changes = actor(request), body.dict(exclude_unset=True)
    access.may_change_resident(
        who, access.access_resident(actor=who, resident_id=resident_id), changes
    )
    services.resident_update(resident_id=resident_id, **changes)
    return access.access_resident(actor=who, resident_id=resident_id)


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


@router.get(
    "/terminology",
    response={200: TerminologyOut, **READ_ERRORS},
    summary="The tenant's words for what residents see, per language",
    operation_id="community_terminology_get",
)
def terminology_get(request: HttpRequest) -> dict[str, Any]:
    return {"labels": selectors.terminology()}


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


@router.post(
    "/households",
    response={201: HouseholdOut, **WRITE_ERRORS},
    summary="Add a household (a flat in a unit)",
    operation_id="community_households_create",
)
def households_create(request: HttpRequest, body: HouseholdIn) -> Status[Household]:
    access.may_add_household(actor(request), unit_id=body.unit_id)
    return Status(201, services.household_create(**body.dict()))
