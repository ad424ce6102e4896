"""Reads: topics and meetings as a caller sees them (what they may see is ``access``'s)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from linli.errors import ValidationFailed
from tenants.community.actor import Actor
from tenants.community.models import Building, Estate, Unit
from tenants.deliberation.access import Place, action_items_visible, topics_visible
from tenants.deliberation.council import Quorum, quorum
from tenants.deliberation.models import ActionItem, AgendaItem, Meeting, Topic


def topic_place(*, scope: str, place_id: int) -> Place:
    """The estate, building or unit a topic's scope names."""
    place: Place | None = None
    if scope == Topic.Scope.UNIT:
        unit = Unit.objects.select_related("building").filter(pk=place_id).first()
        if unit is not None:
            place = Place(int(unit.building.estate_id), int(unit.building_id), int(unit.pk))
    elif scope == Topic.Scope.BUILDING:
        building = Building.objects.filter(pk=place_id).first()
        if building is not None:
            place = Place(int(building.estate_id), int(building.pk))
    elif scope == Topic.Scope.ESTATE:
        estate = Estate.objects.filter(pk=place_id).first()
        if estate is not None:
            place = Place(int(estate.pk))
    else:
        raise ValidationFailed(
            _("Scope is estate, building or unit."), code="scope_invalid", field="scope"
        )
    if place is None:
        raise ValidationFailed(_("No such place."), code="place_not_found", field="place_id")
    return place


def topics_list(
    *, actor: Actor, status: str | None = None, estate_id: int | None = None
) -> QuerySet[Topic]:
    """The topics the actor sees, with their supporters counted in the same query."""
    topics = topics_visible(actor).annotate(supporter_count=Count("supports"))
    if status:
        topics = topics.filter(status=status)
    if estate_id is not None:
        topics = topics.filter(estate_id=estate_id)
    return topics


def topics_recent(*, actor: Actor, limit: int = 30) -> list[Topic]:
    """The resident pages' list: the newest topics still in play, the actor's held ones too."""
    return list(
        topics_visible(actor)
        .exclude(status__in=[Topic.Status.REJECTED, Topic.Status.MERGED])
        .order_by("-id")[:limit]
    )


@dataclass(frozen=True)
class MeetingView:
    """A meeting as the API shows it: quorum counted, agenda items with their votes."""

    id: int
    title: str
    estate_id: int
    building_id: int | None
    starts_at: datetime
    invited_households: int
    present_households: int
    quorum_required: int
    quorum_reached: bool
    agenda: list[AgendaItem]


def meeting_detail(*, meeting_id: int) -> MeetingView:
    meeting = Meeting.objects.get(pk=meeting_id)
    counted: Quorum = quorum(meeting=meeting)
    items = (
        AgendaItem.objects.filter(meeting=meeting)
        .annotate(
            votes_for=Count("votes", filter=Q(votes__choice="for")),
            votes_against=Count("votes", filter=Q(votes__choice="against")),
            votes_abstain=Count("votes", filter=Q(votes__choice="abstain")),
        )
        .order_by("position")
    )
    return MeetingView(
        id=meeting.pk,
        title=meeting.title,
        estate_id=meeting.estate_id,
        building_id=meeting.building_id,
        starts_at=meeting.starts_at,
        invited_households=counted.invited,
        present_households=counted.present,
        quorum_required=counted.required,
        quorum_reached=counted.reached,
        agenda=list(items),
    )


def meetings_list(
    meetings: QuerySet[Meeting],
    *,
    status: str | None = None,
    estate_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Meeting]:
    """The meetings given (those the caller sees), filtered, with their agenda counted in the
    same query. ``since`` and ``until`` are days of the start, both included."""
    if status:
        meetings = meetings.filter(status=status)
    if estate_id is not None:
        meetings = meetings.filter(estate_id=estate_id)
    if since is not None:
        meetings = meetings.filter(starts_at__date__gte=since)
    if until is not None:
        meetings = meetings.filter(starts_at__date__lte=until)
    return meetings.annotate(agenda_items=Count("agenda"))


def action_items_of(
    *,
    actor: Actor,
    item: AgendaItem,
    status: str | None = None,
    overdue_on: date | None = None,
) -> QuerySet[ActionItem]:
    """A decision's action items as the caller sees them; ``overdue_on``: those still open
    and due before that day."""
    actions = action_items_visible(actor).filter(item=item).select_related("item")
    if status:
        actions = actions.filter(status=status)
    if overdue_on is not None:
        actions = actions.filter(status=ActionItem.Status.OPEN, due_on__lt=overdue_on)
    return actions
