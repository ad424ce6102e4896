"""Roles residents hold over places, and what a staff user may therefore see in the admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import NotFound, ValidationFailed
from tenants.audit.services import audit_record
from tenants.community.models import (
    Area,
    Building,
    Estate,
    Household,
    Resident,
    Role,
    RoleAssignment,
    Unit,
)

Scope = RoleAssignment.Scope

# Which scopes each role may be given.
ROLE_SCOPES: dict[str, set[str]] = {
    Role.DISTRICT_ADMIN: {Scope.TENANT, Scope.AREA},
    Role.GRID_WORKER: {Scope.AREA},
    Role.ESTATE_SECRETARY: {Scope.ESTATE},
    Role.BUILDING_LEADER: {Scope.BUILDING},
    Role.UNIT_LEADER: {Scope.UNIT},
    Role.CENTRAL_HOUSEHOLD: {Scope.UNIT, Scope.BUILDING},
    Role.VOLUNTEER: {Scope.TENANT, Scope.ESTATE, Scope.BUILDING},
    Role.SHOP_OPERATOR: {Scope.ESTATE},
}
# Roles whose holders work with residents' personal data in the admin.
PERSONAL_DATA_ROLES = frozenset(
    {
        Role.DISTRICT_ADMIN,
        Role.GRID_WORKER,
        Role.ESTATE_SECRETARY,
        Role.BUILDING_LEADER,
        Role.UNIT_LEADER,
    }
)
PLACE_MODELS: dict[str, Any] = {
    Scope.AREA: Area,
    Scope.ESTATE: Estate,
    Scope.BUILDING: Building,
    Scope.UNIT: Unit,
}


def _estate_of(scope: str, place: Any) -> int | None:
    if scope == Scope.ESTATE:
        return int(place.pk)
    if scope == Scope.BUILDING:
        return int(place.estate_id)
    if scope == Scope.UNIT:
        return int(place.building.estate_id)
    return None


@transaction.atomic
def role_assign(
    *,
    resident_id: int,
    role: str,
    scope: str,
    place_id: int | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    estate_id: int | None = None,
) -> RoleAssignment:
    """Give a resident a role over a place. ``estate_id``, when given, must contain the place."""
    resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role."), code="role_invalid", field="role")
    if scope not in ROLE_SCOPES[role]:
        raise ValidationFailed(
            _("A %(role)s cannot be scoped to a %(scope)s.")
            % {"role": Role(role).label, "scope": Scope(scope).label},
            code="role_scope_invalid",
            field="scope",
        )
    place = None
    if scope != Scope.TENANT:
        model = PLACE_MODELS[scope]
        place = model.objects.filter(pk=place_id).first() if place_id else None
        if place is None:
            raise ValidationFailed(
                _("No %(scope)s %(id)s.") % {"scope": Scope(scope).label, "id": place_id},
                code="place_not_found",
                field="place_id",
            )
        if estate_id is not None and _estate_of(scope, place) != estate_id:
            raise ValidationFailed(
                _("That place is not in estate %(estate)s.") % {"estate": estate_id},
                code="place_not_in_estate",
                field="place_id",
            )
    starts_on = starts_on or timezone.localdate()
    if ends_on is not None and ends_on < starts_on:
        raise ValidationFailed(
            _("A role cannot end before it starts."), code="dates_invalid", field="ends_on"
        )
    assignment = RoleAssignment.objects.create(
        resident=resident,
        role=role,
        scope=scope,
        starts_on=starts_on,
        ends_on=ends_on,
        **({scope: place} if place is not None else {}),
    )
    audit_record(
        action="role.assigned",
        obj=assignment,
        changes={"role": [None, role], "scope": [None, scope], "place": [None, place_id]},
    )
    return assignment


@transaction.atomic
def role_end(*, assignment_id: int, on: date | None = None) -> RoleAssignment:
    assignment = RoleAssignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound(_("No such role."), code="role_not_found")
    assignment.ends_on = max(on or timezone.localdate(), assignment.starts_on)
    assignment.save(update_fields=["ends_on", "updated_at"])
    audit_record(action="role.ended", obj=assignment)
    return assignment


def active_roles(*, resident: Resident, today: date | None = None) -> QuerySet[RoleAssignment]:
    today = today or timezone.localdate()
    return RoleAssignment.objects.filter(resident=resident, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    )


@dataclass(frozen=True)
class StaffScope:
    """The places a staff user manages, from their active roles (superusers: everything)."""

    everything: bool = False
    area_paths: tuple[str, ...] = ()
    estate_ids: frozenset[int] = field(default_factory=frozenset)
    building_ids: frozenset[int] = field(default_factory=frozenset)
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    personal_data: bool = False

    @property
    def anything(self) -> bool:
        return self.everything or bool(
            self.area_paths or self.estate_ids or self.building_ids or self.unit_ids
        )

    def households(self, queryset: QuerySet[Household]) -> QuerySet[Household]:
        if self.everything:
            return queryset
        return queryset.filter(self._place_q("unit__"))

    def residents(self, queryset: QuerySet[Resident]) -> QuerySet[Resident]:
        if self.everything:
            return queryset
        return queryset.filter(self._place_q("household__unit__"))

    def units(self, queryset: QuerySet[Unit]) -> QuerySet[Unit]:
        if self.everything:
            return queryset
        return queryset.filter(self._place_q(""))

    def _place_q(self, to_unit: str) -> Q:
        q = Q(pk__in=[])
        if self.unit_ids:
            q |= Q(**{f"{to_unit}id__in" if to_unit else "pk__in": self.unit_ids})
        if self.building_ids:
            q |= Q(**{f"{to_unit}building_id__in": self.building_ids})
        if self.estate_ids:
            q |= Q(**{f"{to_unit}building__estate_id__in": self.estate_ids})
        for path in self.area_paths:
            q |= Q(**{f"{to_unit}building__estate__area__path__startswith": path})
        return q


def staff_scope(user: Any) -> StaffScope:
    if not user.is_authenticated or not user.is_active:
        return StaffScope()
    if user.is_superuser:
        return StaffScope(everything=True, personal_data=True)
    resident = Resident.objects.filter(user=user, erased_at__isnull=True).first()
    if resident is None:
        return StaffScope()
    return resident_scope(resident)


def resident_scope(resident: Resident) -> StaffScope:
    """The places a resident leads, from their active roles."""
    roles = list(active_roles(resident=resident).select_related("area"))
    if any(r.scope == Scope.TENANT and r.role == Role.DISTRICT_ADMIN for r in roles):
        return StaffScope(everything=True, personal_data=True)
    managing = [r for r in roles if r.role in PERSONAL_DATA_ROLES]
    return StaffScope(
        area_paths=tuple(r.area.path for r in managing if r.area is not None),
        estate_ids=frozenset(r.estate_id for r in managing if r.estate_id),
        building_ids=frozenset(r.building_id for r in managing if r.building_id),
        unit_ids=frozenset(r.unit_id for r in managing if r.unit_id),
        personal_data=bool(managing),
    )
