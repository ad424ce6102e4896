"""Who sees and does what in deliberation, for every channel (API, resident pages, admin).

Three kinds of rule, each taking the caller's ``Actor``:

- list filters (``topics_visible``, ``comments_visible``, ``meetings_visible``,
  ``contacts_visible``, ``action_items_visible``, ``coverage_households``);
- lookups that answer the same for missing and not-yours (``access_topic``,
  ``access_meeting``, ``access_agenda_item``, ``access_action_item``): 404 with the
  module's codes; an id a body names (``topic_named``, ``estate_named``) that is missing
  or not visible is the body's fault instead: 422 with the code and the field;
- action checks (``may_*``) that return nothing or raise ``NotAllowed`` (403 with a code).

The policy in one place:

- The district's tool sees everything and does every leader action; it is not a
  person, so a person's action (raise, support, comment, rate, report, attend, vote,
  convene, log a contact) names the person, who is judged as if they acted
  (``named``, ``Actor.as_named``).
- A resident sees their estate's topics and meetings (held posts only if they wrote
  them) and everything in the places they lead (held posts included: they review them).
- A leader, on any channel, does leader actions (move a topic on, merge, assign, review,
  add before/after photos, convene and run meetings, log contacts, see coverage) in the
  places they lead: ``not_a_leader`` if they lead nothing, ``out_of_scope`` (for a
  household, ``not_your_household``) if they lead elsewhere.
- Residents take part (support, rate) where the topic is; leaders of the place may
  comment too; anyone who sees a topic may report it.
- A meeting decides with its quorum; only its convener (acting, or named by the
  district's tool) may record a decision without one, with a reason: ``not_convener``
  for anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.errors import NotAllowed, NotFound, ValidationFailed
from tenants.community.access import named_person
from tenants.community.actor import Actor
from tenants.community.models import Estate, Household
from tenants.deliberation.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Comment,
    Contact,
    Meeting,
    Topic,
)

NOT_YOURSELF = gettext_noop("A resident can only act for themselves.")
NOT_A_LEADER = gettext_noop("Only leaders do this.")
TOPIC_OUT_OF_SCOPE = gettext_noop("This topic is not in a place you lead.")
MEETING_OUT_OF_SCOPE = gettext_noop("This meeting is not for a place you lead.")
NOT_YOUR_HOUSEHOLD = gettext_noop("Only a leader of this household's place logs contacts.")
RAISE_OUT_OF_SCOPE = gettext_noop("Residents raise topics about where they live.")
SUPPORT_OUT_OF_SCOPE = gettext_noop("Only residents where the topic is can support it.")
COMMENT_OUT_OF_SCOPE = gettext_noop("Only residents where the topic is can comment.")
RATE_OUT_OF_SCOPE = gettext_noop("Only residents where the topic is can rate it.")
PHOTO_OUT_OF_SCOPE = gettext_noop("Only residents where the topic is can add photos of it.")
NOT_SEEN = gettext_noop("This resident cannot see this topic.")
NOT_INVITED = gettext_noop("This resident is not invited to this meeting.")
NOT_PRESENT = gettext_noop("Only those present vote.")
NOT_CONVENER = gettext_noop("Only the meeting's convener may decide without quorum.")
NO_HOME = gettext_noop("Only residents of an estate can raise a topic here.")
LEADERS_KINDS = frozenset({"before", "after"})  # photos of the fix: the leaders' to add


# --- naming someone ------------------------------------------------------------------------


def named(actor: Actor, resident_id: int | None, *, field: str) -> Actor:
    """The person a call is about (see ``tenants.community.access.named_person``)."""
    return named_person(actor, resident_id, field=field)


def person_id(person: Actor) -> int:
    """The resident a person's action is recorded for (fail closed: no resident, no action)."""
    if person.resident_id is None:
        raise NotAllowed(_(NOT_YOURSELF), code="not_yourself")
    return person.resident_id


# --- places ---------------------------------------------------------------------------------


def _led_q(actor: Actor, *, units: bool = True) -> Q:
    """Rows (topics, meetings) whose estate / building / unit lies in the places led."""
    if actor.is_district:
        return Q()
    scope = actor.scope
    q = Q(pk__in=[])
    if scope.estate_ids:
        q |= Q(estate_id__in=scope.estate_ids)
    for path in scope.area_paths:
        q |= Q(estate__area__path__startswith=path)
    if scope.building_ids:
        q |= Q(building_id__in=scope.building_ids)
    if units and scope.unit_ids:
        q |= Q(unit_id__in=scope.unit_ids)
    return q


