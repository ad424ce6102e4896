"""Who is calling: one ``Actor`` per request, built once by its channel, read by every rule.

Three kinds of caller, whatever the channel:

- the **district's own tool** (``DISTRICT``): an API key that does not act for anyone,
  or a district admin (or superuser) in the admin. It may see and do everything its
  scopes allow in the tenant; it is not a person, so rules about "your own" never
  apply to it, but it cannot make a person do what that person may not (a leader it
  names must lead the place, see ``Actor.as_named``).
- a **staff user** (``STAFF``) of the admin with roles over places: sees and does what
  their places allow.
- a **resident** (``RESIDENT``): through a key with ``residents:act`` acting for them,
  or signed in on the resident pages. A resident who also holds leader roles leads
  the places of those roles, and nothing else.

Built by ``actor_for_key`` (the API's key auth), ``actor_for_resident`` (the resident
pages' sign-in) and ``actor_for_user`` (the admin). Nothing else decides identity:
each module's ``access.py`` takes an ``Actor`` and decides what it may see and do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Q, QuerySet

from tenants.community.models import Household, Resident
from tenants.community.roles import StaffScope, active_roles, resident_scope, staff_scope


class Kind(StrEnum):
    DISTRICT = "district"
    STAFF = "staff"
    RESIDENT = "resident"


EVERYTHING = StaffScope(everything=True, personal_data=True)


@dataclass(frozen=True)
class Actor:
    kind: Kind
    # The person: the resident acting or signed in, or the resident a staff user is.
    resident: Resident | None = None
    # The places this caller leads (the district: everything).
    scope: StaffScope = field(default_factory=StaffScope)
    # May see residents' names, phones and tags unmasked.
    personal_data: bool = False
    user_id: int | None = None
    key_id: int | None = None

    # --- who --------------------------------------------------------------------------

    @property
    def is_district(self) -> bool:
        """The district's tool, or someone whose roles cover the whole tenant."""
        return self.kind == Kind.DISTRICT or self.scope.everything

    @property
    def is_person(self) -> bool:
        return self.resident is not None

    @property
    def resident_id(self) -> int | None:
        return int(self.resident.pk) if self.resident is not None else None

    @property
    def leads_anything(self) -> bool:
        return self.is_district or self.scope.anything

    def is_self(self, resident_id: int | None) -> bool:
        return resident_id is not None and self.resident_id == resident_id

    @property
    def household_id(self) -> int | None:
        return self.resident.household_id if self.resident is not None else None

    @property
    def estate_id(self) -> int | None:
        """The estate the person lives in (None for the district tool and the homeless)."""
        resident = self.resident
        if resident is None or resident.household is None:
            return None
        return int(resident.household.unit.building.estate_id)

    # --- places -----------------------------------------------------------------------

    def households_led(self, queryset: QuerySet[Household] | None = None) -> QuerySet[Household]:
        households = queryset if queryset is not None else Household.objects.all()
        if self.is_district:
            return households
        if not self.scope.anything:
            return households.none()
        return self.scope.households(households)

    def leads_household(self, household_id: int | None) -> bool:
        if self.is_district:
            return True
        if household_id is None or not self.scope.anything:
            return False
        return self.households_led(Household.objects.filter(pk=household_id)).exists()

    def place_q(self, to_unit: str) -> Q:
        """A filter for rows whose unit (reached by ``to_unit``, e.g. ``"household__unit__"``)
        lies in the places this caller leads: everything for the district, nothing for a
        resident who leads nothing."""
        if self.is_district:
            return Q()
        return self.scope._place_q(to_unit)

    def leads_estate(self, estate_id: int | None) -> bool:
        """Leads the whole estate (an estate secretary of it, an area above it, the district)."""
        if self.is_district:
            return True
        if estate_id is None:
            return False
        if estate_id in self.scope.estate_ids:
            return True
        if not self.scope.area_paths:
            return False
        from tenants.community.models import Estate

        paths = Q()
        for path in self.scope.area_paths:
            paths |= Q(area__path__startswith=path)
        return Estate.objects.filter(paths, pk=estate_id).exists()

    def leads_in_estate(self, estate_id: int | None) -> bool:
        """Leads the estate or some place inside it (a building, a unit)."""
        if self.leads_estate(estate_id):
            return True
        if estate_id is None or not (self.scope.building_ids or self.scope.unit_ids):
            return False
        from tenants.community.models import Unit

        return (
            Unit.objects.filter(building__estate_id=estate_id)
            .filter(Q(pk__in=self.scope.unit_ids) | Q(building_id__in=self.scope.building_ids))
            .exists()
        )

    # --- naming someone else ------------------------------------------------------------

    def as_named(self, resident_id: int) -> Actor | None:
        """The actor a body's ``leader_id`` / ``convener_id`` / ``volunteer_id`` names, to be
        judged by the same rules as if they acted themselves. None when no such resident.
        Whether this caller may name someone else at all (only the district's tool may; a
        person names only themself, 403 ``not_yourself``) is the module's access rule."""
        if self.is_self(resident_id):
            return self
        resident = (
            Resident.objects.select_related("household__unit__building")
            .filter(pk=resident_id, erased_at__isnull=True, status=Resident.Status.ACTIVE)
            .first()
        )
        if resident is None:
            return None
        return actor_for_resident(resident, key_id=self.key_id, user_id=self.user_id)

    def holds_role(self, role: str) -> bool:
        if self.resident is None:
            return False
        return active_roles(resident=self.resident).filter(role=role).exists()


