"""Organisations: partner units, property companies, owners' committees, utilities,
departments. Everyone sees them (a topic is given to one); their contact person is masked
without ``personal_data:read``; only the district keeps them (``tenants.community.access``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.community.schemas import (
    OrganisationFilter,
    OrganisationIn,
    OrganisationOut,
    OrganisationPage,
    OrganisationPatch,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.community import access, selectors, services
from tenants.community.models import Organisation

router = Router()


@router.get(
    "/organisations",
    response={200: OrganisationPage, **READ_ERRORS},
    summary="List organisations (by kind, by a part of the name, active or not)",
    operation_id="community_organisations_list",
)
def organisations_list(
    request: HttpRequest, params: Query[PageParams], filters: Query[OrganisationFilter]
) -> dict[str, Any]:
    return page(*paginate(selectors.organisation_list(**filters.dict()), params))


@router.get(
    "/organisations/{organisation_id}",
    response={200: OrganisationOut, **READ_ERRORS},
    summary="Get an organisation",
    operation_id="community_organisations_get",
)
def organisations_get(request: HttpRequest, organisation_id: int) -> Organisation:
    return access.access_organisation(actor=actor(request), organisation_id=organisation_id)


@router.post(
    "/organisations",
    response={201: OrganisationOut, **WRITE_ERRORS},
    summary="Add an organisation (the district)",
    operation_id="community_organisations_create",
)
def organisations_create(request: HttpRequest, body: OrganisationIn) -> Status[Organisation]:
    access.may_manage_organisations(actor(request))
    return Status(201, services.organisation_create(**body.dict()))


@router.patch(
    "/organisations/{organisation_id}",
    response={200: OrganisationOut, **WRITE_ERRORS},
    summary="Change an organisation, or make it inactive (the district)",
    operation_id="community_organisations_update",
)
def organisations_update(
    request: HttpRequest, organisation_id: int, body: OrganisationPatch
) -> Organisation:
    who = actor(request)
    access.access_organisation(actor=who, organisation_id=organisation_id)
    access.may_manage_organisations(who)
    return services.organisation_update(
        organisation_id=organisation_id, **body.dict(exclude_unset=True)
    )
