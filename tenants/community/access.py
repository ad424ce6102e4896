"""Who sees and changes which residents and places, and whether unmasked.

Every channel passes its ``Actor`` (see ``tenants.community.actor``); nothing else
decides. Three kinds of rule:

- list filters: ``residents_visible``, ``households_led``, ``units_led``;
- lookups that answer the same for missing and not yours: ``access_resident``, and for
  places and organisations (which everyone sees) ``access_estate``, ``access_building``,
  ``access_unit``, ``access_household``, ``access_organisation``;
- action checks that return nothing or raise ``NotAllowed`` (403 with a code):
  ``may_register_resident``, ``may_change_resident``, ``may_add_household`` and the
  other ``may_add_*`` / ``may_change_*``, ``may_define_areas``,
  ``may_manage_organisations``. A place a body names that does not exist is a 422
  ``<place>_not_found`` on its field, checked after "may this caller do this at all"
  and before "is it a place they lead".

The policy:

- the district's tool sees and changes every resident, unmasked only with
  ``personal_data:read``;
- a person (a resident acting, or signed in) sees and changes the residents of their
  own household, unmasked (a phone number, which signs its resident in, only their own);
- a leader also sees and changes the residents of the places they lead, unmasked, and
  registers residents, adds flats and moves people only there; nowhere else;
- places themselves (areas, estates, buildings, units, flats) hold nobody's personal
  data and are listed to every caller of the tenant; the district defines the areas
  and sets up places, and a leader adds and renames places inside those they lead (an
  estate in an area they lead, a building in an estate they lead, a unit in a building
  they lead, a flat in a unit they lead) and nowhere else;
- organisations (and the resident tags) are listed to every caller, their contact
  person masked without ``personal_data:read``; only the district keeps them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.errors import NotAllowed, NotFound, ValidationFailed
from tenants.community.actor import Actor
from tenants.community.models import (
    Area,
    Building,
    Estate,
    Household,
    Organisation,
    OrganisationMember,
    Resident,
    Unit,
)

# The places a resident's household lies in, loaded with them so that masking a page of
# residents costs no query per resident.
RESIDENT_PLACES = "household__unit__building__estate__area"
# What of those places deciding who sees a resident needs: their ids and the area's path.
RESIDENT_PLACE_FIELDS = (
    "household__unit",
    "household__unit__building",
    "household__unit__building__estate",
    "household__unit__building__estate__area",
    "household__unit__building__estate__area__path",
)


def resident_not_found(resident_id: int) -> NotFound:
    return NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")


def not_for_residents() -> NotAllowed:
    return NotAllowed(_("Residents cannot do this."), code="not_for_residents")


def out_of_scope() -> NotAllowed:
    return NotAllowed(_("That is outside the places you lead."), code="out_of_scope")


def names_anyone(actor: Actor) -> bool:
    """The district's tool (no person) may name any resident a call is about; a person, even a
    district admin acting as themself, names only themself."""
    return actor.is_district and not actor.is_person


def not_yourself() -> NotAllowed:
    return NotAllowed(_("A resident can only act for themselves."), code="not_yourself")


def named_person(actor: Actor, resident_id: int | None, *, field: str) -> Actor:
    """The person a call is about (a body's ``leader_id``, ``volunteer_resident_id``,
    ``resident_id``…), as the Actor the module's rules then judge as if they acted: a person
    names only themself (omitting the id means themself; anyone else is 403 ``not_yourself``);
    the district's tool must name an active resident (422 ``resident_required`` /
    ``resident_not_found`` on ``field``)."""
    if actor.is_person:
        if resident_id is not None and not actor.is_self(resident_id):
            raise not_yourself()
        return actor
    if not names_anyone(actor):
        raise not_yourself()
    if resident_id is None:
        raise ValidationFailed(_("Name the resident."), code="resident_required", field=field)
    person = actor.as_named(resident_id)
    if person is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field=field,
        )
    return person


def leaders_only(actor: Actor) -> None:
    """Leader actions: the district's tool, or a person who leads some place."""
    if not actor.leads_anything:
        raise not_for_residents()


# --- list filters ------------------------------------------------------------------------


def residents_visible(
    actor: Actor, queryset: QuerySet[Resident] | None = None
) -> QuerySet[Resident]:
    """The residents the actor sees: everyone for the district; for a person their own
    household and the places they lead. Without ``queryset``, erased residents are left out
    (the admin passes its own queryset, erased rows included)."""
    residents = (
        queryset if queryset is not None else Resident.objects.filter(erased_at__isnull=True)
    )
    if actor.is_district:
        return residents
    mine = Q(pk__in=[])
    if actor.resident_id is not None:
        mine |= Q(pk=actor.resident_id)
        if actor.household_id is not None:
            mine |= Q(household_id=actor.household_id)
    if actor.scope.anything:
        mine |= actor.place_q("household__unit__")
    return residents.filter(mine)


def households_led(
    actor: Actor, queryset: QuerySet[Household] | None = None
) -> QuerySet[Household]:
    """The flats of the places the actor leads (all for the district, none for a resident
    who leads nothing)."""
    return actor.households_led(queryset)


