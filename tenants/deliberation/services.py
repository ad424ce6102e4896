"""Topics from raising to resolution: every step checked, recorded on the timeline, audited."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.errors import Conflict, NotFound, ValidationFailed
from tenants.audit.services import audit_record
from tenants.community.models import Building, Estate, Resident, Unit
from tenants.deliberation.models import BlockedWord, Comment, Support, Topic, TopicEvent

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


def _resident(resident_id: int) -> Resident:
    resident = (
        Resident.objects.select_related("household__unit__building")
        .filter(pk=resident_id, erased_at__isnull=True, status="active")
        .first()
    )
    if resident is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field="resident_id",
        )
    return resident


def held(text: str) -> bool:
    """Whether ``text`` contains one of the tenant's blocked words (held for review)."""
    lowered = text.lower()
    return any(
        word in lowered for word in BlockedWord.objects.values_list("word", flat=True).iterator()
    )


def in_scope(topic: Topic, resident: Resident) -> bool:
    home = resident.household
    if home is None:
        return False
    if topic.scope == Topic.Scope.UNIT:
        return home.unit_id == topic.unit_id
    if topic.scope == Topic.Scope.BUILDING:
        return home.unit.building_id == topic.building_id
    return home.unit.building.estate_id == topic.estate_id


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
    raiser = _resident(raised_by_id)
    title, description, category = title.strip(), description.strip(), category.strip()
    if not title or not description or not category:
        raise ValidationFailed(
            _("A topic needs a title, a description and a category."),
            code="topic_incomplete",
            field="title",
        )
    place: dict[str, object] = {}
    if scope == Topic.Scope.UNIT:
        unit = Unit.objects.select_related("building").filter(pk=place_id).first()
        if unit is not None:
            place = {"unit": unit, "building": unit.building, "estate_id": unit.building.estate_id}
    elif scope == Topic.Scope.BUILDING:
        building = Building.objects.filter(pk=place_id).first()
        if building is not None:
            place = {"building": building, "estate_id": building.estate_id}
    elif scope == Topic.Scope.ESTATE:
        estate = Estate.objects.filter(pk=place_id).first()
        if estate is not None:
            place = {"estate_id": estate.pk}
    else:
        raise ValidationFailed(
            _("Scope is estate, building or unit."), code="scope_invalid", field="scope"
        )
    if not place:
        raise ValidationFailed(_("No such place."), code="place_not_found", field="place_id")
    topic = Topic(
        title=title,
        description=description,
        category=category,
        raised_by=raiser,
        heard_by_id=heard_by_id,
        scope=scope,
        **place,
    )
    if not in_scope(topic, raiser) and heard_by_id is None:
        raise Conflict(_("Residents raise topics about where they live."), code="out_of_scope")
    topic.held_for_review = held(f"{title} {description}")
    topic.save()
    _record(topic, "", raised_by_id)
    return topic


@transaction.atomic
def topic_support(*, topic_id: int, resident_id: int) -> Support:
    topic = _topic_for_update(topic_id)
    resident = _resident(resident_id)
    if not in_scope(topic, resident):
        raise Conflict(_("Only residents where the topic is can support it."), code="out_of_scope")
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
    if not in_scope(topic, resident):
        raise Conflict(_("Only residents where the topic is can comment."), code="out_of_scope")
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
    topic.save(update_fields=["status", "rejection_reason", "updated_at"])
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
    if topic is None or target is None:
        raise NotFound(_("No such topic."), code="topic_not_found")
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
            raise NotFound(_("No such comment."), code="comment_not_found")
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
