"""Storing and sending messages: quiet hours, templates, the first channel that reaches
the resident, a log line for every send. And leaders' targeted notices with surveys."""

from __future__ import annotations

import logging
import time as time_module
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from linli import clock
from linli.errors import NotFound, ValidationFailed
from linli.notify import Notice
from tenants.audit.services import audit_record
from tenants.community.models import Building, Estate, Resident, ResidentTag
from tenants.notices.adapters import ADAPTERS, DEFAULT_ORDER, Rendered
from tenants.notices.models import (
    Announcement,
    Channel,
    ChannelPreference,
    Message,
    NoticeTemplate,
    SurveyAnswer,
    SurveyQuestion,
)

logger = logging.getLogger("linli.notices")
MAX_ATTEMPTS = 5
# A sending run stops taking messages after this long; each message it claims is leased
# for much longer than that and one provider call, so no other run sends it meanwhile.
SEND_BUDGET = timedelta(seconds=30)
SEND_LEASE = timedelta(minutes=5)


# --- preferences ---------------------------------------------------------------------------


@transaction.atomic
def preference_set(
    *,
    resident_id: int,
    channels: list[str],
    email: str = "",
    wechat_openid: str = "",
    quiet_start: time | None = None,
    quiet_end: time | None = None,
) -> ChannelPreference:
    resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    unknown = sorted(set(channels) - set(Channel.values))
    if unknown or len(channels) != len(set(channels)):
        raise ValidationFailed(
            _("Channels are sms, wechat and email, each at most once."),
            code="channels_invalid",
            field="channels",
        )
    if (quiet_start is None) != (quiet_end is None) or (quiet_start and quiet_start == quiet_end):
        raise ValidationFailed(
            _("Quiet hours need a different start and end."),
            code="quiet_hours_invalid",
            field="quiet_end",
        )
    if Channel.EMAIL in channels and not email:
        raise ValidationFailed(
            _("Give an email address to be told by email."), code="email_required", field="email"
        )
    preference, _created = ChannelPreference.objects.update_or_create(
        resident=resident,
        defaults={
            "channels": channels,
            "email": email.strip(),
            "wechat_openid": wechat_openid.strip(),
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
        },
    )
    audit_record(action="notices.preference", obj=preference)
    return preference


def quiet_until(preference: ChannelPreference | None, now: datetime) -> datetime | None:
    """When the resident's quiet hours end, if ``now`` falls inside them (tenant time)."""
    if preference is None or preference.quiet_start is None or preference.quiet_end is None:
        return None
    local = clock.local(now)
    start, end, wall = preference.quiet_start, preference.quiet_end, local.time()
    inside = start <= wall < end if start < end else (wall >= start or wall < end)
    if not inside:
        return None
    day = local.date() if wall < end else local.date() + timedelta(days=1)
    return clock.at(day, end)


# --- storing ---------------------------------------------------------------------------------


def message_store(
    *, resident_id: int, kind: str, subject: str, body: str, data: dict[str, Any] | None = None
) -> Message | None:
    """Keep a notice to send (after quiet hours), in the caller's transaction; the sender
    job is asked to run once it commits (and the minutely sweep sends it anyway)."""
    kept = messages_keep(notices=[Notice(resident_id, kind, subject, body, data=dict(data or {}))])
    return kept[0] if kept else None


@transaction.atomic
def messages_keep(*, notices: Sequence[Notice]) -> list[Message]:
    """The outbox of resident notices: one pending message per notice to a resident who is
    not erased, written in the caller's transaction (three statements however many)."""
    wanted = {notice.resident_id for notice in notices}
    living = set(
        Resident.objects.filter(pk__in=wanted, erased_at__isnull=True).values_list("pk", flat=True)
    )
    preferences = {
        p.resident_id: p for p in ChannelPreference.objects.filter(resident_id__in=living)
    }
    now = timezone.now()
    messages = Message.objects.bulk_create(
        [
            Message(
                resident_id=notice.resident_id,
                kind=notice.kind[:64],
                subject=notice.subject[:200],
                body=notice.body[:2000],
                data=dict(notice.data),
                send_after=quiet_until(preferences.get(notice.resident_id), now) or now,
            )
            for notice in notices
            if notice.resident_id in living
        ]
    )
    if messages:
        transaction.on_commit(kick_sending)
    return messages


def kick_sending() -> bool:
    """Queue a sending job for the current tenant unless one already waits (one runs at a
    time per tenant); False when none could be queued: the minutely sweep asks again."""
    from tenants.notices.tasks import messages_send

    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return False
    schema = tenant.schema_name
    try:
        with transaction.atomic():  # a refused defer must not spoil a surrounding transaction
            messages_send.configure(
                tenant=tenant, queueing_lock=f"notices:{schema}", lock=f"notices:{schema}"
            ).defer()
    except Exception:  # already queued, or no queue: the sweep sends it
        return False
    return True


# --- sending ---------------------------------------------------------------------------------


