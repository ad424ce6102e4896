"""Topics from raising to resolution: every step checked, recorded on the timeline, audited.

Who may do each step is ``access``'s to decide, before these are called; here are the
states and the data."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.errors import Conflict, NotFound, ValidationFailed
from linli.uploads import MAX_PHOTO_BYTES, photo_extension, photo_name
from tenants.audit.services import audit_record
from tenants.community.models import Resident
from tenants.deliberation.events import action_overdue_event, topic_event
from tenants.deliberation.models import (
    BlockedWord,
    Comment,
    PostReport,
    Support,
    Topic,
    TopicEvent,
    TopicPhoto,
    TopicRating,
)
from tenants.deliberation.selectors import topic_place

S = Topic.Status
TRANSITIONS: dict[str, set[str]] = {
    S.RAISED: {S.ACCEPTED, S.REJECTED, S.CLOSED},
    S.ACCEPTED: {S.ON_AGENDA, S.IN_PROGRESS, S.REJECTED, S.CLOSED},
    S.ON_AGENDA: {S.DECIDED, S.ACCEPTED},
    S.DECIDED: {S.IN_PROGRESS, S.CLOSED},
    S.IN_PROGRESS: {S.RESOLVED, S.CLOSED},
    S.RESOLVED: {S.CLOSED},
    S.MERGED: set(),
    S.REJECTED: set(),
    S.CLOSED: set(),
}


def _resident(resident_id: int, *, field: str = "resident_id") -> Resident:
    """An active resident a step is for; none is 422 ``resident_not_found`` on the body's
    ``field`` that named them."""
    resident = (
        Resident.objects.select_related("household__unit__building")
        .filter(pk=resident_id, erased_at__isnull=True, status="active")
        .first()
    )
    if resident is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field=field,
        )
    return resident


def _comment_not_found(comment_id: int) -> ValidationFailed:
    """A comment a body names (``comment_id``) that is not on the topic."""
    return ValidationFailed(
        _("No comment %(id)s on this topic.") % {"id": comment_id},
        code="comment_not_found",
        field="comment_id",
    )


def held(text: str) -> bool:
    """Whether ``text`` contains one of the tenant's blocked words (held for review)."""
    lowered = text.lower()
    return any(
        word in lowered for word in BlockedWord.objects.values_list("word", flat=True).iterator()
    )


def _topic_for_update(topic_id: int) -> Topic:
    topic = Topic.objects.select_for_update().filter(pk=topic_id).first()
    if topic is None:
        raise NotFound(_("No topic %(id)s.") % {"id": topic_id}, code="topic_not_found")
    return topic


def _record(topic: Topic, from_status: str, actor_id: int | None, note: str = "") -> None:
    TopicEvent.objects.create(
        topic=topic,
        actor_id=actor_id,
        from_status=from_status,
        to_status=topic.status,
        note=note[:255],
    )
    audit_record(
        action=f"topic.{topic.status}",
        obj=topic,
        changes={"status": [from_status or None, topic.status]},
    )
    topic_event(topic)


@transaction.atomic
def topic_raise(
    *,
    raised_by_id: int,
    title: str,
    description: str,
    category: str,
    scope: str,
    place_id: int,
    heard_by_id: int | None = None,
) -> Topic:
    raiser = _resident(raised_by_id, field="raised_by_id")
    title, description, category = title.strip(), description.strip(), category.strip()
    if not title or not description or not category:
        raise ValidationFailed(
            _("A topic needs a title, a description and a category."),
            code="topic_incomplete",
            field="title",
        )
    place = topic_place(scope=scope, place_id=place_id)
    topic = Topic(
        title=title,
        description=description,
        category=category,
        raised_by=raiser,
        heard_by_id=heard_by_id,
        scope=scope,
        estate_id=place.estate_id,
        building_id=place.building_id,
        unit_id=place.unit_id,
    )
    topic.held_for_review = held(f"{title} {description}")
    topic.save()
    _record(topic, "", raised_by_id)
    return topic


@transaction.atomic
def topic_support(*, topic_id: int, resident_id: int) -> Support:
    topic = _topic_for_update(topic_id)
    resident = _resident(resident_id)
    if topic.status in {S.MERGED, S.REJECTED, S.CLOSED}:
        raise Conflict(_("This topic no longer takes support."), code="topic_closed")
    try:
        with transaction.atomic():
            return Support.objects.create(topic=topic, resident=resident)
    except IntegrityError as exc:
        raise Conflict(_("You already support this topic."), code="already_supported") from exc


@transaction.atomic
def topic_comment(*, topic_id: int, resident_id: int, body: str) -> Comment:
    topic = _topic_for_update(topic_id)
    resident = _resident(resident_id)
    body = body.strip()
    if not body:
        raise ValidationFailed(_("A comment needs some text."), code="comment_empty", field="body")
    return Comment.objects.create(
        topic=topic, author=resident, body=body, held_for_review=held(body)
    )


