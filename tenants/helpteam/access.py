"""Who sees and does what in the help team: the one place that decides it, for every channel.

Every channel (an API key, the resident pages, the admin) builds one ``Actor`` (see
``tenants.community.actor``) and passes it here. Three kinds of rule:

- list filters: ``help_requests_visible``, ``help_requests_led``, ``activities_visible``,
  ``volunteers_visible`` and the admin's ``spaces_visible``, ``help_teams_visible``,
  ``squads_visible``; the resident pages' own lists are subsets of these;
- lookups that answer 404 alike for missing and not yours: ``access_help_request``,
  ``access_help_request_to_claim``, ``access_activity``, ``access_volunteer``;
- action checks, ``may_*``, that return nothing or raise ``NotAllowed`` (403 with a code).

A state conflict (already claimed, not done yet) is the services' 409, looked at only after
these checks have let the caller through. The services run the checks of the writes they do
under the row's lock, so every channel, and every job, goes through the same rules.

The policy:

- **The district's tool** (a key acting for nobody; a district admin in the admin) sees
  every request and activity and does every leader action. It is nobody, so it never does
  the work nor gives feedback; for a volunteer's step it names the volunteer, who is then
  judged by the same action checks as if they acted themself (a volunteer, not their own
  request; the claimer for the later steps). What the step is done to is the caller's to
  find: the district may send any volunteer to any request of the tenant (matching suggests
  volunteers of other estates too) and sign anyone up for any activity.
- **A person** sees the requests they asked for, raised for someone or claimed, the open
  requests of their own estate, and every request in the places they lead; the activities
  of their own estate, of the estates they lead in, and those they signed up for.
- **A leader** (estate secretary, building or unit leader, grid worker, district admin)
  does leader actions on the requests of the households they lead, and on the activities of
  the estates they lead as a whole; nowhere else (403 ``out_of_scope``; a resident who leads
  nothing: 403 ``not_for_residents``).
- **Nobody certifies their own service**: the volunteer who claimed a request never confirms
  it, enters its hours or resolves its dispute (403 ``own_service``), whatever roles they hold
  and whoever names them; confirmation is by the requester, a leader of the request's place
  or the district's tool.
- **Not before its time**: the claimer marks the work done once its window has opened (409
  ``window_not_started`` before, a state the services judge); recording it done earlier
  takes a reason and a leader of the place or the district's tool (403
  ``early_for_leaders`` for anyone else, the claimer included unless they lead it).
- **A claim**: a volunteer may claim any request of their own estate, so a request another
  volunteer has just claimed answers 409 ``already_claimed`` to every volunteer who saw it
  open, not 404 (see ``access_help_request_to_claim``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.errors import NotAllowed, NotFound, ValidationFailed
from tenants.community.access import named_person
from tenants.community.actor import EVERYTHING, Actor, Kind
from tenants.community.models import Building, Household, Resident, Role, Unit
from tenants.community.roles import active_roles
from tenants.helpteam.models import (
    Activity,
    HelpRequest,
    HelpTeam,
    Signup,
    Skill,
    Space,
    Squad,
    Volunteer,
)

Status = HelpRequest.Status

# The codes of the refusals (stable: integrators and tests match on them), and their words.
NOT_FOR_RESIDENTS = "not_for_residents"
OUT_OF_SCOPE = "out_of_scope"
NOT_YOURSELF = "not_yourself"
NOT_REQUESTER = "not_requester"
NOT_A_VOLUNTEER = "not_a_volunteer"
OWN_REQUEST = "own_request"
NOT_YOUR_CLAIM = "not_your_claim"
OWN_SERVICE = "own_service"
OWN_DISPUTE = "own_dispute"

MESSAGES = {
    NOT_FOR_RESIDENTS: gettext_noop("Residents cannot do this."),
    OUT_OF_SCOPE: gettext_noop("That is outside the places you lead."),
    NOT_YOURSELF: gettext_noop("A resident can only act for themselves."),
    NOT_REQUESTER: gettext_noop("Only the requester or a leader of the place can do this."),
    NOT_A_VOLUNTEER: gettext_noop("This resident is not a volunteer."),
    OWN_REQUEST: gettext_noop("You cannot claim your own request."),
    NOT_YOUR_CLAIM: gettext_noop("Only the volunteer who claimed it can do this."),
    OWN_SERVICE: gettext_noop("Nobody confirms or judges their own service."),
    OWN_DISPUTE: gettext_noop("Another leader must resolve your own dispute."),
}
ONLY_THE_REQUESTER = gettext_noop("Only the requester can do this.")
ASK_FOR_OTHERS = gettext_noop(
    "Only leaders and central households of a neighbour's place ask for help for them."
)

# How a help request reaches its place (its household's unit).
PLACE = "household__unit__"
ESTATE = "household__unit__building__estate_id"


def refusal(code: str, message: str | None = None) -> NotAllowed:
    return NotAllowed(_(message or MESSAGES[code]), code=code)


def help_request_not_found(help_request_id: int) -> NotFound:
    return NotFound(
        _("No help request %(id)s.") % {"id": help_request_id}, code="help_request_not_found"
    )


def the_district() -> Actor:
    """The district's own tool, for the jobs that act for the district (confirming what the
    requester left unanswered). Nobody in person."""
    return Actor(kind=Kind.DISTRICT, scope=EVERYTHING)


def _is_the_tool(actor: Actor) -> bool:
    return actor.kind == Kind.DISTRICT and not actor.is_person


def _not_leader(actor: Actor) -> NotAllowed:
    return refusal(OUT_OF_SCOPE if actor.leads_anything else NOT_FOR_RESIDENTS)


def _must_lead(actor: Actor, household_id: int | None) -> None:
    if not actor.leads_household(household_id):
        raise _not_leader(actor)


# --- naming someone in a body --------------------------------------------------------------


def named_resident_id(actor: Actor, resident_id: int | None, *, field: str) -> int:
    """The person a body names to act (the volunteer doing a step, the resident signing up),
    by ``tenants.community.access.named_person``."""
    person = named_person(actor, resident_id, field=field).resident_id
    if person is None:
        raise refusal(NOT_YOURSELF)
    return person


def _no_resident(resident_id: int, *, field: str) -> ValidationFailed:
    return ValidationFailed(
        _("No active resident %(id)s.") % {"id": resident_id},
        code="resident_not_found",
        field=field,
    )


def person(resident_id: int) -> Actor | None:
    """The resident ``resident_id`` as if they acted themself (the volunteer whose step a
    service is doing), or None when there is no such active resident."""
    return the_district().as_named(resident_id)


# --- help requests: who sees them ----------------------------------------------------------


def _seen_by(actor: Actor) -> Q:
    seen = actor.place_q(PLACE)
    me = actor.resident_id
    if me is not None:
        seen |= Q(requester_id=me) | Q(raised_by_id=me) | Q(claimed_by__resident_id=me)
        if actor.estate_id is not None:
            seen |= Q(status=Status.OPEN, **{ESTATE: actor.estate_id})
    return seen


def help_requests_visible(
    actor: Actor, queryset: QuerySet[HelpRequest] | None = None
) -> QuerySet[HelpRequest]:
    """Every request for the district; for a person their own (asked, raised for someone,
    claimed), the open ones of their estate, and all of those in the places they lead."""
    requests = (queryset if queryset is not None else HelpRequest.objects.all()).select_related(
        "claimed_by"
    )
    if actor.is_district:
        return requests
    return requests.filter(_seen_by(actor))


def help_requests_led(actor: Actor) -> QuerySet[HelpRequest]:
    """The requests of the places the actor leads (the leaders' dashboard)."""
    requests = HelpRequest.objects.all()
    if actor.is_district:
        return requests
    return requests.filter(actor.place_q(PLACE))


def help_requests_asked(actor: Actor) -> QuerySet[HelpRequest]:
    """The requests the person asked for themself."""
    return HelpRequest.objects.filter(requester_id=actor.resident_id or 0)


def help_requests_helping(actor: Actor) -> QuerySet[HelpRequest]:
    """The requests the person claimed and has not finished."""
    return HelpRequest.objects.filter(
        claimed_by__resident_id=actor.resident_id or 0,
        status__in=[Status.CLAIMED, Status.IN_PROGRESS],
    )


def help_requests_nearby(actor: Actor) -> QuerySet[HelpRequest]:
    """Neighbours' open requests in the person's estate whose window has not passed."""
    if actor.estate_id is None:
        return HelpRequest.objects.none()
    return HelpRequest.objects.filter(
        status=Status.OPEN, window_end__gt=timezone.now(), **{ESTATE: actor.estate_id}
    ).exclude(requester_id=actor.resident_id)


def access_help_request(
    *, actor: Actor, help_request_id: int, for_update: bool = False
) -> HelpRequest:
    requests = help_requests_visible(actor)
    if for_update:
        requests = requests.select_for_update(of=("self",))
    found = requests.filter(pk=help_request_id).first()
    if found is None:
        raise help_request_not_found(help_request_id)
    return found


def help_request_named(*, actor: Actor, help_request_id: int, field: str) -> HelpRequest:
    """A request a body names (an entry of the leaders' bulk hours), locked: missing or not
    visible is the same 404 ``help_request_not_found`` as a path's request (the policy
    table's answer for entering hours elsewhere), pointing at the entry's ``field``."""
    found = help_requests_visible(actor).select_for_update(of=("self",))
    help_request = found.filter(pk=help_request_id).first()
    if help_request is None:
        raise NotFound(
            _("No help request %(id)s.") % {"id": help_request_id},
            code="help_request_not_found",
            field=field,
        )
    return help_request


def access_help_request_to_claim(*, actor: Actor, help_request_id: int) -> HelpRequest:
    """The request a volunteer tries to claim: one the actor sees, or, for a volunteer, any
    request of their own estate. A volunteer saw every request of their estate while it was
    open, so one claimed a moment before answers 409 ``already_claimed`` (and one cancelled or
    expired 409 ``not_open``), never 404, whoever won the race and whatever roles the losers
    hold."""
    requests = HelpRequest.objects.select_related("claimed_by")
    if not actor.is_district:
        seen = _seen_by(actor)
        if actor.estate_id is not None and volunteer_of(actor) is not None:
            seen |= Q(**{ESTATE: actor.estate_id})
        requests = requests.filter(seen)
    found = requests.filter(pk=help_request_id).first()
    if found is None:
        raise help_request_not_found(help_request_id)
    return found


# --- help requests: who does what ----------------------------------------------------------


def volunteer_of(actor: Actor) -> Volunteer | None:
    """The person's volunteer profile (active or paused), if they have one."""
    if actor.resident_id is None:
        return None
    return Volunteer.objects.filter(resident_id=actor.resident_id).first()


def _claimer_id(help_request: HelpRequest) -> int | None:
    claimed_by = help_request.claimed_by
    return claimed_by.resident_id if claimed_by is not None else None


def _not_own_service(actor: Actor, help_request: HelpRequest) -> None:
    if actor.is_self(_claimer_id(help_request)):
        raise refusal(OWN_SERVICE)


def may_claim(actor: Actor, help_request: HelpRequest) -> None:
    """A volunteer claims for themself, never their own request."""
    if volunteer_of(actor) is None:
        raise refusal(NOT_A_VOLUNTEER)
    if actor.is_self(help_request.requester_id):
        raise refusal(OWN_REQUEST)


def may_work_on(actor: Actor, help_request: HelpRequest) -> None:
    """Start, mark done, scan in and out, add a photo: the volunteer who claimed it."""
    if not actor.is_self(_claimer_id(help_request)):
        raise refusal(NOT_YOUR_CLAIM)


def may_record_early(actor: Actor, help_request: HelpRequest) -> None:
    """Record the claimer's work as done before its window opens, with a reason: a leader of
    the request's place (the claimer themself, if they lead it) or the district's tool; any
    other caller, 403 ``early_for_leaders``. Who does the step is still ``may_work_on``'s."""
    if not actor.leads_household(help_request.household_id):
        # written here, so the error table shows the code with its words
        raise NotAllowed(
            _("Only a leader of the place can record help as done before its time."),
            code="early_for_leaders",
        )


def may_confirm(actor: Actor, help_request: HelpRequest) -> None:
    """The requester, a leader of the request's place, or the district's tool; never the
    volunteer who did the work."""
    _not_own_service(actor, help_request)
    _requester_or_leader(actor, help_request)


def may_cancel(actor: Actor, help_request: HelpRequest) -> None:
    """The requester, a leader of the request's place, or the district's tool."""
    _requester_or_leader(actor, help_request)


def _requester_or_leader(actor: Actor, help_request: HelpRequest) -> None:
    if not (
        _is_the_tool(actor)
        or actor.is_self(help_request.requester_id)
        or actor.leads_household(help_request.household_id)
    ):
        raise refusal(NOT_REQUESTER)


def may_give_feedback(actor: Actor, help_request: HelpRequest) -> None:
    if not actor.is_self(help_request.requester_id):
        raise refusal(NOT_REQUESTER, ONLY_THE_REQUESTER)


def may_dispute(actor: Actor, help_request: HelpRequest) -> None:
    if not actor.is_self(help_request.requester_id):
        raise refusal(NOT_REQUESTER, ONLY_THE_REQUESTER)


def may_resolve_dispute(actor: Actor, help_request: HelpRequest) -> None:
    """A leader of the place who is neither the volunteer nor the requester who disputed."""
    _not_own_service(actor, help_request)
    _must_lead(actor, help_request.household_id)
    if actor.is_self(help_request.requester_id):
        raise refusal(OWN_DISPUTE)


def may_record_hours(actor: Actor, help_request: HelpRequest) -> None:
    """Hours entered for a volunteer without a phone confirm the request: a leader of the
    place, never the volunteer themself."""
    _not_own_service(actor, help_request)
    _must_lead(actor, help_request.household_id)


def may_suggest(actor: Actor, help_request: HelpRequest) -> None:
    """Whom to ask: leaders of the request's place (the list names volunteers)."""
    _must_lead(actor, help_request.household_id)


def may_view_dashboard(actor: Actor) -> None:
    """The leaders' view (of the places they lead)."""
    if not actor.leads_anything:
        raise refusal(NOT_FOR_RESIDENTS)


PAGE_ACTIONS = {
    "claim": may_claim,
    "done": may_work_on,
    "confirm": may_confirm,
    "cancel": may_cancel,
}


def help_request_actions(actor: Actor, help_request: HelpRequest) -> frozenset[str]:
    """What the actor may do to the request, by who they are (the resident pages offer these
    buttons; its state decides the rest)."""
    allowed = set()
    for action, check in PAGE_ACTIONS.items():
        try:
            check(actor, help_request)
        except NotAllowed:
            continue
        allowed.add(action)
    return frozenset(allowed)


# --- asking for help ---------------------------------------------------------------------


@dataclass(frozen=True)
class Asking:
    """Who asks, and where: the requester, the leader or central household who asked for
    them, and the home the help is for (None: the requester's own)."""

    requester_id: int
    raised_by_id: int | None
    household_id: int | None


def may_ask(
    actor: Actor,
    requester_id: int | None = None,
    raised_by_id: int | None = None,
    household_id: int | None = None,
) -> Asking:
    """A person asks for themself, or, as a leader or central household of the neighbour's
    place, for a neighbour (then they raised it). The district's tool names the requester
    and may name who raised it, who must be able to ask for them. Help at another home than
    the requester's is for leaders of that home. (The arguments are those of the body: the
    requester, who raised it, the home.) A home that is not there is the body's fault
    (422 ``household_not_found``) before anyone's standing there is judged."""
    if household_id is not None and not Household.objects.filter(pk=household_id).exists():
        raise ValidationFailed(
            _("No household %(id)s.") % {"id": household_id},
            code="household_not_found",
            field="household_id",
        )
    if _is_the_tool(actor):
        if requester_id is None:
            raise ValidationFailed(
                _("Name the resident."), code="resident_required", field="requester_id"
            )
        requester = _requester(requester_id)
        if raised_by_id is not None and raised_by_id != requester_id:
            raiser = actor.as_named(raised_by_id)
            if raiser is None:
                raise _no_resident(raised_by_id, field="raised_by_id")
            _may_ask_for(raiser, requester)
        return Asking(requester_id, raised_by_id, household_id)
    if not actor.is_person or (raised_by_id is not None and not actor.is_self(raised_by_id)):
        raise refusal(NOT_YOURSELF)
    me = int(actor.resident_id or 0)
    if requester_id is None or actor.is_self(requester_id):
        if household_id is not None and household_id != actor.household_id:
            _must_lead(actor, household_id)
        return Asking(me, None, household_id)
    requester = _requester(requester_id)
    _may_ask_for(actor, requester)
    if household_id is not None and household_id != requester.household_id:
        _must_lead(actor, household_id)
    return Asking(requester_id, me, household_id)


def _requester(resident_id: int) -> Resident:
    resident = (
        Resident.objects.select_related("household__unit")
        .filter(pk=resident_id, erased_at__isnull=True, status=Resident.Status.ACTIVE)
        .first()
    )
    if resident is None:
        raise _no_resident(resident_id, field="requester_id")
    return resident


def _may_ask_for(asker: Actor, requester: Resident) -> None:
    if asker.leads_household(requester.household_id):
        return
    household = requester.household
    if asker.resident is not None and household is not None:
        central = active_roles(resident=asker.resident).filter(
            Q(unit_id=household.unit_id) | Q(building_id=household.unit.building_id),
            role=Role.CENTRAL_HOUSEHOLD,
        )
        if central.exists():
            return
    if asker.leads_anything:
        raise refusal(OUT_OF_SCOPE)
    raise refusal(NOT_YOURSELF, ASK_FOR_OTHERS)


# --- activities, spaces, teams -------------------------------------------------------------


def _estates_led_in(actor: Actor, to_estate: str = "estate") -> Q:
    """Rows whose estate (reached by ``to_estate``) holds a place the actor leads."""
    scope = actor.scope
    led = Q(pk__in=[])
    if scope.estate_ids:
        led |= Q(**{f"{to_estate}_id__in": scope.estate_ids})
    for path in scope.area_paths:
        led |= Q(**{f"{to_estate}__area__path__startswith": path})
    if scope.building_ids:
        buildings = Building.objects.filter(pk__in=scope.building_ids).values("estate_id")
        led |= Q(**{f"{to_estate}_id__in": buildings})
    if scope.unit_ids:
        units = Unit.objects.filter(pk__in=scope.unit_ids).values("building__estate_id")
        led |= Q(**{f"{to_estate}_id__in": units})
    return led


def _estate_seen(actor: Actor, to_estate: str = "estate") -> Q:
    """The actor's own estate and the estates they lead in."""
    seen = _estates_led_in(actor, to_estate)
    if actor.estate_id is not None:
        seen |= Q(**{f"{to_estate}_id": actor.estate_id})
    return seen


def activities_visible(
    actor: Actor, queryset: QuerySet[Activity] | None = None
) -> QuerySet[Activity]:
    """Every activity for the district; for a person those of their own estate, of the
    estates they lead in, and those they signed up for."""
    activities = queryset if queryset is not None else Activity.objects.all()
    if actor.is_district:
        return activities
    seen = _estate_seen(actor)
    if actor.resident_id is not None:
        signed = Signup.objects.filter(resident_id=actor.resident_id).values("activity_id")
        seen |= Q(pk__in=signed)
    return activities.filter(seen)


def activities_signed_up(actor: Actor) -> QuerySet[Signup]:
    """The person's sign-ups still standing (a place or the waiting list)."""
    return Signup.objects.filter(resident_id=actor.resident_id or 0).exclude(
        status=Signup.Status.CANCELLED
    )


def access_activity(*, actor: Actor, activity_id: int) -> Activity:
    found = activities_visible(actor).filter(pk=activity_id).first()
    if found is None:
        raise NotFound(_("No activity %(id)s.") % {"id": activity_id}, code="activity_not_found")
    return found


def may_organise(actor: Actor, estate_id: int) -> None:
    """Organise an activity or take its attendance: a leader of the whole estate (an estate
    secretary, a grid worker or district admin above it) or the district's tool."""
    if not actor.leads_estate(estate_id):
        raise _not_leader(actor)


def may_take_attendance(actor: Actor, activity: Activity, resident_ids: list[int]) -> None:
    """A leader of the activity's estate takes attendance (which earns points), though not
    their own: they scan the activity's code like everyone else."""
    may_organise(actor, activity.estate_id)
    if actor.resident_id is not None and actor.resident_id in resident_ids:
        raise refusal(OWN_SERVICE)


def categories_visible(actor: Actor) -> QuerySet[Skill]:
    """The help categories (the tenant's skills): a catalogue every caller of the tenant
    sees, like the request form that offers them."""
    return Skill.objects.all()


def spaces_visible(actor: Actor, queryset: QuerySet[Space] | None = None) -> QuerySet[Space]:
    spaces = queryset if queryset is not None else Space.objects.all()
    return spaces if actor.is_district else spaces.filter(_estate_seen(actor))


def help_teams_visible(
    actor: Actor, queryset: QuerySet[HelpTeam] | None = None
) -> QuerySet[HelpTeam]:
    teams = queryset if queryset is not None else HelpTeam.objects.all()
    return teams if actor.is_district else teams.filter(_estate_seen(actor))


def squads_visible(actor: Actor, queryset: QuerySet[Squad] | None = None) -> QuerySet[Squad]:
    """Squads serving the actor's estate or the estates they lead in."""
    squads = queryset if queryset is not None else Squad.objects.all()
    if actor.is_district:
        return squads
    serving = Squad.estates.through.objects.filter(_estate_seen(actor)).values("squad_id")
    return squads.filter(pk__in=serving)


# --- volunteers ----------------------------------------------------------------------------


def volunteers_visible(
    actor: Actor, queryset: QuerySet[Volunteer] | None = None
) -> QuerySet[Volunteer]:
    """Volunteer profiles (skills, availability): the person's own and those of the
    residents of the places they lead."""
    volunteers = queryset if queryset is not None else Volunteer.objects.all()
    if actor.is_district:
        return volunteers
    return volunteers.filter(
        actor.place_q("resident__household__unit__") | Q(resident_id=actor.resident_id or 0)
    )


def access_volunteer(*, actor: Actor, resident_id: int) -> Volunteer:
    """A volunteer's recognition (stars, confirmed hours) is public in the tenant: the
    monthly leaderboard names them too."""
    found = (
        Volunteer.objects.select_related("resident")
        .filter(resident_id=resident_id, resident__erased_at__isnull=True)
        .first()
    )
    if found is None:
        raise NotFound(_("No volunteer %(id)s.") % {"id": resident_id}, code="volunteer_not_found")
    return found


def may_get_certificate(actor: Actor, volunteer: Volunteer) -> None:
    """A service certificate (name, history) is for the volunteer, the leaders of their home
    and the district."""
    if actor.is_self(volunteer.resident_id) or actor.leads_household(
        volunteer.resident.household_id
    ):
        return
    raise refusal(NOT_YOURSELF)