def units_led(actor: Actor, queryset: QuerySet[Unit] | None = None) -> QuerySet[Unit]:
    units = queryset if queryset is not None else Unit.objects.all()
    if actor.is_district:
        return units
    if not actor.scope.anything:
        return units.none()
    return units.filter(actor.place_q(""))


def households_to_place_in(actor: Actor, *, current_id: int | None = None) -> QuerySet[Household]:
    """Where the actor may put a resident: the flats they lead, and the one the resident is
    in already (keeping someone where they are is no move)."""
    led = Q(pk__in=households_led(actor).values("pk"))
    if current_id is not None:
        led |= Q(pk=current_id)
    return Household.objects.filter(led)


def manages_people(actor: Actor) -> bool:
    """May open the admin's screens of units, flats and residents: a leader or the district."""
    return actor.leads_anything


def links_accounts(actor: Actor) -> bool:
    """Linking a resident to a staff sign-in gives that sign-in the resident's roles: the
    district's decision only (a leader could otherwise take a district admin's roles)."""
    return actor.is_district


# --- lookups -------------------------------------------------------------------------------

M = TypeVar("M", bound=Model)
# What each kind of thing is called in a problem: its code stem and "not found" message.
NAMED: dict[type[Model], tuple[str, str]] = {
    Area: ("area", gettext_noop("No area %(id)s.")),
    Estate: ("estate", gettext_noop("No estate %(id)s.")),
    Building: ("building", gettext_noop("No building %(id)s.")),
    Unit: ("unit", gettext_noop("No unit %(id)s.")),
    Household: ("household", gettext_noop("No household %(id)s.")),
    Organisation: ("organisation", gettext_noop("No organisation %(id)s.")),
    OrganisationMember: ("member", gettext_noop("No member %(id)s.")),
}


def _named[M: Model](model: type[M], pk: int, *, field: str) -> M:
    """What a body names by id (everyone sees places): 422 ``<thing>_not_found`` on the
    field when there is no such row."""
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        what, message = NAMED[model]
        raise ValidationFailed(_(message) % {"id": pk}, code=f"{what}_not_found", field=field)
    return found


def _one[M: Model](queryset: QuerySet[M], pk: int, *, for_update: bool) -> M:
    """What a path names: everyone sees places and organisations, so 404 means missing."""
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    found = queryset.filter(pk=pk).first()
    if found is None:
        what, message = NAMED[queryset.model]
        raise NotFound(_(message) % {"id": pk}, code=f"{what}_not_found")
    return found


def access_estate(*, actor: Actor, estate_id: int, for_update: bool = False) -> Estate:
    return _one(Estate.objects.select_related("area"), estate_id, for_update=for_update)


def access_building(*, actor: Actor, building_id: int, for_update: bool = False) -> Building:
    return _one(Building.objects.all(), building_id, for_update=for_update)


def access_unit(*, actor: Actor, unit_id: int, for_update: bool = False) -> Unit:
    return _one(Unit.objects.select_related("building"), unit_id, for_update=for_update)


def access_household(actor: Actor, household_id: int, *, for_update: bool = False) -> Household:
    return _one(Household.objects.select_related("unit"), household_id, for_update=for_update)


def access_organisation(
    *, actor: Actor, organisation_id: int, for_update: bool = False
) -> Organisation:
    return _one(Organisation.objects.all(), organisation_id, for_update=for_update)


def access_member(*, actor: Actor, organisation_id: int, member_id: int) -> OrganisationMember:
    """A member of the organisation the path names: 404 when either is not there."""
    access_organisation(actor=actor, organisation_id=organisation_id)
    members = OrganisationMember.objects.filter(organisation_id=organisation_id)
    return _one(members, member_id, for_update=False)


def access_resident(*, actor: Actor, resident_id: int, for_update: bool = False) -> Resident:
    """A resident the actor sees; the same 404 whether missing, erased or not theirs."""
    residents = residents_visible(actor).select_related(RESIDENT_PLACES).prefetch_related("tags")
    if for_update:
        residents = residents.select_for_update(of=("self",))
    resident = residents.filter(pk=resident_id).first()
    if resident is None:
        raise resident_not_found(resident_id)
    return resident


# --- what they see of a resident -------------------------------------------------------------


def _leads_residents_place(actor: Actor, resident: Resident) -> bool:
    """Whether the actor leads the resident's flat, from the places loaded with the resident
    (``RESIDENT_PLACES``): no query when they were."""
    if actor.is_district:
        return True
    household = resident.household
    scope = actor.scope
    if household is None or not scope.anything:
        return False
    unit = household.unit
    building = unit.building
    if (
        unit.pk in scope.unit_ids
        or building.pk in scope.building_ids
        or building.estate_id in scope.estate_ids
    ):
        return True
    area = building.estate.area if scope.area_paths else None
    return area is not None and any(area.path.startswith(path) for path in scope.area_paths)


