"""Notices: residents' channels and quiet hours, their messages, and leaders' targeted
notices with short surveys (part of community, which every tenant runs)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from api.acting import acting_id, leaders_only, the_resident
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
from linli.errors import NotFound
from tenants.notices import services
from tenants.notices.models import Announcement, ChannelPreference, Message

router = Router(auth=KeyAuth("community"), tags=["notices"])


def _preference_out(resident_id: int, p: ChannelPreference | None) -> dict[str, Any]:
    return {
        "resident_id": resident_id,
        "channels": p.channels if p else [],
        "email": p.email if p else "",
        "wechat_openid": p.wechat_openid if p else "",
        "quiet_start": p.quiet_start if p else None,
        "quiet_end": p.quiet_end if p else None,
    }


@router.get(
    "/residents/{resident_id}/preferences",
    response={200: PreferenceOut, **READ_ERRORS},
    summary="How a resident is told, and their quiet hours",
    operation_id="notices_preferences_get",
)
def preferences_get(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    who = the_resident(request, resident_id, field="resident_id")
    from tenants.community.models import Resident

    if not Resident.objects.filter(pk=who, erased_at__isnull=True).exists():
        raise NotFound(_("No resident %(id)s.") % {"id": who}, code="resident_not_found")
    return _preference_out(who, ChannelPreference.objects.filter(resident_id=who).first())


@router.put(
    "/residents/{resident_id}/preferences",
    response={200: PreferenceOut, **WRITE_ERRORS},
    summary="Set how a resident is told, and their quiet hours",
    operation_id="notices_preferences_set",
)
def preferences_set(request: HttpRequest, resident_id: int, body: PreferenceIn) -> dict[str, Any]:
    who = the_resident(request, resident_id, field="resident_id")
    preference = services.preference_set(resident_id=who, **body.dict())
    return _preference_out(who, preference)


def _announcement_out(a: Announcement) -> dict[str, Any]:
    return {
        "id": a.pk,
        "title": a.title,
        "body": a.body,
        "target": a.target,
        "target_id": a.target_id,
        "target_tag": a.target_tag,
        "sent_at": a.sent_at,
        "questions": [
            {"position": q.position, "text": q.text, "choices": q.choices}
            for q in a.questions.all()
        ],
        "counts": services.announcement_counts(announcement=a),
    }


def _announcement(announcement_id: int) -> Announcement:
    found = Announcement.objects.filter(pk=announcement_id).first()
    if found is None:
        raise NotFound(
            _("No notice %(id)s.") % {"id": announcement_id}, code="announcement_not_found"
        )
    return found


@router.post(
    "/announcements",
    response={201: AnnouncementOut, **WRITE_ERRORS},
    summary="Send a notice to an area, estate, building or tag (with an optional survey)",
    operation_id="notices_announcements_create",
)
def announcements_create(request: HttpRequest, body: AnnouncementIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    announcement = services.announcement_send(
        title=body.title,
        body=body.body,
        target=body.target,
        target_id=body.target_id,
        target_tag=body.target_tag,
        questions=[(q.text, list(q.choices)) for q in body.questions],
    )
    return Status(201, _announcement_out(announcement))


@router.get(
    "/announcements/{announcement_id}",
    response={200: AnnouncementOut, **READ_ERRORS},
    summary="A notice, with its delivery and read counts",
    operation_id="notices_announcements_get",
)
def announcements_get(request: HttpRequest, announcement_id: int) -> dict[str, Any]:
    leaders_only(request)
    return _announcement_out(_announcement(announcement_id))


@router.get(
    "/announcements/{announcement_id}/results",
    response={200: list[ResultOut], **READ_ERRORS},
    summary="The survey's answers per building",
    operation_id="notices_announcements_results",
)
def announcements_results(request: HttpRequest, announcement_id: int) -> list[dict[str, Any]]:
    leaders_only(request)
    return services.survey_results(announcement=_announcement(announcement_id))


@router.post(
    "/announcements/{announcement_id}/answers",
    response={200: dict[str, int], **WRITE_ERRORS},
    summary="A recipient answers the survey",
    operation_id="notices_announcements_answer",
)
def announcements_answer(
    request: HttpRequest, announcement_id: int, body: AnswersIn
) -> dict[str, int]:
    who = the_resident(request, acting_id(request), field="resident_id")
    count = services.survey_answer(
        announcement_id=announcement_id, resident_id=who, answers=body.answers
    )
    return {"answered": count}


def _message_out(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "subject": m.subject,
        "body": m.body,
        "announcement_id": m.announcement_id,
        "status": m.status,
        "channel": m.channel,
        "created_at": m.created_at,
        "read_at": m.read_at,
    }


@router.get(
    "/messages",
    response={200: MessagePage, **READ_ERRORS},
    summary="A resident's messages, newest last",
    operation_id="notices_messages_list",
)
def messages_list(
    request: HttpRequest, params: Query[PageParams], resident_id: int | None = None
) -> dict[str, Any]:
    who = the_resident(request, resident_id, field="resident_id")
    rows, next_cursor = paginate(Message.objects.filter(resident_id=who), params)
    return page([_message_out(m) for m in rows], next_cursor)


@router.post(
    "/messages/{message_id}/read",
    response={200: MessageOut, **WRITE_ERRORS},
    summary="A resident has read a message",
    operation_id="notices_messages_read",
)
def messages_read(
    request: HttpRequest, message_id: int, resident_id: int | None = None
) -> dict[str, Any]:
    who = the_resident(request, resident_id, field="resident_id")
    return _message_out(services.message_read(message_id=message_id, resident_id=who))
