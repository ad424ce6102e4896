"""Who sees whose preferences and messages, and who sends notices where. Every channel
passes its ``Actor``; nothing else decides.

- A person sees and sets only their own preferences and messages (a path naming someone
  else is 404, as missing; a query naming someone else is 403 ``not_yourself``), and
  answers only the surveys of notices sent to them.
- The district's tool names the resident it asks about, anyone's.
- Sending a notice, and reading its counts and results, is a leader's: the district
  anywhere; a leader to the estates, buildings and areas they lead, and the notices they
  sent or that went to those places (elsewhere ``out_of_scope``; a resident who leads
  nothing ``not_for_residents``). A notice to everyone with a tag is the district's.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from linli.errors import NotFound, ValidationFailed
from tenants.community.access import (
    NotAllowed,
    leaders_only,
    names_anyone,
    not_yourself,
    out_of_scope,
    resident_not_found,
)
from tenants.community.actor import Actor
from tenants.community.models import Area, Building, Estate, Resident
from tenants.notices.models import Announcement, Message


def announcement_not_found(announcement_id: int) -> NotFound:
    return NotFound(_("No notice %(id)s.") % {"id": announcement_id}, code="announcement_not_found")


# --- a resident's own --------------------------------------------------------------------


def whose(actor: Actor, resident_id: int | None) -> int:
    """The resident a query names: a person only themself (naming no one means themself);
    the district's tool must name someone."""
    if actor.is_person:
        if resident_id is not None and not actor.is_self(resident_id):
            raise not_yourself()
        return int(actor.resident_id)  # type: ignore[arg-type]
    if not names_anyone(actor):
        raise not_yourself()
    if resident_id is None:
        raise ValidationFailed(
            _("Name the resident."), code="resident_required", field="resident_id"
        )
    return resident_id


def access_preferences_owner(*, actor: Actor, resident_id: int) -> Resident:
    """The resident whose channels are read or set: oneself, or anyone for the district's
    tool; 404 as for a missing resident otherwise."""
    residents = Resident.objects.filter(erased_at__isnull=True)
    if not names_anyone(actor):
        own = actor.resident_id
        residents = residents.filter(pk=own) if own is not None else residents.none()
    resident = residents.filter(pk=resident_id).first()
    if resident is None:
        raise resident_not_found(resident_id)
    return resident


def messages_of(actor: Actor, resident_id: int | None) -> QuerySet[Message]:
    """The messages of the resident ``whose`` names."""
    return Message.objects.filter(resident_id=whose(actor, resident_id))


def access_message(*, actor: Actor, message_id: int, resident_id: int | None) -> Message:
    message = messages_of(actor, resident_id).filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No message %(id)s.") % {"id": message_id}, code="message_not_found")
    return message


# --- surveys ---------------------------------------------------------------------------------


def survey_respondent(actor: Actor) -> int:
    """Only a person answers a survey (act for them): the district's tool has no answers."""
    if not actor.is_person or actor.resident_id is None:
        raise NotAllowed(
            _("Only a resident answers a survey: act for them."),
            code="acting_resident_required",
        )
    return actor.resident_id


def access_announcement_received(*, actor: Actor, announcement_id: int) -> Announcement:
    """A notice the person was sent (404 otherwise, as for a missing one)."""
    resident_id = survey_respondent(actor)
    announcement = Announcement.objects.filter(
        pk=announcement_id, messages__resident_id=resident_id
    ).first()
    if announcement is None:
        raise announcement_not_found(announcement_id)
    return announcement


# --- leaders' notices ------------------------------------------------------------------------


def _estates_led(actor: Actor) -> QuerySet[Estate]:
    scope = actor.scope
    q = Q(pk__in=scope.estate_ids)
    for path in scope.area_paths:
        q |= Q(area__path__startswith=path)
    return Estate.objects.filter(q)


def _buildings_led(actor: Actor) -> QuerySet[Building]:
    return Building.objects.filter(
        Q(pk__in=actor.scope.building_ids) | Q(estate__in=_estates_led(actor))
    )


def _areas_led(actor: Actor) -> QuerySet[Area]:
    q = Q(pk__in=[])
    for path in actor.scope.area_paths:
        q |= Q(path__startswith=path)
    return Area.objects.filter(q)


def announcements_visible(actor: Actor) -> QuerySet[Announcement]:
    """Every notice for the district; for a leader those they sent and those that went to
    the places they lead."""
    if actor.is_district:
        return Announcement.objects.all()
    T = Announcement.Target
    q = Q(target=T.ESTATE, target_id__in=_estates_led(actor).values("pk"))
    q |= Q(target=T.BUILDING, target_id__in=_buildings_led(actor).values("pk"))
    q |= Q(target=T.AREA, target_id__in=_areas_led(actor).values("pk"))
    if actor.resident_id is not None:
        q |= Q(sent_by_id=actor.resident_id)
    return Announcement.objects.filter(q)


def access_announcement(*, actor: Actor, announcement_id: int) -> Announcement:
    """A notice with its counts and results: leaders only (403), then theirs (404)."""
    leaders_only(actor)
    announcement = announcements_visible(actor).filter(pk=announcement_id).first()
    if announcement is None:
        raise announcement_not_found(announcement_id)
    return announcement


def may_send_notice(actor: Actor, *, target: str, target_id: int | None) -> None:
    """A leader sends to the estates, buildings and areas they lead; the district anywhere
    (and to everyone with a tag). Unknown places are the service's 422 for the district
    and out of scope for a leader."""
    leaders_only(actor)
    if actor.is_district:
        return
    T = Announcement.Target
    led = {
        T.ESTATE: _estates_led,
        T.BUILDING: _buildings_led,
        T.AREA: _areas_led,
    }.get(target)  # type: ignore[call-overload]
    if led is None or target_id is None or not led(actor).filter(pk=target_id).exists():
        raise out_of_scope()
