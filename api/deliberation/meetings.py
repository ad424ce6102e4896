"""Council meetings: scheduled by a leader of the place, attended and voted on by residents.

Who sees and does what is ``tenants.deliberation.access``'s.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from api.acting import actor
from api.deliberation.schemas import (
    ActionItemIn,
    ActionItemOut,
    ActionItemPage,
    ActionItemPatch,
    DecideIn,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    ResidentRefIn,
    VoteIn,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.types import Day
from tenants.deliberation import access, council, selectors
from tenants.deliberation.models import ActionItem, Meeting
from tenants.deliberation.selectors import MeetingView

router = Router()


@router.get(
    "/meetings",
    response={200: MeetingPage, **READ_ERRORS},
    summary="List council meetings (by status, estate, days of the start)",
    operation_id="deliberation_meetings_list",
)
def meetings_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Meeting.Status | None = None,
    estate_id: int | None = None,
    since: Day | None = None,
    until: Day | None = None,
) -> dict[str, Any]:
    meetings = selectors.meetings_list(
        access.meetings_visible(actor(request)),
        status=status,
        estate_id=estate_id,
        since=since,
        until=until,
    )
    return page(*paginate(meetings, params))


@router.post(
    "/meetings",
    response={201: MeetingOut, **WRITE_ERRORS},
    summary="Schedule a council meeting with its agenda",
    operation_id="deliberation_meetings_create",
)
def meetings_create(request: HttpRequest, body: MeetingIn) -> Status[MeetingView]:
    convener = access.named(actor(request), body.convener_id, field="convener_id")
    access.may_convene(
        convener, estate_id=body.estate_id, building_id=body.building_id, topic_ids=body.topic_ids
    )
    meeting = council.meeting_schedule(
        **body.dict(exclude={"convener_id"}), convener_id=access.person_id(convener)
    )
    return Status(201, selectors.meeting_detail(meeting_id=meeting.pk))


@router.get(
    "/meetings/{meeting_id}",
    response={200: MeetingOut, **READ_ERRORS},
    summary="A meeting: quorum and agenda with votes",
    operation_id="deliberation_meetings_get",
)
def meetings_get(request: HttpRequest, meeting_id: int) -> MeetingView:
    meeting = access.access_meeting(actor=actor(request), meeting_id=meeting_id)
    return selectors.meeting_detail(meeting_id=meeting.pk)


@router.post(
    "/meetings/{meeting_id}/attendance",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Check in at the meeting",
    operation_id="deliberation_attendance_create",
)
def attendance_create(request: HttpRequest, meeting_id: int, body: ResidentRefIn) -> MeetingView:
    meeting = access.access_meeting(actor=actor(request), meeting_id=meeting_id)
    attendee = access.named(actor(request), body.resident_id, field="resident_id")
    access.may_check_in(attendee, meeting)
    council.meeting_check_in(meeting_id=meeting.pk, resident_id=access.person_id(attendee))
    return selectors.meeting_detail(meeting_id=meeting.pk)


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/open",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Open the vote on an agenda item",
    operation_id="deliberation_vote_open",
)
def vote_open(request: HttpRequest, meeting_id: int, item_id: int) -> MeetingView:
    item = access.access_agenda_item(actor=actor(request), meeting_id=meeting_id, item_id=item_id)
    access.may_run_meeting(actor(request), item.meeting)
    council.voting_open(item_id=item.pk)
    return selectors.meeting_detail(meeting_id=item.meeting_id)


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/votes",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Vote (one per household or per attendee)",
    operation_id="deliberation_votes_create",
)
def votes_create(request: HttpRequest, meeting_id: int, item_id: int, body: VoteIn) -> MeetingView:
    item = access.access_agenda_item(actor=actor(request), meeting_id=meeting_id, item_id=item_id)
    voter = access.named(actor(request), body.resident_id, field="resident_id")
    access.may_vote(voter, item)
    council.vote_cast(item_id=item.pk, resident_id=access.person_id(voter), choice=body.choice)
    return selectors.meeting_detail(meeting_id=item.meeting_id)


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/decision",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Close the vote and record the decision",
    description="A decision takes the meeting's quorum (409 `no_quorum`). Its convener "
    "alone may decide without quorum (`without_quorum` and a `reason`, else 422 "
    "`reason_required`; anyone else 403 `not_convener`); the item then shows "
    "`decided_without_quorum` and the reason.",
    operation_id="deliberation_decision_create",
)
def decision_create(
    request: HttpRequest, meeting_id: int, item_id: int, body: DecideIn
) -> MeetingView:
    caller = actor(request)
    item = access.access_agenda_item(actor=caller, meeting_id=meeting_id, item_id=item_id)
    decided_by = None
    if body.without_quorum:
        convener = access.named(caller, body.convener_id, field="convener_id")
        access.may_decide_without_quorum(convener, item.meeting)
        decided_by = access.person_id(convener)
    else:
        access.may_run_meeting(caller, item.meeting)
    council.item_decide(
        item_id=item.pk,
        outcome=body.outcome,
        without_quorum=body.without_quorum,
        reason=body.reason,
        decided_by_id=decided_by,
    )
    return selectors.meeting_detail(meeting_id=item.meeting_id)


# --- a decision's action items -------------------------------------------------------------


@router.get(
    "/meetings/{meeting_id}/items/{item_id}/actions",
    response={200: ActionItemPage, **READ_ERRORS},
    summary="A decision's action items (owners, due dates)",
    operation_id="deliberation_actions_list",
)
def actions_list(
    request: HttpRequest,
    meeting_id: int,
    item_id: int,
    params: Query[PageParams],
    status: ActionItem.Status | None = None,
    overdue: bool = False,
) -> dict[str, Any]:
    caller = actor(request)
    item = access.access_agenda_item(actor=caller, meeting_id=meeting_id, item_id=item_id)
    actions = selectors.action_items_of(
        actor=caller,
        item=item,
        status=status,
        overdue_on=timezone.localdate() if overdue else None,
    )
    return page(*paginate(actions, params))


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/actions",
    response={201: ActionItemOut, **WRITE_ERRORS},
    summary="Add an action item to a decision (leaders)",
    operation_id="deliberation_actions_create",
)
def actions_create(
    request: HttpRequest, meeting_id: int, item_id: int, body: ActionItemIn
) -> Status[ActionItem]:
    caller = actor(request)
    item = access.access_agenda_item(actor=caller, meeting_id=meeting_id, item_id=item_id)
    access.may_keep_actions(caller, item)
    return Status(201, council.action_add(item_id=item.pk, **body.dict()))


@router.patch(
    "/meetings/{meeting_id}/items/{item_id}/actions/{action_id}",
    response={200: ActionItemOut, **WRITE_ERRORS},
    summary="Mark an action item done or open, move its due date (leaders)",
    operation_id="deliberation_actions_update",
)
def actions_update(
    request: HttpRequest, meeting_id: int, item_id: int, action_id: int, body: ActionItemPatch
) -> ActionItem:
    caller = actor(request)
    action = access.access_action_item(
        actor=caller, meeting_id=meeting_id, item_id=item_id, action_id=action_id
    )
    access.may_keep_actions(caller, action.item)
    return council.action_update(action_id=action.pk, **body.dict())