def _render(message: Message, language: str) -> Rendered:
    templates = {t.language: t for t in NoticeTemplate.objects.filter(kind=message.kind)}
    template = templates.get(language) or templates.get("")
    if template is None:
        return Rendered(message.subject, message.body, None)
    values = {"subject": message.subject, "body": message.body, **message.data}

    class Blank(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return ""

    try:
        return Rendered(
            template.subject.format_map(Blank(values)),
            template.body.format_map(Blank(values)),
            template,
        )
    except (ValueError, IndexError, AttributeError):  # a malformed template: send it plain
        return Rendered(message.subject, message.body, template)


def _claim(now: datetime, limit: int) -> list[Message]:
    with transaction.atomic():
        rows = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Message.Status.PENDING, send_after__lte=now)
            .order_by("send_after", "id")[:limit]
        )
        # a lease: not picked up again by another run while this one may still send it
        Message.objects.filter(pk__in=[m.pk for m in rows]).update(send_after=now + SEND_LEASE)
    return rows


def messages_send(
    *, now: datetime | None = None, limit: int = 100, budget: timedelta = SEND_BUDGET
) -> int:
    """Send what is due through each resident's first channel that can reach them, for at
    most ``budget``; what this run claimed but had no time for is due again at once.
    Safe to run again after a crash: a message is claimed by one run at a time."""
    now = now or timezone.now()
    started = time_module.monotonic()
    sent = 0
    claimed = _claim(now, limit)
    for index, message in enumerate(claimed):
        if time_module.monotonic() - started > budget.total_seconds():
            Message.objects.filter(
                pk__in=[m.pk for m in claimed[index:]], status=Message.Status.PENDING
            ).update(send_after=now)
            break
        sent += _send_one(message, now)
    return sent


def _send_one(message: Message, now: datetime) -> int:
    resident = Resident.objects.filter(pk=message.resident_id).first()
    preference = ChannelPreference.objects.filter(resident_id=message.resident_id).first()
    order = preference.channels if preference and preference.channels else DEFAULT_ORDER
    language = (resident.preferred_language if resident else "") or getattr(
        getattr(connection, "tenant", None), "locale", ""
    )
    with translation.override(language or None):
        rendered = _render(message, language)
    error = ""
    for channel in order:
        adapter = ADAPTERS[channel]
        to = adapter.address(preference, resident) if resident else ""
        if not adapter.configured() or not to or resident is None or resident.erased_at:
            continue
        try:
            adapter.send(to=to, message=message, rendered=rendered)
        except Exception as exc:
            error = f"{channel}: {type(exc).__name__}: {exc}"[:255]
            logger.warning("sending %s to %s failed: %s", message.kind, message.resident_id, error)
            continue
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.SENT,
            channel=channel,
            template=rendered.template,
            sent_at=timezone.now(),
            attempts=message.attempts + 1,
            error="",
            **_redacted(message),
        )
        return 1
    attempts = message.attempts + 1
    if error and attempts < MAX_ATTEMPTS:  # a channel failed: try again later
        Message.objects.filter(pk=message.pk).update(
            attempts=attempts, error=error, send_after=now + timedelta(minutes=5 * attempts)
        )
    else:
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED if error else Message.Status.UNREACHABLE,
            attempts=attempts,
            error=error or "no configured channel reaches this resident",
            **_redacted(message),
        )
    return 0


REDACT = "redact"


def _redacted(message: Message) -> dict[str, Any]:
    """A secret (a sign-in code) leaves the log once its message is done with."""
    if not message.data.get(REDACT):
        return {}
    return {"body": "—", "data": {}}


@transaction.atomic
def message_read(*, message_id: int, resident_id: int) -> Message:
    message = Message.objects.filter(pk=message_id, resident_id=resident_id).first()
    if message is None:
        raise NotFound(_("No message %(id)s.") % {"id": message_id}, code="message_not_found")
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


# --- targeted notices and surveys ----------------------------------------------------------


def _recipients(target: str, target_id: int | None, tag: str) -> Any:
    residents = Resident.objects.filter(erased_at__isnull=True, status=Resident.Status.ACTIVE)
    if target == Announcement.Target.TAG:
        if not ResidentTag.objects.filter(name=tag).exists():
            raise ValidationFailed(
                _("No tag “%(tag)s”.") % {"tag": tag}, code="tag_not_found", field="target_tag"
            )
        return residents.filter(tags__name=tag)
    if target_id is None:
        raise ValidationFailed(
            _("Name the place the notice goes to."), code="target_required", field="target_id"
        )
    if target == Announcement.Target.AREA:
        from tenants.community.models import Area

        area = Area.objects.filter(pk=target_id).first()
        if area is None:
            raise ValidationFailed(_("No such area."), code="area_not_found", field="target_id")
        return residents.filter(household__unit__building__estate__area__path__startswith=area.path)
    if target == Announcement.Target.ESTATE:
        if not Estate.objects.filter(pk=target_id).exists():
            raise ValidationFailed(_("No such estate."), code="estate_not_found", field="target_id")
        return residents.filter(household__unit__building__estate_id=target_id)
    if target == Announcement.Target.BUILDING:
        if not Building.objects.filter(pk=target_id).exists():
            raise ValidationFailed(
                _("No such building."), code="building_not_found", field="target_id"
            )
        return residents.filter(household__unit__building_id=target_id)
    raise ValidationFailed(_("Unknown target."), code="target_invalid", field="target")


