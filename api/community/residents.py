"""Residents, and the tags leaders give them. Who sees which residents, and unmasked, is
decided in ``tenants.community.access``; personal data is masked by the response schema."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.community.schemas import (
    ResidentFilter,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentPatch,
    TagPage,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.community import access, selectors, services
from tenants.community.models import Resident

router = Router()


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
    "/tags",
    response={200: TagPage, **READ_ERRORS},
    summary="List the resident tags (party member, elderly living alone...)",
    operation_id="community_tags_list",
)
def tags_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    return page(*paginate(selectors.tag_list(), params))