@transaction.atomic
def topic_transition(*, topic_id: int, to: str, actor_id: int | None, note: str = "") -> Topic:
    topic = _topic_for_update(topic_id)
    if to not in TRANSITIONS.get(topic.status, set()):
        raise Conflict(
            _("A topic that is %(status)s cannot become %(to)s.")
            % {"status": topic.get_status_display(), "to": S(to).label if to in S.values else to},
            code="transition_not_allowed",
        )
    if to == S.REJECTED and not note.strip():
        raise ValidationFailed(
            _("Say why the topic is rejected."), code="reason_required", field="note"
        )
    before = topic.status
    topic.status = to
    if to == S.REJECTED:
        topic.rejection_reason = note.strip()[:255]
    if to == S.RESOLVED:
        from django.utils import timezone

        topic.resolved_at = timezone.now()
    topic.save(update_fields=["status", "rejection_reason", "resolved_at", "updated_at"])
    _record(topic, before, actor_id, note)
    return topic


@transaction.atomic
def topic_merge(*, topic_id: int, into_id: int, actor_id: int | None) -> Topic:
    """Fold a duplicate into another topic of the same estate; its supporters move along."""
    if topic_id == into_id:
        raise ValidationFailed(
            _("A topic cannot merge into itself."), code="merge_invalid", field="into_id"
        )
    first, second = sorted([topic_id, into_id])
    locked = {
        t.pk: t
        for t in Topic.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")
    }
    topic, target = locked.get(topic_id), locked.get(into_id)
    if topic is None:
        raise NotFound(_("No such topic."), code="topic_not_found")
    if target is None:
        raise ValidationFailed(
            _("No topic %(id)s.") % {"id": into_id}, code="topic_not_found", field="into_id"
        )
    if topic.status not in {S.RAISED, S.ACCEPTED} or target.status in {
        S.MERGED,
        S.REJECTED,
        S.CLOSED,
    }:
        raise Conflict(_("These topics cannot be merged now."), code="merge_not_allowed")
    if topic.estate_id != target.estate_id:
        raise Conflict(_("Topics merge only within one estate."), code="merge_not_allowed")
    already = set(target.supports.values_list("resident_id", flat=True))
    carried = [r for r in topic.supports.values_list("resident_id", flat=True) if r not in already]
    if topic.raised_by_id not in already and topic.raised_by_id not in carried:
        carried.append(topic.raised_by_id)
    Support.objects.bulk_create(Support(topic=target, resident_id=r) for r in carried)
    before = topic.status
    topic.status, topic.merged_into = S.MERGED, target
    topic.save(update_fields=["status", "merged_into", "updated_at"])
    _record(topic, before, actor_id, f"merged into {target.pk}")
    return topic


@transaction.atomic
def post_review(
    *, topic_id: int, comment_id: int | None = None, approve: bool, actor_id: int | None = None
) -> None:
    """A leader releases (or hides for good) a held topic or comment. Audited."""
    topic = _topic_for_update(topic_id)
    if comment_id is None:
        if approve:
            topic.held_for_review = False
            topic.save(update_fields=["held_for_review", "updated_at"])
        else:
            before = topic.status
            topic.status, topic.rejection_reason = S.REJECTED, "moderation"
            topic.save(update_fields=["status", "rejection_reason", "updated_at"])
            _record(topic, before, actor_id, "moderation")
    else:
        comment = Comment.objects.filter(pk=comment_id, topic=topic).first()
        if comment is None:
            raise _comment_not_found(comment_id)
        if approve:
            comment.held_for_review = False
            comment.save(update_fields=["held_for_review"])
        else:
            comment.body = ""
            comment.save(update_fields=["body"])
    audit_record(
        action="moderation." + ("approved" if approve else "removed"),
        obj=topic,
        changes={"comment": [None, comment_id]},
    )


# --- photos, ratings, assignment and escalation, reports ----------------------------------------

MAX_PHOTO = MAX_PHOTO_BYTES
REPORTS_TO_HOLD = 3


@transaction.atomic
def topic_photo_add(*, topic_id: int, kind: str, content: bytes) -> TopicPhoto:
    """A photo of the problem, or before/after photos of the fix (JPEG or PNG, 5 MB)."""
    from django.core.files.base import ContentFile

    topic = _topic_for_update(topic_id)
    if kind not in TopicPhoto.Kind.values:
        raise ValidationFailed(
            _("A photo shows the problem, or before or after."), code="kind_invalid", field="kind"
        )
    ext = photo_extension(content)
    photo = TopicPhoto(topic=topic, kind=kind)
    photo.image.save(photo_name(f"topic-{topic.pk}-{kind}", ext), ContentFile(content), save=False)
    photo.save()
    audit_record(action="topic.photo", obj=topic, changes={"kind": [None, kind]})
    return photo


