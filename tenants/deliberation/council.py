"""Council meetings: invitations, attendance, quorum, votes counted by the database.

Who may convene, attend, vote and decide is ``access``'s to decide, before these are called."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from linli.errors import Conflict, NotFound, ValidationFailed
from tenants.audit.services import audit_record
from tenants.community.models import Building, Estate, Household, Organisation, Resident
from tenants.deliberation.access import NOT_PRESENT, NotAllowed
from tenants.deliberation.events import meeting_event, topic_event
from tenants.deliberation.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Meeting,
    Topic,
    TopicEvent,
    Vote,
)
from tenants.deliberation.settings import DeliberationSettings


def deliberation_settings() -> DeliberationSettings:
    from linli.registry.selectors import module_settings

    return module_settings("deliberation", DeliberationSettings)


def _households(meeting: Meeting) -> int:
    households = Household.objects.filter(unit__building__estate_id=meeting.estate_id)
    if meeting.building_id:
        households = households.filter(unit__building_id=meeting.building_id)
    return households.count()


def _meeting_for_update(meeting_id: int) -> Meeting:
    meeting = Meeting.objects.select_for_update().filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound(_("No meeting %(id)s.") % {"id": meeting_id}, code="meeting_not_found")
    return meeting


@transaction.atomic
def meeting_schedule(
    *,
    title: str,
    estate_id: int,
    starts_at: datetime,
    convener_id: int,
    topic_ids: list[int],
    building_id: int | None = None,
    place: str = "",
) -> Meeting:
    """A meeting for an estate (or one building) with an ordered agenda of accepted topics."""
    estate = Estate.objects.filter(pk=estate_id).first()
    if estate is None:
        raise ValidationFailed(
            _("No estate %(id)s.") % {"id": estate_id}, code="estate_not_found", field="estate_id"
        )
    if (
        building_id is not None
        and not Building.objects.filter(pk=building_id, estate=estate).exists()
    ):
        raise ValidationFailed(
            _("That building is not in the estate."),
            code="building_not_in_estate",
            field="building_id",
        )
    topics = {
        t.pk: t
        for t in Topic.objects.select_for_update().filter(
            pk__in=topic_ids, estate=estate, status=Topic.Status.ACCEPTED
        )
    }
    if len(topics) != len(set(topic_ids)) or not topic_ids:
        raise ValidationFailed(
            _("The agenda takes accepted topics of this estate."),
            code="agenda_invalid",
            field="topic_ids",
        )
    meeting = Meeting.objects.create(
        title=title.strip() or _("Council meeting"),
        estate=estate,
        building_id=building_id,
        starts_at=starts_at,
        place=place,
        convener_id=convener_id,
    )
    meeting.invited_households = _households(meeting)
    meeting.save(update_fields=["invited_households"])
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=meeting, topic=topics[t], position=n + 1)
        for n, t in enumerate(topic_ids)
    )
    for topic in topics.values():
        topic.status = Topic.Status.ON_AGENDA
        topic.save(update_fields=["status", "updated_at"])
        TopicEvent.objects.create(
            topic=topic, from_status="accepted", to_status="on_agenda", note=f"meeting {meeting.pk}"
        )
    audit_record(action="meeting.scheduled", obj=meeting)
    meeting_event(meeting)
    return meeting


@transaction.atomic
def meeting_check_in(*, meeting_id: int, resident_id: int) -> Attendance:
    meeting = _meeting_for_update(meeting_id)
    """Who is invited (those who live where the meeting is) is ``access.may_check_in``'s."""
    resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
    if resident is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field="resident_id",
        )
    attendance, _created = Attendance.objects.get_or_create(
        meeting=meeting, resident=resident, defaults={"household_id": resident.household_id}
    )
    return attendance


@dataclass(frozen=True)
class Quorum:
    invited: int
    present: int
    required: int

    @property
    def reached(self) -> bool:
        return self.present >= self.required


def quorum_required(*, invited: int) -> int:
    """The households that must be present: the tenant's share of those invited, at least one."""
    return max(1, math.ceil(invited * deliberation_settings().quorum_share))


def quorum(*, meeting: Meeting) -> Quorum:
    present = meeting.attendance.values("household_id").distinct().count()
    required = quorum_required(invited=meeting.invited_households)
    return Quorum(meeting.invited_households, present, required)


