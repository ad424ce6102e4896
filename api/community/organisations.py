"""Organisations: partner units, property companies, owners' committees, utilities,
departments, and their members. Everyone sees them (a topic is given to one); their
contact person is masked without ``personal_data:read``; only the district keeps them
and their members (``tenants.community.access``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.community.schemas import (
    MemberIn,
    MemberOut,
    MemberPage,
    OrganisationFilter,
    OrganisationIn,
    OrganisationOut,
    OrganisationPage,
    OrganisationPatch,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.community import access, selectors, services
from tenants.community.models import Organisation, OrganisationMember

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


@router.get(
    "/organisations/{organisation_id}/members",
    response={200: MemberPage, **READ_ERRORS},
    summary="List an organisation's members (the residents who answer for it)",
    operation_id="community_organisation_members_list",
)
def members_list(
    request: HttpRequest, organisation_id: int, params: Query[PageParams]
) -> dict[str, Any]:
    organisation = access.access_organisation(actor=actor(request), organisation_id=organisation_id)
    return page(*paginate(selectors.organisation_members(organisation=organisation), params))


@router.post(
    "/organisations/{organisation_id}/members",
    response={201: MemberOut, **WRITE_ERRORS},
    summary="Add a resident to an organisation's members (the district)",
    operation_id="community_organisation_members_create",
)
def members_create(
    request: HttpRequest, organisation_id: int, body: MemberIn
) -> Status[OrganisationMember]:
    who = actor(request)
    access.access_organisation(actor=who, organisation_id=organisation_id)
    access.may_manage_organisations(who)
    member = services.organisation_member_add(organisation_id=organisation_id, **body.dict())
    return Status(201, member)


@router.delete(
    "/organisations/{organisation_id}/members/{member_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a member from an organisation (the district)",
    operation_id="community_organisation_members_delete",
)
def members_delete(request: HttpRequest, organisation_id: int, member_id: int) -> Status[None]:
    who = actor(request)
    member = access.access_member(actor=who, organisation_id=organisation_id, member_id=member_id)
    access.may_manage_organisations(who)
    services.organisation_member_remove(member=member)
    return Status(204, None)
