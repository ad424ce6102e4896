"""Help requests: ask, list, claim and do the work, confirm or cancel, feedback, whom to ask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.helpteam.schemas import (
    CancelIn,
    ConfirmIn,
    DoneIn,
    FeedbackIn,
    HelpCategoryOut,
    HelpRequestIn,
    HelpRequestOut,
    HelpRequestPage,
    VolunteerActionIn,
    VolunteerSuggestionOut,
)
from api.pagination import PageParams, page, paginate
from tenants.helpteam import access, selectors, services
from tenants.helpteam.matching import Suggestion, suggestions
from tenants.helpteam.models import HelpRequest

router = Router()


@router.get(
    "/categories",
    response={200: list[HelpCategoryOut], **READ_ERRORS},
    summary="The kinds of help one may ask for, labelled in the request's language",
    operation_id="helpteam_categories_list",
)
def categories_list(request: HttpRequest) -> list[selectors.HelpCategory]:
    return selectors.help_categories(access.categories_visible(actor(request)))


@router.get(
    "/requests",
    response={200: HelpRequestPage, **READ_ERRORS},
    summary="List help requests",
    operation_id="helpteam_requests_list",
)
def requests_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: HelpRequest.Status | None = None,
    estate_id: int | None = None,
    building_id: int | None = None,
) -> dict[str, Any]:
    requests = selectors.help_requests_filtered(
        access.help_requests_visible(actor(request)),
        status=status,
        estate_id=estate_id,
        building_id=building_id,
    )
    rows, next_cursor = paginate(requests, params)
    return page(rows, next_cursor)


@router.post(
    "/requests",
    response={201: HelpRequestOut, **WRITE_ERRORS},
    summary="Ask for help",
    operation_id="helpteam_requests_create",
)
def requests_create(request: HttpRequest, body: HelpRequestIn) -> Status[HelpRequest]:
    asking = access.may_ask(actor(request), body.requester_id, body.raised_by_id, body.household_id)
    created = services.request_create(
        **asdict(asking),
        category=body.category,
        description=body.description,
        window_start=body.window_start,
        window_end=body.window_end,
        place=body.place,
        urgency=body.urgency,
    )
    return Status(201, created)


@router.get(
    "/requests/{request_id}",
    response={200: HelpRequestOut, **READ_ERRORS},
    summary="A help request",
    operation_id="helpteam_requests_get",
)
def requests_get(request: HttpRequest, request_id: int) -> HelpRequest:
    return access.access_help_request(actor=actor(request), help_request_id=request_id)


def _volunteer_step(step: Callable[..., HelpRequest], *, claim: bool) -> Callable[..., Any]:
    """A volunteer's step, for the volunteer the caller is (or, the district's tool, names).
    A claim looks the request up as a claim does, so a claimed one answers 409."""
    lookup = access.access_help_request_to_claim if claim else access.access_help_request

    def handler(request: HttpRequest, request_id: int, body: VolunteerActionIn) -> HelpRequest:
        caller = actor(request)
        lookup(actor=caller, help_request_id=request_id)
        volunteer = access.named_resident_id(
            caller, body.volunteer_resident_id, field="volunteer_resident_id"
        )
        return step(request_id=request_id, volunteer_resident_id=volunteer)

    return handler


for _path, _step, _summary in [
    ("claim", services.request_claim, "Claim a request (one volunteer wins)"),
    ("start", services.request_start, "Start the claimed work"),
]:
    router.add_api_operation(
        f"/requests/{{request_id}}/{_path}",
        ["POST"],
        _volunteer_step(_step, claim=_path == "claim"),
        response={200: HelpRequestOut, **WRITE_ERRORS},
        summary=_summary,
        operation_id=f"helpteam_requests_{_path}",
    )


@router.post(
    "/requests/{request_id}/done",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Mark the work done (no earlier than its window, unless a leader says why)",
    operation_id="helpteam_requests_done",
)
def requests_done(request: HttpRequest, request_id: int, body: DoneIn) -> HelpRequest:
    """The claimer's step, as ``_volunteer_step``; an ``early_reason`` is judged by the
    caller's standing (a leader of the place or the district's tool), not the volunteer's."""
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    volunteer = access.named_resident_id(
        caller, body.volunteer_resident_id, field="volunteer_resident_id"
    )
    return services.request_done(
        request_id=request_id,
        volunteer_resident_id=volunteer,
        actor=caller,
        early_reason=body.early_reason,
    )


@router.post(
    "/requests/{request_id}/confirm",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Confirm the help given; the volunteer earns points once",
    operation_id="helpteam_requests_confirm",
)
def requests_confirm(request: HttpRequest, request_id: int, body: ConfirmIn) -> HelpRequest:
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    return services.request_confirm(request_id=request_id, hours=body.hours, actor=caller)


@router.post(
    "/requests/{request_id}/cancel",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="Cancel a request",
    operation_id="helpteam_requests_cancel",
)
def requests_cancel(request: HttpRequest, request_id: int, body: CancelIn) -> HelpRequest:
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    return services.request_cancel(request_id=request_id, actor=caller, reason=body.reason)


@router.post(
    "/requests/{request_id}/feedback",
    response={200: HelpRequestOut, **WRITE_ERRORS},
    summary="The requester's rating and comment",
    operation_id="helpteam_requests_feedback",
)
def requests_feedback(request: HttpRequest, request_id: int, body: FeedbackIn) -> HelpRequest:
    caller = actor(request)
    access.access_help_request(actor=caller, help_request_id=request_id)
    return services.request_feedback(
        request_id=request_id, actor=caller, rating=body.rating, comment=body.comment
    )


@router.get(
    "/requests/{request_id}/suggestions",
    response={200: list[VolunteerSuggestionOut], **READ_ERRORS},
    summary="Volunteers to ask, best first, with reasons",
    operation_id="helpteam_requests_suggestions",
)
def requests_suggestions(request: HttpRequest, request_id: int) -> list[Suggestion]:
    caller = actor(request)
    help_request = access.access_help_request(actor=caller, help_request_id=request_id)
    access.may_suggest(caller, help_request)
    return suggestions(help_request=help_request)