@transaction.atomic
def voting_open(*, item_id: int) -> AgendaItem:
    item = (
        AgendaItem.objects.select_for_update().select_related("meeting").filter(pk=item_id).first()
    )
    if item is None:
        raise NotFound(_("No agenda item %(id)s.") % {"id": item_id}, code="item_not_found")
    if item.decided:
        raise Conflict(_("This item is already decided."), code="already_decided")
    if not quorum(meeting=item.meeting).reached:
        raise Conflict(_("The meeting has no quorum; it cannot decide."), code="no_quorum")
    item.voting_open = True
    item.save(update_fields=["voting_open"])
    return item


def vote_cast(*, item_id: int, resident_id: int, choice: str) -> Vote:
    """One vote per household (or per attendee); only attendees vote, only while open."""
    if choice not in Vote.Choice.values:
        raise ValidationFailed(
            _("Vote for, against or abstain."), code="choice_invalid", field="choice"
        )
    item = AgendaItem.objects.select_related("meeting").filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No agenda item %(id)s.") % {"id": item_id}, code="item_not_found")
    if not item.voting_open:
        raise Conflict(_("Voting on this item is not open."), code="voting_closed")
    attendance = Attendance.objects.filter(meeting=item.meeting, resident_id=resident_id).first()
    if attendance is None:  # access.may_vote refuses callers first; the row carries the household
        raise NotAllowed(_(NOT_PRESENT), code="not_present")
    per_household = deliberation_settings().vote_per == "household"
    voter = f"h:{attendance.household_id}" if per_household else f"r:{resident_id}"
    try:
        with transaction.atomic():
            return Vote.objects.create(
                item=item, resident_id=resident_id, voter=voter, choice=choice
            )
    except IntegrityError as exc:
        raise Conflict(
            _("This household has already voted.")
            if per_household
            else _("You have already voted."),
            code="already_voted",
        ) from exc


@dataclass(frozen=True)
class Tally:
    for_: int
    against: int
    abstain: int

    @property
    def carried(self) -> bool:
        return self.for_ > self.against


def tally(*, item: AgendaItem) -> Tally:
    """Counted by PostgreSQL in one aggregate."""
    counts = item.votes.aggregate(
        for_=Count("id", filter=Q(choice="for")),
        against=Count("id", filter=Q(choice="against")),
        abstain=Count("id", filter=Q(choice="abstain")),
    )
    return Tally(counts["for_"], counts["against"], counts["abstain"])


