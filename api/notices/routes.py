"""Notices: residents' channels and quiet hours, their messages, and leaders' targeted
notices with short surveys (part of community, which every tenant runs)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.acting import actor
from api.auth import KeyAuth
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.notices.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    AnswersIn,
    MessageOut,
    MessagePage,
    PreferenceIn,
    PreferenceOut,
    ResultOut,
)
from api.pagination import PageParams, page, paginate
from tenants.notices import access, selectors, services
from tenants.notices.models import Announcement, ChannelPreference, Message

router = Router(auth=KeyAuth("community"), tags=["notices"])


@router.get(
    "/residents/{resident_id}/preferences",
    response={200: PreferenceOut, **READ_ERRORS},
    summary="How a resident is told, and their quiet hours",
    operation_id="notices_preferences_get",
)
def preferences_get(request: HttpRequest, resident_id: int) -> ChannelPreference:
    owner = access.access_preferences_owner(actor=actor(request), resident_id=resident_id)
    return selectors.preference_of(resident=owner)


@router.put(
    "/residents/{resident_id}/preferences",
    response={200: PreferenceOut, **WRITE_ERRORS},
    summary="Set how a resident is told, and their quiet hours",
    operation_id="notices_preferences_set",
)
def preferences_set(
    request: HttpRequest, resident_id: int, body: PreferenceIn
) -> ChannelPreference:
    owner = access.access_preferences_owner(actor=actor(request), resident_id=resident_id)
    return services.preference_set(resident_id=owner.pk, **body.dict())


@router.post(
    "/announcements",
    response={201: AnnouncementOut, **WRITE_ERRORS},
    summary="Send a notice to an area, estate, building or tag (with an optional survey)",
    operation_id="notices_announcements_create",
)
def announcements_create(request: HttpRequest, body: AnnouncementIn) -> Status[Announcement]:
    who = actor(request)
    access.may_send_notice(who, target=body.target, target_id=body.target_id)
    announcement = services.announcement_send(
        title=body.title,
        body=body.body,
        target=body.target,
        target_id=body.target_id,
        target_tag=body.target_tag,
        questions=[(q.text, list(q.choices)) for q in body.questions],
        sent_by_id=who.resident_id,
    )
    return Status(201, announcement)


@router.get(
    "/announcements/{announcement_id}",
    response={200: AnnouncementOut, **READ_ERRORS},
    summary="A notice, with its delivery and read counts",
    operation_id="notices_announcements_get",
)
def announcements_get(request: HttpRequest, announcement_id: int) -> Announcement:
    return access.access_announcement(actor=actor(request), announcement_id=announcement_id)


@router.get(
    "/announcements/{announcement_id}/results",
    response={200: list[ResultOut], **READ_ERRORS},
    summary="The survey's answers per building",
    operation_id="notices_announcements_results",
)
def announcements_results(request: HttpRequest, announcement_id: int) -> list[dict[str, Any]]:
    announcement = access.access_announcement(actor=actor(request), announcement_id=announcement_id)
    return services.survey_results(announcement=announcement)


@router.post(
    "/announcements/{announcement_id}/answers",
    response={200: dict[str, int], **WRITE_ERRORS},
    summary="A recipient answers the survey",
    operation_id="notices_announcements_answer",
)
def announcements_answer(
    request: HttpRequest, announcement_id: int, body: AnswersIn
) -> dict[str, int]:
    who = actor(request)
    notice = access.access_announcement_received(actor=who, announcement_id=announcement_id)
    count = services.survey_answer(
        announcement_id=notice.pk, resident_id=access.survey_respondent(who), answers=body.answers
    )
    return {"answered": count}


@router.get(
    "/messages",
    response={200: MessagePage, **READ_ERRORS},
    summary="A resident's messages, newest last",
    operation_id="notices_messages_list",
)
def messages_list(
    request: HttpRequest, params: Query[PageParams], resident_id: int | None = None
) -> dict[str, Any]:
    rows, next_cursor = paginate(access.messages_of(actor(request), resident_id), params)
    return page(rows, next_cursor)


@router.post(
    "/messages/{message_id}/read",
    response={200: MessageOut, **WRITE_ERRORS},
    summary="A resident has read a message",
    operation_id="notices_messages_read",
)
def messages_read(request: HttpRequest, message_id: int, resident_id: int | None = None) -> Message:
    message = access.access_message(
        actor=actor(request), message_id=message_id, resident_id=resident_id
    )
    return services.message_read(message_id=message.pk, resident_id=message.resident_id)
