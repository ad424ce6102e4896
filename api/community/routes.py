"""Community: places and residents. Personal data is masked unless the key may see it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.auth import KeyAuth
from api.community.schemas import (
    AreaPage,
    BuildingPage,
    EstatePage,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentPatch,
    TerminologyOut,
    UnitPage,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.community import selectors, services
from tenants.community.access import Viewer, access_resident
from tenants.community.models import Building, Household, Resident, Role, Unit
from tenants.community.phones import mask_name, mask_phone

router = Router(auth=KeyAuth("community"), tags=["community"])


def viewer(request: HttpRequest) -> Viewer:
    return Viewer(
        personal_data="personal_data:read" in request.scopes,  # type: ignore[attr-defined]
        acting_resident=request.acting_resident,  # type: ignore[attr-defined]
    )


def resident_out(resident: Resident, who: Viewer) -> dict[str, Any]:
    unmasked = who.sees_personal_data_of(resident)
    household = resident.household
    return {
        "id": resident.pk,
        "display_name": resident.display_name if unmasked else mask_name(resident.display_name),
        "phone": resident.phone if unmasked else mask_phone(resident.phone),
        "household_id": resident.household_id,
        "unit_id": household.unit_id if household else None,
        "building_id": household.unit.building_id if household else None,
        "preferred_language": resident.preferred_language,
        "contact_consent": resident.contact_consent,
        "needs_assistance": resident.needs_assistance,
        "status": resident.status,
        "moved_in_on": resident.moved_in_on,
        "moved_out_on": resident.moved_out_on,
        "tags": [tag.name for tag in resident.tags.all()] if unmasked else None,
        "masked": not unmasked,
    }


@router.get(
    "/residents",
    response={200: ResidentPage, **READ_ERRORS},
    summary="List residents",
    operation_id="community_residents_list",
)
def residents_list(
    request: HttpRequest,
    params: Query[PageParams],
    estate_id: int | None = None,
    building_id: int | None = None,
    unit_id: int | None = None,
    household_id: int | None = None,
    area_id: int | None = None,
    role: Role | None = None,
    status: Resident.Status | None = None,
) -> dict[str, Any]:
    who = viewer(request)
    residents = selectors.resident_list(
        viewer=who,
        estate_id=estate_id,
        building_id=building_id,
        unit_id=unit_id,
        household_id=household_id,
        area_id=area_id,
        role=role,
        status=status,
    )
    rows, next_cursor = paginate(residents, params)
    return page([resident_out(r, who) for r in rows], next_cursor)


@router.get(
    "/residents/{resident_id}",
    response={200: ResidentOut, **READ_ERRORS},
    summary="Get a resident",
    operation_id="community_residents_get",
)
def residents_get(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    who = viewer(request)
    return resident_out(access_resident(viewer=who, resident_id=resident_id), who)


@router.post(
    "/residents",
    response={201: ResidentOut, **WRITE_ERRORS},
    summary="Register a resident",
    operation_id="community_residents_create",
)
def residents_create(request: HttpRequest, body: ResidentIn) -> Status[dict[str, Any]]:
    resident = services.resident_create(**body.dict())
    who = viewer(request)
    created = access_resident(viewer=Viewer(personal_data=True), resident_id=resident.pk)
    return Status(201, resident_out(created, who))


@router.patch(
    "/residents/{resident_id}",
    response={200: ResidentOut, **WRITE_ERRORS},
    summary="Change a resident",
    operation_id="community_residents_update",
)
def residents_update(request: HttpRequest, resident_id: int, body: ResidentPatch) -> dict[str, Any]:
    who = viewer(request)
    access_resident(viewer=who, resident_id=resident_id)
    services.resident_update(resident_id=resident_id, **body.dict(exclude_unset=True))
    return resident_out(access_resident(viewer=who, resident_id=resident_id), who)


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
    items = [
        {
            "id": e.pk,
            "name": e.name,
            "address": e.address,
            "area_id": e.area_id,
            "latitude": float(e.latitude) if e.latitude is not None else None,
            "longitude": float(e.longitude) if e.longitude is not None else None,
        }
        for e in rows
    ]
    return page(items, next_cursor)


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
    items = [
        {
            "id": a.pk,
            "name": a.name,
            "level": a.level.name,
            "depth": a.level.depth,
            "parent_id": a.parent_id,
            "code": a.code,
        }
        for a in rows
    ]
    return page(items, next_cursor)


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
    return page([{"id": b.pk, "estate_id": b.estate_id, "name": b.name} for b in rows], next_cursor)


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
    return page(
        [{"id": u.pk, "building_id": u.building_id, "name": u.name} for u in rows], next_cursor
    )


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
    items = [{"id": h.pk, "unit_id": h.unit_id, "flat_number": h.flat_number} for h in rows]
    return page(items, next_cursor)


@router.post(
    "/households",
    response={201: HouseholdOut, **WRITE_ERRORS},
    summary="Add a household (a flat in a unit)",
    operation_id="community_households_create",
)
def households_create(request: HttpRequest, body: HouseholdIn) -> Status[dict[str, Any]]:
    household = services.household_create(**body.dict())
    return Status(
        201,
        {"id": household.pk, "unit_id": household.unit_id, "flat_number": household.flat_number},
    )