@transaction.atomic
def item_decide(
    *,
    item_id: int,
    outcome: str,
    without_quorum: bool = False,
    reason: str = "",
    decided_by_id: int | None = None,
) -> AgendaItem:
    """Close the vote and record the decision; the topic is decided.

    A decision takes the meeting's quorum (409 ``no_quorum``), unless its convener
    (``decided_by_id``; ``access.may_decide_without_quorum`` judges the caller first) asks
    ``without_quorum`` and says why (422 ``reason_required``): then it is recorded, flagged
    and audited as decided without quorum. With the quorum reached the flag stays unset:
    the decision is an ordinary one, whatever was asked."""
    item = (
        AgendaItem.objects.select_for_update()
        .select_related("meeting", "topic")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise NotFound(_("No agenda item %(id)s.") % {"id": item_id}, code="item_not_found")
    if without_quorum:
        if decided_by_id is None or decided_by_id != item.meeting.convener_id:
            raise NotAllowed(
                _("Only the meeting's convener may decide without quorum."), code="not_convener"
            )
        if not reason.strip():
            raise ValidationFailed(
                _("Say why the meeting decides without quorum."),
                code="reason_required",
                field="reason",
            )
    if item.decided:
        raise Conflict(_("This item is already decided."), code="already_decided")
    counted = quorum(meeting=item.meeting)
    if not counted.reached and not without_quorum:
        raise Conflict(_("The meeting has no quorum; it cannot decide."), code="no_quorum")
    flagged = not counted.reached
    result = tally(item=item)
    item.voting_open, item.decided = False, True
    item.outcome = outcome.strip() or (_("Carried") if result.carried else _("Not carried"))
    item.decided_without_quorum = flagged
    item.without_quorum_reason = reason.strip() if flagged else ""
    item.save(
        update_fields=[
            "voting_open",
            "decided",
            "outcome",
            "decided_without_quorum",
            "without_quorum_reason",
        ]
    )
    topic = item.topic
    topic.status = Topic.Status.DECIDED
    topic.save(update_fields=["status", "updated_at"])
    TopicEvent.objects.create(
        topic=topic,
        actor_id=decided_by_id if flagged else None,
        from_status="on_agenda",
        to_status="decided",
        note=f"{result.for_}/{result.against}/{result.abstain}",
    )
    topic_event(topic)  # topic.decided, as when a leader moves the topic on by hand
    changes: dict[str, list[object]] = {
        "votes": [None, [result.for_, result.against, result.abstain]],
        "quorum": [None, [counted.invited, counted.present, counted.required]],
    }
    if flagged:  # the reason is on the record; free text stays out of the audit log
        changes["decided_without_quorum"] = [False, True]
        changes["convener"] = [None, decided_by_id]
    audit_record(
        action="meeting.decided_without_quorum" if flagged else "meeting.decided",
        obj=item,
        changes=changes,
    )
    return item


@transaction.atomic
def action_add(
    *,
    item_id: int,
    title: str,
    due_on: date,
    owner_organisation_id: int | None = None,
    owner_resident_id: int | None = None,
) -> ActionItem:
    """An action a decision calls for, with its owner (a resident or an organisation) and
    its due date. The owner is named, not acting: they must exist (422 on their field)."""
    item = AgendaItem.objects.filter(pk=item_id, decided=True).first()
    if item is None:
        raise Conflict(_("Actions follow a decision."), code="not_decided")
    if not title.strip():
        raise ValidationFailed(
            _("An action needs a title and an owner."), code="action_incomplete", field="title"
        )
    if owner_organisation_id is None and owner_resident_id is None:
        raise ValidationFailed(
            _("An action needs a title and an owner."),
            code="owner_required",
            field="owner_resident_id",
        )
    if (
        owner_resident_id is not None
        and not Resident.objects.filter(
            pk=owner_resident_id, erased_at__isnull=True, status=Resident.Status.ACTIVE
        ).exists()
    ):
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": owner_resident_id},
            code="resident_not_found",
            field="owner_resident_id",
        )
    if (
        owner_organisation_id is not None
        and not Organisation.objects.filter(pk=owner_organisation_id, active=True).exists()
    ):
        raise ValidationFailed(
            _("No active organisation %(id)s.") % {"id": owner_organisation_id},
            code="organisation_not_found",
            field="owner_organisation_id",
        )
    action = ActionItem.objects.create(
        item=item,
        title=title.strip(),
        due_on=due_on,
        owner_organisation_id=owner_organisation_id,
        owner_resident_id=owner_resident_id,
    )
    audit_record(action="action_item.created", obj=action)
    return action


@transaction.atomic
def action_update(
    *,
    action_id: int,
    status: str | None = None,
    due_on: date | None = None,
    progress: str | None = None,
) -> ActionItem:
    """Mark an action done (or open again), move its due date, note its progress. A new due
    date makes it escalate again once it passes; the same values again change nothing."""
    action = ActionItem.objects.select_for_update().filter(pk=action_id).first()
    if action is None:
        raise NotFound(
            _("No action item %(id)s.") % {"id": action_id}, code="action_item_not_found"
        )
    if status is not None and status not in ActionItem.Status.values:
        raise ValidationFailed(
            _("An action is open or done."), code="status_invalid", field="status"
        )
    changes: dict[str, list[object]] = {}
    if status is not None and status != action.status:
        changes["status"] = [action.status, status]
        action.status = status
    if due_on is not None and due_on != action.due_on:
        changes["due_on"] = [str(action.due_on), str(due_on)]
        action.due_on, action.escalated_at = due_on, None
    if progress is not None and progress.strip() != action.progress:
        changes["progress"] = [None, "changed"]  # free text stays out of the audit log
        action.progress = progress.strip()
    if changes:
        action.save(update_fields=["status", "due_on", "progress", "escalated_at"])
        audit_record(action="action_item.updated", obj=action, changes=changes)
    return action


def actions_overdue(*, today: date) -> list[ActionItem]:
    return list(
        ActionItem.objects.filter(status=ActionItem.Status.OPEN, due_on__lt=today).select_related(
            "item__topic", "owner_organisation"
        )
    )