def leads_topic(actor: Actor, topic: Topic) -> bool:
    """The topic's place (its unit, building or estate) lies within what the actor leads."""
    if actor.is_district:
        return True
    scope = actor.scope
    if topic.unit_id is not None and topic.unit_id in scope.unit_ids:
        return True
    if topic.building_id is not None and topic.building_id in scope.building_ids:
        return True
    return actor.leads_estate(topic.estate_id)


def leads_meeting(actor: Actor, *, estate_id: int | None, building_id: int | None) -> bool:
    if actor.is_district:
        return True
    if building_id is not None and building_id in actor.scope.building_ids:
        return True
    return actor.leads_estate(estate_id)


@dataclass(frozen=True)
class Place:
    """Where a topic is, or where a person lives: an estate, a building in it, a unit."""

    estate_id: int
    building_id: int | None = None
    unit_id: int | None = None


def _home(actor: Actor) -> Place | None:
    resident = actor.resident
    if resident is None or resident.household is None:
        return None
    unit = resident.household.unit
    return Place(int(unit.building.estate_id), int(unit.building_id), int(unit.pk))


def _lives_where(actor: Actor, topic: Topic) -> bool:
    home = _home(actor)
    if home is None:
        return False
    if topic.scope == Topic.Scope.UNIT:
        return home.unit_id == topic.unit_id
    if topic.scope == Topic.Scope.BUILDING:
        return home.building_id == topic.building_id
    return home.estate_id == topic.estate_id


def _refuse_leader(actor: Actor, message: str, code: str) -> None:
    if not actor.leads_anything:
        raise NotAllowed(_(NOT_A_LEADER), code="not_a_leader")
    raise NotAllowed(_(message), code=code)


# --- topics ---------------------------------------------------------------------------------


def topics_visible(actor: Actor) -> QuerySet[Topic]:
    """The district: every topic. A person: their estate's topics (held posts only their
    own) and every topic in the places they lead."""
    topics = Topic.objects.all()
    if actor.is_district:
        return topics
    seen = _led_q(actor)
    if actor.resident_id is not None:
        seen |= Q(raised_by_id=actor.resident_id)
    if actor.estate_id is not None:
        seen |= Q(estate_id=actor.estate_id, held_for_review=False)
    return topics.filter(seen)


def access_topic(*, actor: Actor, topic_id: int, for_update: bool = False) -> Topic:
    topics = topics_visible(actor)
    if for_update:
        topics = topics.select_for_update(of=("self",))
    topic = topics.filter(pk=topic_id).first()
    if topic is None:
        raise NotFound(_("No topic %(id)s.") % {"id": topic_id}, code="topic_not_found")
    return topic


def topic_named(*, actor: Actor, topic_id: int, field: str) -> Topic:
    """A topic a body names (a merge's ``into_id``): missing or not visible is 422
    ``topic_not_found`` on ``field``, not the 404 of a path's topic."""
    topic = topics_visible(actor).filter(pk=topic_id).first()
    if topic is None:
        raise ValidationFailed(
            _("No topic %(id)s.") % {"id": topic_id}, code="topic_not_found", field=field
        )
    return topic


def _sees(actor: Actor, topic: Topic) -> bool:
    return topics_visible(actor).filter(pk=topic.pk).exists()


def comments_visible(actor: Actor, topic: Topic) -> QuerySet[Comment]:
    """Leaders of the place see every comment (they review held ones); others see released
    comments and their own held ones, never removed ones."""
    comments = Comment.objects.filter(topic_id=topic.pk)
    if leads_topic(actor, topic):
        return comments
    mine = Q(author_id=actor.resident_id) if actor.resident_id is not None else Q(pk__in=[])
    return comments.filter(Q(held_for_review=False) | mine).exclude(body="")


def may_raise(person: Actor, *, scope: str, place: Place) -> None:
    """A resident raises topics about where they live; a leader also about places they
    lead (a concern heard on a visit, say)."""
    draft = Topic(
        scope=scope,
        estate_id=place.estate_id,
        building_id=place.building_id,
        unit_id=place.unit_id,
    )
    if _lives_where(person, draft) or leads_topic(person, draft):
        return
    raise NotAllowed(_(RAISE_OUT_OF_SCOPE), code="out_of_scope")