@transaction.atomic
def topic_rate(*, topic_id: int, resident_id: int, stars: int, comment: str = "") -> TopicRating:
    """Residents in scope rate a resolved topic's outcome, once each."""
    topic = _topic_for_update(topic_id)
    resident = _resident(resident_id)
    if topic.status != S.RESOLVED:
        raise Conflict(_("Only a resolved topic is rated."), code="not_resolved")
    if not 1 <= stars <= 5:
        raise ValidationFailed(_("A rating is 1 to 5."), code="rating_invalid", field="stars")
    try:
        with transaction.atomic():
            return TopicRating.objects.create(
                topic=topic, resident=resident, stars=stars, comment=comment[:500]
            )
    except IntegrityError as exc:
        raise Conflict(_("You have already rated this topic."), code="already_rated") from exc


@transaction.atomic
def topic_assign(*, topic_id: int, organisation_id: int, due_on: date) -> Topic:
    """Give a topic to the organisation that must act (property company, utility...)."""
    from tenants.community.models import Organisation

    topic = _topic_for_update(topic_id)
    if not Organisation.objects.filter(pk=organisation_id, active=True).exists():
        raise ValidationFailed(
            _("No active organisation %(id)s.") % {"id": organisation_id},
            code="organisation_not_found",
            field="organisation_id",
        )
    if topic.status in {S.MERGED, S.REJECTED, S.CLOSED, S.RESOLVED}:
        raise Conflict(_("This topic is finished."), code="topic_closed")
    topic.assigned_to_id, topic.due_on, topic.escalated_at = organisation_id, due_on, None
    topic.save(update_fields=["assigned_to", "due_on", "escalated_at", "updated_at"])
    audit_record(
        action="topic.assigned",
        obj=topic,
        changes={"assigned_to": [None, organisation_id], "due_on": [None, str(due_on)]},
    )
    return topic


def overdue_escalate(*, today: date | None = None) -> int:
    """Topics and action items past their deadline go to the district's admins, once each."""
    from django.utils import timezone

    from linli.notify import Notice, notify
    from tenants.community.models import Role, RoleAssignment
    from tenants.deliberation.models import ActionItem

    today = today or timezone.localdate()
    admins = list(
        RoleAssignment.objects.filter(role=Role.DISTRICT_ADMIN)
        .values_list("resident_id", flat=True)
        .distinct()
    )
    now = timezone.now()
    with transaction.atomic():
        topics = list(
            Topic.objects.select_for_update(skip_locked=True)
            .filter(due_on__lt=today, escalated_at__isnull=True)
            .exclude(status__in=[S.RESOLVED, S.CLOSED, S.REJECTED, S.MERGED])
        )
        actions = list(
            ActionItem.objects.select_for_update(skip_locked=True).filter(
                due_on__lt=today, escalated_at__isnull=True, status="open"
            )
        )
        Topic.objects.filter(pk__in=[t.pk for t in topics]).update(escalated_at=now)
        ActionItem.objects.filter(pk__in=[a.pk for a in actions]).update(escalated_at=now)
        for action in actions:
            action_overdue_event(action)
        notify(
            [
                Notice(
                    resident_id=admin,
                    kind="deliberation.overdue",
                    subject=_("%(count)d overdue topics and actions")
                    % {"count": len(topics) + len(actions)},
                    body=", ".join([t.title for t in topics] + [a.title for a in actions])[:500],
                )
                for admin in admins
                if topics or actions
            ]
        )
    return len(topics) + len(actions)


@transaction.atomic
def post_report(
    *, topic_id: int, resident_id: int, reason: str, comment_id: int | None = None
) -> PostReport:
    """A resident reports a post; after three reports it is held for a leader's review."""
    topic = _topic_for_update(topic_id)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(
            _("Say what is wrong with the post."), code="reason_required", field="reason"
        )
    comment = None
    if comment_id is not None:
        comment = Comment.objects.filter(pk=comment_id, topic=topic).first()
        if comment is None:
            raise _comment_not_found(comment_id)
    try:
        with transaction.atomic():
            report = PostReport.objects.create(
                topic=topic,
                comment=comment,
                resident_id=_resident(resident_id).pk,
                reason=reason[:255],
            )
    except IntegrityError as exc:
        raise Conflict(_("You have already reported this."), code="already_reported") from exc
    count = PostReport.objects.filter(topic=topic, comment=comment).count()
    if count >= REPORTS_TO_HOLD:
        target = comment or topic
        if not target.held_for_review:
            target.held_for_review = True
            target.save(update_fields=["held_for_review"])
            audit_record(
                action="moderation.held", obj=topic, changes={"comment": [None, comment_id]}
            )
    return report
