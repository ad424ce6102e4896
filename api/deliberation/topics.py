"""Topics: residents raise, support and discuss them; leaders move them through the council.

Who sees and does what is ``tenants.deliberation.access``'s: each handler looks the topic up
through it, checks the action there, calls one service and returns the topic.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from api.acting import actor
from api.deliberation.schemas import (
    AssignIn,
    CommentIn,
    CommentPage,
    MergeIn,
    RatingIn,
    ReportIn,
    ResidentRefIn,
    ReviewIn,
    TopicDetailOut,
    TopicIn,
    TopicPage,
    TransitionIn,
)
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from tenants.deliberation import access, selectors, services
from tenants.deliberation.models import Topic

router = Router()


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
    topics = selectors.topics_list(actor=actor(request), status=status, estate_id=estate_id)
    rows, next_cursor = paginate(topics, params)
    return page(rows, next_cursor)


@router.post(
    "/topics",
    response={201: TopicDetailOut, **WRITE_ERRORS},
    summary="Raise a topic",
    operation_id="deliberation_topics_create",
)
def topics_create(request: HttpRequest, body: TopicIn) -> Status[Topic]:
    raiser = access.named(actor(request), body.raised_by_id, field="raised_by_id")
    place = selectors.topic_place(scope=body.scope, place_id=body.place_id)
    access.may_raise(raiser, scope=body.scope, place=place)
    topic = services.topic_raise(
        raised_by_id=access.person_id(raiser),
        title=body.title,
        description=body.description,
        category=body.category,
        scope=body.scope,
        place_id=body.place_id,
    )
    return Status(201, topic)


@router.get(
    "/topics/{topic_id}",
    response={200: TopicDetailOut, **READ_ERRORS},
    summary="A topic and its timeline",
    operation_id="deliberation_topics_get",
)
def topics_get(request: HttpRequest, topic_id: int) -> Topic:
    return access.access_topic(actor=actor(request), topic_id=topic_id)


@router.post(
    "/topics/{topic_id}/support",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Support a topic (once per resident)",
    operation_id="deliberation_topics_support",
)
def topics_support(request: HttpRequest, topic_id: int, body: ResidentRefIn) -> Topic:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    supporter = access.named(actor(request), body.resident_id, field="resident_id")
    access.may_support(supporter, topic)
    services.topic_support(topic_id=topic.pk, resident_id=access.person_id(supporter))
    return topic


@router.get(
    "/topics/{topic_id}/comments",
    response={200: CommentPage, **READ_ERRORS},
    summary="A topic's comments",
    operation_id="deliberation_comments_list",
)
def comments_list(request: HttpRequest, topic_id: int, params: Query[PageParams]) -> dict[str, Any]:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    rows, next_cursor = paginate(access.comments_visible(actor(request), topic), params)
    return page(rows, next_cursor)


@router.post(
    "/topics/{topic_id}/comments",
    response={201: CommentPage, **WRITE_ERRORS},
    summary="Comment on a topic",
    operation_id="deliberation_comments_create",
)
def comments_create(request: HttpRequest, topic_id: int, body: CommentIn) -> Status[dict[str, Any]]:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    author = access.named(actor(request), body.resident_id, field="resident_id")
    access.may_comment(author, topic)
    comment = services.topic_comment(
        topic_id=topic.pk, resident_id=access.person_id(author), body=body.body
    )
    return Status(201, page([comment], None))


@router.post(
    "/topics/{topic_id}/transition",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Move a topic on (leaders)",
    operation_id="deliberation_topics_transition",
)
def topics_transition(request: HttpRequest, topic_id: int, body: TransitionIn) -> Topic:
    me = actor(request)
    topic = access.access_topic(actor=me, topic_id=topic_id)
    access.may_lead_topic(me, topic)
    return services.topic_transition(
        topic_id=topic.pk, to=body.to, actor_id=me.resident_id, note=body.note
    )


@router.post(
    "/topics/{topic_id}/merge",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Merge a duplicate into another topic (leaders)",
    operation_id="deliberation_topics_merge",
)
def topics_merge(request: HttpRequest, topic_id: int, body: MergeIn) -> Topic:
    me = actor(request)
    topic = access.access_topic(actor=me, topic_id=topic_id)
    into = access.topic_named(actor=me, topic_id=body.into_id, field="into_id")
    access.may_lead_topic(me, topic)
    access.may_lead_topic(me, into)
    return services.topic_merge(topic_id=topic.pk, into_id=into.pk, actor_id=me.resident_id)


# --- photos, ratings, assignment, moderation ---------------------------------------------------


@router.post(
    "/topics/{topic_id}/photos",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Add a photo (the problem, or before/after the fix)",
    operation_id="deliberation_photos_create",
)
def photos_create(
    request: HttpRequest, topic_id: int, photo: File[UploadedFile], kind: Form[str] = "problem"
) -> Topic:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    access.may_add_photo(actor(request), topic, kind=kind)
    services.topic_photo_add(
        topic_id=topic.pk, kind=kind, content=photo.read(services.MAX_PHOTO + 1)
    )
    return topic


@router.post(
    "/topics/{topic_id}/ratings",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Rate a resolved topic's outcome",
    operation_id="deliberation_ratings_create",
)
def ratings_create(request: HttpRequest, topic_id: int, body: RatingIn) -> Topic:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    rater = access.named(actor(request), body.resident_id, field="resident_id")
    access.may_rate(rater, topic)
    services.topic_rate(
        topic_id=topic.pk,
        resident_id=access.person_id(rater),
        stars=body.stars,
        comment=body.comment,
    )
    return topic


@router.post(
    "/topics/{topic_id}/assignment",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Assign to an organisation with a deadline (leaders)",
    operation_id="deliberation_assignment_create",
)
def assignment_create(request: HttpRequest, topic_id: int, body: AssignIn) -> Topic:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    access.may_lead_topic(actor(request), topic)
    return services.topic_assign(
        topic_id=topic.pk, organisation_id=body.organisation_id, due_on=body.due_on
    )


@router.post(
    "/topics/{topic_id}/reports",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Report a topic or comment",
    operation_id="deliberation_reports_create",
)
def reports_create(request: HttpRequest, topic_id: int, body: ReportIn) -> Topic:
    topic = access.access_topic(actor=actor(request), topic_id=topic_id)
    reporter = access.named(actor(request), body.resident_id, field="resident_id")
    access.may_report(reporter, topic)
    services.post_report(
        topic_id=topic.pk,
        resident_id=access.person_id(reporter),
        reason=body.reason,
        comment_id=body.comment_id,
    )
    topic.refresh_from_db()
    return topic


@router.post(
    "/topics/{topic_id}/review",
    response={200: TopicDetailOut, **WRITE_ERRORS},
    summary="Release or remove a held post (leaders)",
    operation_id="deliberation_review_create",
)
def review_create(request: HttpRequest, topic_id: int, body: ReviewIn) -> Topic:
    me = actor(request)
    topic = access.access_topic(actor=me, topic_id=topic_id)
    access.may_lead_topic(me, topic)
    services.post_review(
        topic_id=topic.pk, comment_id=body.comment_id, approve=body.approve, actor_id=me.resident_id
    )
    topic.refresh_from_db()
    return topic
