"""Deliberation: residents raise and support topics; leaders move them through the council.

Held posts (blocked words) are visible only to leaders' tools until reviewed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from api.acting import acting_resident, leaders_only, the_resident
from api.auth import Forbidden, KeyAuth
from api.deliberation.schemas import (
    AssignIn,
    CommentIn,
    CommentPage,
    ContactIn,
    ContactOut,
    CoverageOut,
    DecideIn,
    MeetingIn,
    MeetingOut,
    MergeIn,
    RatingIn,
    ReportIn,
    ResidentIn,
    ReviewIn,
    TopicDetailOut,
    TopicIn,
    TopicPage,
    TransitionIn,
    VoteIn,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from linli.errors import NotFound
from tenants.deliberation import council, outreach, services
from tenants.deliberation.models import Comment, Meeting, Topic

router = Router(auth=KeyAuth("deliberation"), tags=["deliberation"])


def _visible(request: HttpRequest) -> QuerySet[Topic]:
    topics = Topic.objects.annotate(supporters=Count("supports"))
    acting = acting_resident(request)
    if acting is None:
        return topics
    if acting.household_id is None:
        return topics.none()
    estate = acting.household.unit.building.estate_id
    # residents see their estate's topics; held posts only if they wrote them
    return topics.filter(estate_id=estate).filter(Q(held_for_review=False) | Q(raised_by=acting))


def _get(request: HttpRequest, topic_id: int) -> Topic:
    topic = _visible(request).filter(pk=topic_id).first()
    if topic is None:
        raise NotFound(_("No topic %(id)s.") % {"id": topic_id}, code="topic_not_found")
    return topic


def _out(t: Topic) -> dict[str, Any]:
    return {
        "id": t.pk,
        "title": t.title,
        "description": t.description,
        "category": t.category,
        "scope": t.scope,
        "estate_id": t.estate_id,
        "building_id": t.building_id,
        "unit_id": t.unit_id,
        "status": t.status,
        "raised_by_id": t.raised_by_id,
        "merged_into_id": t.merged_into_id,
        "supporters": getattr(t, "supporters", 0),
        "held_for_review": t.held_for_review,
        "created_at": t.created_at,
    }


def _detail(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    topic = _get(request, topic_id)
    ratings = topic.ratings.aggregate(average=Avg("stars"), count=Count("id"))
    return {
        **_out(topic),
        "timeline": [
            {"from_status": e.from_status, "to_status": e.to_status, "note": e.note, "at": e.at}
            for e in topic.events.all()
        ],
        "photos": [{"kind": p.kind, "url": p.image.url} for p in topic.photos.all()],
        "assigned_to_id": topic.assigned_to_id,
        "due_on": topic.due_on,
        "rating_average": float(ratings["average"]) if ratings["average"] else None,
        "ratings": ratings["count"],
    }


@router.get(
    "/topics",
    response={200: TopicPage, **READ_ERRORS},
    summary="List topics",
    operation_id="deliberation_topics_list",
)
def topics_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Topic.Status | None = None,
    estate_id: int | None = None,
) -> dict[str, Any]:
    topics = _visible(request)
    if status:
        topics = topics.filter(status=status)
    if estate_id is not None:
        topics = topics.filter(estate_id=estate_id)
    rows, next_cursor = paginate(topics, params)
    return page([_out(t) for t in rows], next_cursor)


@router.post(
    "/topics",
    response={201: TopicDetailOut, **WRITE_ERRORS},
    summary="Raise a topic",
    operation_id="deliberation_topics_create",
)
def topics_create(request: HttpRequest, body: TopicIn) -> Status[dict[str, Any]]:
    raiser = the_resident(request, body.raised_by_id, field="raised_by_id")
    topic = services.topic_raise(
        raised_by_id=raiser,
        title=body.title,
        description=body.description,
        category=body.category,
        scope=body.scope,
        place_id=body.place_id,
    )
    return Status(201, _detail(request, topic.pk))


@router.get(
    "/topics/{topic_id}",
    response={200: TopicDetailOut, **READ_ERRORS},
    summary="A topic and its timeline",
    operation_id="deliberation_topics_get",
)
def topics_get(request: HttpRequest, topic_id: int) -> dict[str, Any]:
    return _detail(request, topic_id)


@router.post(
    "/topics/{topic_id}/support",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Support a topic (once per resident)",
    operation_id="deliberation_topics_support",
)
def topics_support(request: HttpRequest, topic_id: int, body: ResidentIn) -> dict[str, Any]:
    _get(request, topic_id)
    services.topic_support(
        topic_id=topic_id, resident_id=the_resident(request, body.resident_id, field="resident_id")
    )
    return _detail(request, topic_id)


@router.get(
    "/topics/{topic_id}/comments",
    response={200: CommentPage, **READ_ERRORS},
    summary="A topic's comments",
    operation_id="deliberation_comments_list",
)
def comments_list(request: HttpRequest, topic_id: int, params: Query[PageParams]) -> dict[str, Any]:
    _get(request, topic_id)
    comments = Comment.objects.filter(topic_id=topic_id)
    acting = acting_resident(request)
    if acting is not None:
        comments = comments.filter(Q(held_for_review=False) | Q(author=acting)).exclude(body="")
    rows, next_cursor = paginate(comments, params)
    return page(
        [
            {"id": c.pk, "author_id": c.author_id, "body": c.body, "created_at": c.created_at}
            for c in rows
        ],
        next_cursor,
    )


@router.post(
    "/topics/{topic_id}/comments",
    response={201: CommentPage, **WRITE_ERRORS},
    summary="Comment on a topic",
    operation_id="deliberation_comments_create",
)
def comments_create(request: HttpRequest, topic_id: int, body: CommentIn) -> Status[dict[str, Any]]:
    _get(request, topic_id)
    c = services.topic_comment(
        topic_id=topic_id,
        resident_id=the_resident(request, body.resident_id, field="resident_id"),
        body=body.body,
    )
    return Status(
        201,
        page(
            [{"id": c.pk, "author_id": c.author_id, "body": c.body, "created_at": c.created_at}],
            None,
        ),
    )


@router.post(
    "/topics/{topic_id}/transition",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Move a topic on (leaders)",
    operation_id="deliberation_topics_transition",
)
def topics_transition(request: HttpRequest, topic_id: int, body: TransitionIn) -> dict[str, Any]:
    leaders_only(request)
    _get(request, topic_id)
    services.topic_transition(topic_id=topic_id, to=body.to, actor_id=None, note=body.note)
    return _detail(request, topic_id)


@router.post(
    "/topics/{topic_id}/merge",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Merge a duplicate into another topic (leaders)",
    operation_id="deliberation_topics_merge",
)
def topics_merge(request: HttpRequest, topic_id: int, body: MergeIn) -> dict[str, Any]:
    leaders_only(request)
    _get(request, topic_id)
    _get(request, body.into_id)
    services.topic_merge(topic_id=topic_id, into_id=body.into_id, actor_id=None)
    return _detail(request, topic_id)


# --- council meetings -------------------------------------------------------------------------


def _meeting_out(meeting: Meeting) -> dict[str, Any]:
    q = council.quorum(meeting=meeting)
    items = meeting.agenda.annotate(
        f=Count("votes", filter=Q(votes__choice="for")),
        a=Count("votes", filter=Q(votes__choice="against")),
        s=Count("votes", filter=Q(votes__choice="abstain")),
    ).order_by("position")
    return {
        "id": meeting.pk,
        "title": meeting.title,
        "estate_id": meeting.estate_id,
        "building_id": meeting.building_id,
        "starts_at": meeting.starts_at,
        "invited_households": q.invited,
        "present_households": q.present,
        "quorum_required": q.required,
        "quorum_reached": q.reached,
        "agenda": [
            {
                "id": i.pk,
                "topic_id": i.topic_id,
                "position": i.position,
                "voting_open": i.voting_open,
                "decided": i.decided,
                "outcome": i.outcome,
                "votes_for": i.f,
                "votes_against": i.a,
                "votes_abstain": i.s,
            }
            for i in items
        ],
    }


def _meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    acting = acting_resident(request)
    if meeting is not None and acting is not None:
        estate = acting.household.unit.building.estate_id if acting.household_id else None
        if meeting.estate_id != estate:
            meeting = None
    if meeting is None:
        raise NotFound(_("No meeting %(id)s.") % {"id": meeting_id}, code="meeting_not_found")
    return meeting


def _item(request: HttpRequest, meeting_id: int, item_id: int) -> None:
    meeting = _meeting(request, meeting_id)
    if not meeting.agenda.filter(pk=item_id).exists():
        raise NotFound(_("No agenda item %(id)s.") % {"id": item_id}, code="item_not_found")


@router.post(
    "/meetings",
    response={201: MeetingOut, **WRITE_ERRORS},
    summary="Schedule a council meeting with its agenda",
    operation_id="deliberation_meetings_create",
)
def meetings_create(request: HttpRequest, body: MeetingIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    meeting = council.meeting_schedule(**body.dict())
    return Status(201, _meeting_out(meeting))


@router.get(
    "/meetings/{meeting_id}",
    response={200: MeetingOut, **READ_ERRORS},
    summary="A meeting: quorum and agenda with votes",
    operation_id="deliberation_meetings_get",
)
def meetings_get(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    return _meeting_out(_meeting(request, meeting_id))


@router.post(
    "/meetings/{meeting_id}/attendance",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Check in at the meeting",
    operation_id="deliberation_attendance_create",
)
def attendance_create(request: HttpRequest, meeting_id: int, body: ResidentIn) -> dict[str, Any]:
    meeting = _meeting(request, meeting_id)
    council.meeting_check_in(
        meeting_id=meeting.pk,
        resident_id=the_resident(request, body.resident_id, field="resident_id"),
    )
    return _meeting_out(meeting)


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/open",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Open the vote on an agenda item",
    operation_id="deliberation_vote_open",
)
def vote_open(request: HttpRequest, meeting_id: int, item_id: int) -> dict[str, Any]:
    leaders_only(request)
    _item(request, meeting_id, item_id)
    council.voting_open(item_id=item_id)
    return _meeting_out(_meeting(request, meeting_id))


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/votes",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Vote (one per household or per attendee)",
    operation_id="deliberation_votes_create",
)
def votes_create(
    request: HttpRequest, meeting_id: int, item_id: int, body: VoteIn
) -> dict[str, Any]:
    _item(request, meeting_id, item_id)
    council.vote_cast(
        item_id=item_id,
        resident_id=the_resident(request, body.resident_id, field="resident_id"),
        choice=body.choice,
    )
    return _meeting_out(_meeting(request, meeting_id))


@router.post(
    "/meetings/{meeting_id}/items/{item_id}/decision",
    response={200: MeetingOut, **WRITE_ERRORS},
    summary="Close the vote and record the decision",
    operation_id="deliberation_decision_create",
)
def decision_create(
    request: HttpRequest, meeting_id: int, item_id: int, body: DecideIn
) -> dict[str, Any]:
    leaders_only(request)
    _item(request, meeting_id, item_id)
    council.item_decide(item_id=item_id, outcome=body.outcome)
    return _meeting_out(_meeting(request, meeting_id))


# --- outreach -----------------------------------------------------------------------------------


@router.post(
    "/contacts",
    response={201: ContactOut, **WRITE_ERRORS},
    summary="Log a greeting, meeting or home visit",
    operation_id="deliberation_contacts_create",
)
def contacts_create(request: HttpRequest, body: ContactIn) -> Status[dict[str, Any]]:
    leader = the_resident(request, body.leader_id, field="leader_id")
    acting = acting_resident(request)
    if acting is not None:
        from tenants.community.models import Household
        from tenants.community.roles import resident_scope

        scope = resident_scope(acting)
        if (
            not scope.everything
            and not scope.households(Household.objects.filter(pk=body.household_id)).exists()
        ):
            raise Forbidden(
                _("Only a leader of this household's place logs contacts."),
                code="not_your_household",
            )
    c = outreach.contact_log(
        leader_id=leader,
        household_id=body.household_id,
        kind=body.kind,
        on=body.on,
        notes=body.notes,
        concerns=body.concerns,
    )
    return Status(201, {"id": c.pk, "household_id": c.household_id, "kind": c.kind, "on": c.on})


@router.get(
    "/coverage",
    response={200: list[CoverageOut], **READ_ERRORS},
    summary="Outreach coverage per building against the tenant's targets",
    operation_id="deliberation_coverage_get",
)
def coverage_get(request: HttpRequest, estate_id: int | None = None) -> list[dict[str, Any]]:
    leaders_only(request)
    return [c.__dict__ for c in outreach.coverage(estate_id=estate_id)]


# --- photos, ratings, assignment, moderation ---------------------------------------------------


@router.post(
    "/topics/{topic_id}/photos",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Add a photo (the problem, or before/after the fix)",
    operation_id="deliberation_photos_create",
)
def photos_create(
    request: HttpRequest, topic_id: int, photo: File[UploadedFile], kind: Form[str] = "problem"
) -> dict[str, Any]:
    _get(request, topic_id)
    services.topic_photo_add(
        topic_id=topic_id, kind=kind, content=photo.read(services.MAX_PHOTO + 1)
    )
    return _detail(request, topic_id)


@router.post(
    "/topics/{topic_id}/ratings",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Rate a resolved topic's outcome",
    operation_id="deliberation_ratings_create",
)
def ratings_create(request: HttpRequest, topic_id: int, body: RatingIn) -> dict[str, Any]:
    _get(request, topic_id)
    services.topic_rate(
        topic_id=topic_id,
        resident_id=the_resident(request, body.resident_id, field="resident_id"),
        stars=body.stars,
        comment=body.comment,
    )
    return _detail(request, topic_id)


@router.post(
    "/topics/{topic_id}/assignment",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Assign to an organisation with a deadline (leaders)",
    operation_id="deliberation_assignment_create",
)
def assignment_create(request: HttpRequest, topic_id: int, body: AssignIn) -> dict[str, Any]:
    leaders_only(request)
    _get(request, topic_id)
    services.topic_assign(
        topic_id=topic_id, organisation_id=body.organisation_id, due_on=body.due_on
    )
    return _detail(request, topic_id)


@router.post(
    "/topics/{topic_id}/reports",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Report a topic or comment",
    operation_id="deliberation_reports_create",
)
def reports_create(request: HttpRequest, topic_id: int, body: ReportIn) -> dict[str, Any]:
    _get(request, topic_id)
    services.post_report(
        topic_id=topic_id,
        resident_id=the_resident(request, body.resident_id, field="resident_id"),
        reason=body.reason,
        comment_id=body.comment_id,
    )
    return _detail(request, topic_id)


@router.post(
    "/topics/{topic_id}/review",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Release or remove a held post (leaders)",
    operation_id="deliberation_review_create",
)
def review_create(request: HttpRequest, topic_id: int, body: ReviewIn) -> dict[str, Any]:
    leaders_only(request)
    _get(request, topic_id)
    services.post_review(topic_id=topic_id, comment_id=body.comment_id, approve=body.approve)
    return _detail(request, topic_id)