def sees_personal_data_of(actor: Actor, resident: Resident) -> bool:
    """Names, phones and tags unmasked: with ``personal_data:read``; for a person, their own
    household; for a leader, the places they lead."""
    if actor.personal_data:
        return True
    if not actor.is_person:
        return False
    if actor.is_self(resident.pk) or (
        actor.household_id is not None and actor.household_id == resident.household_id
    ):
        return True
    return actor.scope.personal_data and _leads_residents_place(actor, resident)


# --- action checks ---------------------------------------------------------------------------


def may_register_resident(actor: Actor, household_id: int | None) -> None:
    """Registering residents is a leader's job, in a flat of the places they lead (only the
    district registers someone without a flat)."""
    leaders_only(actor)
    if household_id is not None:
        _named(Household, household_id, field="household_id")
    if actor.is_district:
        return
    if household_id is None or not actor.leads_household(household_id):
        raise out_of_scope()


def may_change_resident(actor: Actor, resident: Resident, changes: dict[str, Any]) -> None:
    """Whoever sees a resident may correct them (a person: their own household), except their
    phone, which signs them in: theirs, or a leader's of their place, to change. Moving
    them to another flat, and their tags (leaders' classification, which sets outreach),
    need a leader of the places involved; linking them to a sign-in, the district."""
    if actor.is_district:
        return
    if "user" in changes:
        raise NotAllowed(
            _("Only the district links residents to sign-in accounts."), code="district_only"
        )
    if (
        "phone" in changes
        and not actor.is_self(resident.pk)
        and not actor.leads_household(resident.household_id)
    ):
        raise NotAllowed(
            _("A phone number signs its resident in: only they or a leader change it."),
            code="not_yourself",
        )
    moving = "household_id" in changes and changes["household_id"] != resident.household_id
    if moving or "tag_ids" in changes:
        leaders_only(actor)
        if moving and changes["household_id"] is not None:
            _named(Household, changes["household_id"], field="household_id")
        if not actor.leads_household(resident.household_id):
            raise out_of_scope()
    if moving and not actor.leads_household(changes["household_id"]):
        raise out_of_scope()


def may_add_household(actor: Actor, *, unit_id: int) -> None:
    """Adding a flat is a leader's job, in a unit of the places they lead."""
    leaders_only(actor)
    _named(Unit, unit_id, field="unit_id")
    if not units_led(actor).filter(pk=unit_id).exists():
        raise out_of_scope()


def may_change_household(actor: Actor, household: Household) -> None:
    leaders_only(actor)
    if not actor.leads_household(household.pk):
        raise out_of_scope()


def _leads_area(actor: Actor, area: Area | None) -> bool:
    """Leads the area, or one above it (an estate with no area: only the district)."""
    if actor.is_district:
        return True
    return area is not None and any(area.path.startswith(p) for p in actor.scope.area_paths)


def may_add_estate(actor: Actor, *, area_id: int | None) -> None:
    """An estate goes in an area; a leader of that area (or above) may add one there."""
    leaders_only(actor)
    area = _named(Area, area_id, field="area_id") if area_id is not None else None
    if not _leads_area(actor, area):
        raise out_of_scope()


def may_change_estate(actor: Actor, estate: Estate, changes: dict[str, Any]) -> None:
    """A leader of the whole estate changes it; moving it to another area needs a leader of
    that area too."""
    leaders_only(actor)
    moving = "area_id" in changes and changes["area_id"] != estate.area_id
    target = None
    if moving and changes["area_id"] is not None:
        target = _named(Area, changes["area_id"], field="area_id")
    if not actor.leads_estate(estate.pk):
        raise out_of_scope()
    if moving and not _leads_area(actor, target):
        raise out_of_scope()


def _leads_building(actor: Actor, building: Building) -> bool:
    return building.pk in actor.scope.building_ids or actor.leads_estate(building.estate_id)


def may_add_building(actor: Actor, *, estate_id: int) -> None:
    leaders_only(actor)
    _named(Estate, estate_id, field="estate_id")
    if not actor.leads_estate(estate_id):
        raise out_of_scope()


def may_change_building(actor: Actor, building: Building) -> None:
    leaders_only(actor)
    if not _leads_building(actor, building):
        raise out_of_scope()


def may_add_unit(actor: Actor, *, building_id: int) -> None:
    leaders_only(actor)
    building = _named(Building, building_id, field="building_id")
    if not _leads_building(actor, building):
        raise out_of_scope()


def may_change_unit(actor: Actor, unit: Unit) -> None:
    leaders_only(actor)
    if not units_led(actor).filter(pk=unit.pk).exists():
        raise out_of_scope()


def may_define_areas(actor: Actor) -> None:
    """The hierarchy of areas (its levels, streets, grids...) is the district's own."""
    if not actor.is_district:
        raise not_for_residents()


def may_manage_organisations(actor: Actor) -> None:
    """Organisations are the district's partners: only the district adds or changes them."""
    if not actor.is_district:
        raise not_for_residents()


def sees_contact_details(actor: Actor) -> bool:
    """An organisation's contact person is a person: unmasked with ``personal_data:read``."""
    return actor.personal_data