def home_building(actor: Actor) -> int:
    """The building a resident raises a topic about on the resident pages: their own."""
    home = _home(actor)
    if home is None or home.building_id is None:
        raise NotAllowed(_(NO_HOME), code="no_home")
    return home.building_id


def _takes_part(person: Actor, topic: Topic, message: str, *, leaders_too: bool) -> None:
    if not _sees(person, topic):
        raise NotAllowed(_(NOT_SEEN), code="out_of_scope")
    if _lives_where(person, topic) or (leaders_too and leads_topic(person, topic)):
        return
    raise NotAllowed(_(message), code="out_of_scope")


def may_support(person: Actor, topic: Topic) -> None:
    """Neighbours with the same problem support a topic; its author raised it already."""
    _takes_part(person, topic, SUPPORT_OUT_OF_SCOPE, leaders_too=False)
    if person.is_self(topic.raised_by_id):
        raise NotAllowed(
            _("You raised this topic; your neighbours support it, not you."), code="own_topic"
        )


def may_comment(person: Actor, topic: Topic) -> None:
    _takes_part(person, topic, COMMENT_OUT_OF_SCOPE, leaders_too=True)


def may_rate(person: Actor, topic: Topic) -> None:
    _takes_part(person, topic, RATE_OUT_OF_SCOPE, leaders_too=False)


def may_report(person: Actor, topic: Topic) -> None:
    if not _sees(person, topic):
        raise NotAllowed(_(NOT_SEEN), code="out_of_scope")


def may_lead_topic(actor: Actor, topic: Topic) -> None:
    """Move on, merge, assign, review: the district, or a leader of the topic's place."""
    if not leads_topic(actor, topic):
        _refuse_leader(actor, TOPIC_OUT_OF_SCOPE, "out_of_scope")


def may_add_photo(actor: Actor, topic: Topic, *, kind: str) -> None:
    """Photos of the problem: whoever takes part where the topic is; before/after photos of
    the fix: its leaders."""
    if kind in LEADERS_KINDS:
        may_lead_topic(actor, topic)
    elif not (leads_topic(actor, topic) or _lives_where(actor, topic)):
        raise NotAllowed(_(PHOTO_OUT_OF_SCOPE), code="out_of_scope")


# --- meetings -------------------------------------------------------------------------------


def meetings_visible(actor: Actor) -> QuerySet[Meeting]:
    """The district: every meeting. A person: their estate's meetings and those of the
    places they lead."""
    meetings = Meeting.objects.all()
    if actor.is_district:
        return meetings
    seen = _led_q(actor, units=False)
    if actor.estate_id is not None:
        seen |= Q(estate_id=actor.estate_id)
    return meetings.filter(seen)


def access_meeting(*, actor: Actor, meeting_id: int, for_update: bool = False) -> Meeting:
    meetings = meetings_visible(actor)
    if for_update:
        meetings = meetings.select_for_update(of=("self",))
    meeting = meetings.filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound(_("No meeting %(id)s.") % {"id": meeting_id}, code="meeting_not_found")
    return meeting


def access_agenda_item(*, actor: Actor, meeting_id: int, item_id: int) -> AgendaItem:
    meeting = access_meeting(actor=actor, meeting_id=meeting_id)
    item = AgendaItem.objects.filter(meeting=meeting, pk=item_id).select_related("meeting").first()
    if item is None:
        raise NotFound(_("No agenda item %(id)s.") % {"id": item_id}, code="item_not_found")
    return item


def estate_named(estate_id: int, *, field: str = "estate_id") -> None:
    """Estates are places, listed to every caller: one a body names must exist (422
    ``estate_not_found`` on ``field``), before who may act there is judged."""
    if not Estate.objects.filter(pk=estate_id).exists():
        raise ValidationFailed(
            _("No estate %(id)s.") % {"id": estate_id}, code="estate_not_found", field=field
        )


def may_convene(
    person: Actor, *, estate_id: int, building_id: int | None, topic_ids: list[int]
) -> None:
    """The convener leads the meeting's place, and every agenda topic they can see is one
    they lead (the meeting moves it on); topics they cannot see the service refuses. The
    estate must exist first: a missing one is the body's fault (422), not out of scope."""
    estate_named(estate_id)
    if not leads_meeting(person, estate_id=estate_id, building_id=building_id):
        _refuse_leader(person, MEETING_OUT_OF_SCOPE, "out_of_scope")
    if person.is_district:
        return
    for topic in topics_visible(person).filter(pk__in=topic_ids):
        if not leads_topic(person, topic):
            raise NotAllowed(_(TOPIC_OUT_OF_SCOPE), code="out_of_scope")


