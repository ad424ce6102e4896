"""Proof of service (scans, a photo), disputes of automatic confirmations, hours in bulk."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from ninja import File, Form, Router
from ninja.files import UploadedFile

from api.acting import actor
from api.errors import WRITE_ERRORS
from api.helpteam.schemas import (
    DisputeIn,
    DisputeResolveIn,
    HelpRequestOut,
    HoursBulkIn,
    TokenIn,
)
from tenants.helpteam import access, services
from tenants.helpteam.models import HelpRequest

router = Router()


@router.post(
    "/requests/{request_id}/check-in",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Scan the request's code on arrival",
    operation_id="helpteam_check_in",
)
def requests_check_in(request: HttpRequest, request_id: int, body: TokenIn) -> HelpRequest:
    return _scan(request, request_id, body, services.request_check_in)


@router.post(
    "/requests/{request_id}/check-out",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Scan the request's code when leaving",
    operation_id="helpteam_check_out",
)
def requests_check_out(request: HttpRequest, request_id: int, body: TokenIn) -> HelpRequest:
    return _scan(request, request_id, body, services.request_check_out)


def _scan(
    request: HttpRequest, request_id: int, body: TokenIn, step: Callable[..., HelpRequest]
) -> HelpRequest:
    """The volunteer scanned the request's code (on arrival or when leaving)."""
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    volunteer = access.named_resident_id(
        caller, body.volunteer_resident_id, field="volunteer_resident_id"
    )
    return step(request_id=request_id, volunteer_resident_id=volunteer, token=body.token)


@router.post(
    "/requests/{request_id}/evidence",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Add a photo of the work (JPEG or PNG, 5 MB)",
    operation_id="helpteam_evidence_add",
)
def requests_evidence(
    request: HttpRequest,
    request_id: int,
    photo: File[UploadedFile],
    volunteer_resident_id: Form[int | None] = None,
) -> HelpRequest:
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    volunteer = access.named_resident_id(
        caller, volunteer_resident_id, field="volunteer_resident_id"
    )
    return services.request_evidence_add(
        request_id=request_id,
        volunteer_resident_id=volunteer,
        content=photo.read(services.MAX_EVIDENCE + 1),
    )


@router.post(
    "/requests/{request_id}/dispute",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Dispute an automatic confirmation",
    operation_id="helpteam_dispute",
)
def requests_dispute(request: HttpRequest, request_id: int, body: DisputeIn) -> HelpRequest:
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    return services.request_dispute(request_id=request_id, actor=caller, reason=body.reason)


@router.post(
    "/requests/{request_id}/dispute/resolve",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="A leader resolves a dispute (upheld: points reversed)",
    operation_id="helpteam_dispute_resolve",
)
def requests_dispute_resolve(
    request: HttpRequest, request_id: int, body: DisputeResolveIn
) -> HelpRequest:
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    return services.request_dispute_resolve(request_id=request_id, actor=caller, upheld=body.upheld)


@router.post(
    "/hours",
    response={200: list[HelpRequestOut], **WRITE_ERRORS},
    summary="Leaders enter hours in bulk (volunteers without phones)",
    operation_id="helpteam_hours_bulk",
)
def hours_bulk(request: HttpRequest, body: HoursBulkIn) -> list[HelpRequest]:
    return services.hours_record_bulk(
        actor=actor(request), entries=[(e.request_id, e.hours) for e in body.entries]
    )
