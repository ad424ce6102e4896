"""Leader outreach: contacts logged per household, coverage per building.

Who sees and does what is ``tenants.deliberation.access``'s.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from api.acting import actor
from api.deliberation.schemas import ContactIn, ContactOut, CoverageOut
from api.errors import READ_ERRORS, WRITE_ERRORS
from tenants.deliberation import access, outreach
from tenants.deliberation.models import Contact
from tenants.deliberation.outreach import Coverage

router = Router()


@router.post(
    "/contacts",
    response={201: ContactOut, **WRITE_ERRORS},
    summary="Log a greeting, meeting or home visit",
    operation_id="deliberation_contacts_create",
)
def contacts_create(request: HttpRequest, body: ContactIn) -> Status[Contact]:
    leader = access.named(actor(request), body.leader_id, field="leader_id")
    access.may_log_contact(leader, body.household_id)
    contact = outreach.contact_log(
        **body.dict(exclude={"leader_id"}), leader_id=access.person_id(leader)
    )
    return Status(201, contact)


@router.get(
    "/coverage",
    response={200: list[CoverageOut], **READ_ERRORS},
    summary="Outreach coverage per building against the tenant's targets",
    operation_id="deliberation_coverage_get",
)
def coverage_get(request: HttpRequest, estate_id: int | None = None) -> list[Coverage]:
    households = access.coverage_households(actor(request))
    return outreach.coverage(estate_id=estate_id, households=households)
