"""Council meetings: scheduled by a leader of the place, attended and voted on by residents.

Who sees and does what is ``tenants.deliberation.access``'s.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from api.acting import actor
from api.deliberation.schemas import DecideIn, MeetingIn, MeetingOut, ResidentIn, VoteIn
from api.errors import READ_ERRORS, WRITE_ERRORS
from tenants.deliberation import access, council, selectors
from tenants.deliberation.selectors import MeetingView

router = Router()


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
def attendance_create(request: HttpRequest, meeting_id: int, body: ResidentIn) -> MeetingView:
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
    operation_id="deliberation_decision_create",
)
def decision_create(
    request: HttpRequest, meeting_id: int, item_id: int, body: DecideIn
) -> MeetingView:
    item = access.access_agenda_item(actor=actor(request), meeting_id=meeting_id, item_id=item_id)
    access.may_run_meeting(actor(request), item.meeting)
    council.item_decide(item_id=item.pk, outcome=body.outcome)
    return selectors.meeting_detail(meeting_id=item.meeting_id)