# --- built by each channel, and nowhere else ------------------------------------------


def actor_for_key(*, key_id: int, personal_data: bool, acting: Resident | None) -> Actor:
    """The API: a key acting for nobody is the district's tool; acting for a resident, that
    resident (with the places they lead)."""
    if acting is None:
        return Actor(
            kind=Kind.DISTRICT, scope=EVERYTHING, personal_data=personal_data, key_id=key_id
        )
    return actor_for_resident(acting, key_id=key_id, personal_data=personal_data)


def actor_for_resident(
    resident: Resident,
    *,
    key_id: int | None = None,
    user_id: int | None = None,
    personal_data: bool = False,
) -> Actor:
    """A resident, on the resident pages or through a key acting for them. Their leader
    roles give them the places they lead (and personal data there) and nothing else."""
    return Actor(
        kind=Kind.RESIDENT,
        resident=resident,
        scope=resident_scope(resident),
        personal_data=personal_data,
        key_id=key_id,
        user_id=user_id,
    )


def actor_for_user(user: Any) -> Actor:
    """The admin: a superuser or a tenant-wide district admin is the district; any other
    staff user has the places of their roles (none if they hold none)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Actor(kind=Kind.STAFF)
    if user.is_superuser:
        return Actor(kind=Kind.DISTRICT, scope=EVERYTHING, personal_data=True, user_id=user.pk)
    resident = (
        Resident.objects.select_related("household__unit__building")
        .filter(user=user, erased_at__isnull=True)
        .first()
    )
    scope = staff_scope(user)
    if scope.everything:
        return Actor(
            kind=Kind.DISTRICT,
            resident=resident,
            scope=EVERYTHING,
            personal_data=True,
            user_id=user.pk,
        )
    return Actor(
        kind=Kind.STAFF,
        resident=resident,
        scope=scope,
        personal_data=scope.personal_data,
        user_id=user.pk,
    )


def request_actor(request: Any) -> Actor:
    """The actor of a request on any channel, as its channel built it: the API's key auth
    and the resident pages set ``request.actor``; in the admin it is built from the
    signed-in user, once per request."""
    actor = getattr(request, "actor", None)
    if actor is None:
        actor = actor_for_user(getattr(request, "user", None))
        request.actor = actor
    return actor