@transaction.atomic
def announcement_send(
    *,
    title: str,
    body: str,
    target: str,
    target_id: int | None = None,
    target_tag: str = "",
    questions: list[tuple[str, list[str]]] = (),  # type: ignore[assignment]
    sent_by_id: int | None = None,
) -> Announcement:
    """Send a notice to everyone in the target (each through their own channel), with an
    optional survey of up to five questions of two to six choices."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise ValidationFailed(_("A notice needs a title and a text."), code="text_required")
    if len(questions) > 5 or any(not q.strip() or not 2 <= len(c) <= 6 for q, c in questions):
        raise ValidationFailed(
            _("A survey has up to 5 questions of 2 to 6 choices."),
            code="survey_invalid",
            field="questions",
        )
    residents = list(
        _recipients(target, target_id, target_tag.strip()).values_list("pk", flat=True).distinct()
    )
    announcement = Announcement.objects.create(
        title=title[:120],
        body=body[:2000],
        target=target,
        target_id=target_id,
        target_tag=target_tag.strip(),
        sent_by_id=sent_by_id,
        recipients=len(residents),
    )
    SurveyQuestion.objects.bulk_create(
        SurveyQuestion(announcement=announcement, position=n + 1, text=q.strip()[:200],
                       choices=[c.strip()[:60] for c in choices])
        for n, (q, choices) in enumerate(questions)
    )  # fmt: skip
    now = timezone.now()
    preferences = {
        p.resident_id: p for p in ChannelPreference.objects.filter(resident_id__in=residents)
    }
    Message.objects.bulk_create(
        (
            Message(
                resident_id=rid,
                kind="notices.announcement",
                subject=announcement.title,
                body=announcement.body,
                data={"announcement_id": str(announcement.pk)},
                announcement=announcement,
                send_after=quiet_until(preferences.get(rid), now) or now,
            )
            for rid in residents
        ),
        batch_size=2000,
    )
    audit_record(action="notices.announcement", obj=announcement)
    transaction.on_commit(kick_sending)
    return announcement


@transaction.atomic
def survey_answer(*, announcement_id: int, resident_id: int, answers: dict[int, int]) -> int:
    """A recipient answers (again, to change their mind): ``{position: choice index}``."""
    if not Message.objects.filter(
        announcement_id=announcement_id, resident_id=resident_id
    ).exists():
        raise NotFound(
            _("No notice %(id)s for this resident.") % {"id": announcement_id},
            code="announcement_not_found",
        )
    questions = {
        q.position: q for q in SurveyQuestion.objects.filter(announcement_id=announcement_id)
    }
    if not answers or any(
        p not in questions or not 0 <= c < len(questions[p].choices) for p, c in answers.items()
    ):
        raise ValidationFailed(
            _("Answer the survey's questions with one of their choices."),
            code="answer_invalid",
            field="answers",
        )
    for position, choice in answers.items():
        SurveyAnswer.objects.update_or_create(
            question=questions[position], resident_id=resident_id, defaults={"choice": choice}
        )
    Message.objects.filter(
        announcement_id=announcement_id, resident_id=resident_id, read_at__isnull=True
    ).update(read_at=timezone.now())
    return len(answers)


def announcement_counts(*, announcement: Announcement) -> dict[str, int]:
    counts = announcement.messages.aggregate(
        sent=Count("id", filter=Q(status=Message.Status.SENT)),
        pending=Count("id", filter=Q(status=Message.Status.PENDING)),
        failed=Count(
            "id", filter=Q(status__in=[Message.Status.FAILED, Message.Status.UNREACHABLE])
        ),
        read=Count("id", filter=Q(read_at__isnull=False)),
    )
    return {"recipients": announcement.recipients, **counts}


def survey_results(*, announcement: Announcement) -> list[dict[str, Any]]:
    """Per question, per building: how many chose each choice."""
    rows = (
        SurveyAnswer.objects.filter(question__announcement=announcement)
        .values("question__position", "resident__household__unit__building_id",
                "resident__household__unit__building__name", "choice")
        .annotate(n=Count("id"))
        .order_by("question__position", "resident__household__unit__building_id", "choice")
    )  # fmt: skip
    results: dict[tuple[int, int | None], dict[str, Any]] = {}
    choices = {q.position: q.choices for q in announcement.questions.all()}
    for row in rows:
        key = (row["question__position"], row["resident__household__unit__building_id"])
        entry = results.setdefault(
            key,
            {
                "question": key[0],
                "building_id": key[1],
                "building": row["resident__household__unit__building__name"] or "",
                "counts": [0] * len(choices[key[0]]),
            },
        )
        entry["counts"][row["choice"]] = row["n"]
    return list(results.values())
