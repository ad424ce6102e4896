"""Who sees which residents, and whether unmasked. Fail closed: missing and hidden look alike."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.errors import NotFound
from tenants.community.models import Resident


@dataclass(frozen=True)
class Viewer:
    """What the caller may see: personal data unmasked or not; acting for one resident or not."""

    personal_data: bool = False
    acting_resident: Resident | None = None

    def residents(self, queryset: QuerySet[Resident]) -> QuerySet[Resident]:
        resident = self.acting_resident
        if resident is None:
            return queryset
        if resident.household_id is None:
            return queryset.filter(pk=resident.pk)
        return queryset.filter(household_id=resident.household_id)

    def sees_personal_data_of(self, resident: Resident) -> bool:
        if self.personal_data:
            return True
        acting = self.acting_resident
        return acting is not None and (
            acting.pk == resident.pk
            or (acting.household_id is not None and acting.household_id == resident.household_id)
        )


def access_resident(*, viewer: Viewer, resident_id: int) -> Resident:
    resident = (
        viewer.residents(Resident.objects.filter(erased_at__isnull=True))
        .select_related("household__unit__building")
        .prefetch_related("tags")
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    return resident