def may_run_meeting(actor: Actor, meeting: Meeting) -> None:
    """Open a vote, record a decision, print the record: a leader of the meeting's place."""
    if not leads_meeting(actor, estate_id=meeting.estate_id, building_id=meeting.building_id):
        _refuse_leader(actor, MEETING_OUT_OF_SCOPE, "out_of_scope")


def is_convener(person: Actor, meeting: Meeting) -> bool:
    return person.resident_id is not None and person.resident_id == meeting.convener_id


def may_decide_without_quorum(person: Actor, meeting: Meeting) -> None:
    """Record a decision the meeting's quorum does not carry: its convener only, in their
    own name (the district's tool names them), and only while they still lead its place.
    Anyone else, leader or not, is ``not_convener``: whoever may run the meeting decides
    with quorum; only its convener answers for a decision without one."""
    if not is_convener(person, meeting):
        raise NotAllowed(_(NOT_CONVENER), code="not_convener")
    may_run_meeting(person, meeting)


def may_check_in(person: Actor, meeting: Meeting) -> None:
    """Those who live where the meeting is are invited (one household, one presence)."""
    home = _home(person)
    if (
        home is None
        or home.estate_id != meeting.estate_id
        or (meeting.building_id is not None and home.building_id != meeting.building_id)
    ):
        raise NotAllowed(_(NOT_INVITED), code="not_invited")


def may_vote(person: Actor, item: AgendaItem) -> None:
    if not Attendance.objects.filter(
        meeting_id=item.meeting_id, resident_id=person_id(person)
    ).exists():
        raise NotAllowed(_(NOT_PRESENT), code="not_present")


def action_items_visible(actor: Actor) -> QuerySet[ActionItem]:
    """The action items of the meetings the actor sees."""
    return ActionItem.objects.filter(item__meeting__in=meetings_visible(actor))


def access_action_item(
    *, actor: Actor, meeting_id: int, item_id: int, action_id: int, for_update: bool = False
) -> ActionItem:
    """An action item of a decision on a meeting the actor sees; 404 alike for missing and
    not visible (the meeting's and the agenda item's own 404s first)."""
    item = access_agenda_item(actor=actor, meeting_id=meeting_id, item_id=item_id)
    actions = ActionItem.objects.filter(item=item).select_related("item__meeting")
    if for_update:
        actions = actions.select_for_update(of=("self",))
    action = actions.filter(pk=action_id).first()
    if action is None:
        raise NotFound(
            _("No action item %(id)s.") % {"id": action_id}, code="action_item_not_found"
        )
    return action


def may_keep_actions(actor: Actor, item: AgendaItem) -> None:
    """Add and update a decision's action items: a leader of the meeting's place (the
    admin's rule for action items too)."""
    may_run_meeting(actor, item.meeting)


# --- outreach -------------------------------------------------------------------------------


def may_log_contact(person: Actor, household_id: int) -> None:
    """A contact is logged by a leader of the household's place."""
    if not Household.objects.filter(pk=household_id).exists():
        raise ValidationFailed(
            _("No household %(id)s.") % {"id": household_id},
            code="household_not_found",
            field="household_id",
        )
    if not person.leads_household(household_id):
        _refuse_leader(person, NOT_YOUR_HOUSEHOLD, "not_your_household")


def contacts_visible(actor: Actor) -> QuerySet[Contact]:
    """Contacts with the households the actor leads, and those they logged themselves."""
    contacts = Contact.objects.all()
    if actor.is_district:
        return contacts
    seen = Q(household__in=actor.households_led())
    if actor.resident_id is not None:
        seen |= Q(leader_id=actor.resident_id)
    return contacts.filter(seen)


def coverage_households(actor: Actor) -> QuerySet[Household] | None:
    """The households whose outreach coverage the actor sees: None for every household (the
    district); a leader's households; a resident who leads nothing is refused."""
    if actor.is_district:
        return None
    if not actor.leads_anything:
        raise NotAllowed(_(NOT_A_LEADER), code="not_a_leader")
    return actor.households_led()
