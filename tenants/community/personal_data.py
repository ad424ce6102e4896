"""A resident's personal data: everything Linli holds about them, and erasure on request."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli import clock
from linli.errors import NotFound
from tenants.audit.models import AuditEntry
from tenants.audit.services import audit_record
from tenants.community.models import Resident

RESIDENT_TYPE = "community.resident"


def _resident(resident_id: int) -> Resident:
    resident = (
        Resident.objects.select_related("household__unit__building__estate", "user")
        .prefetch_related("tags", "roles", "memberships__organisation")
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    return resident


def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@transaction.atomic
def resident_export(*, resident_id: int) -> dict[str, Any]:
    """Everything held about one resident, as JSON-ready data. The export itself is audited."""
    resident = _resident(resident_id)
    household = resident.household
    place = None
    if household is not None:
        unit = household.unit
        place = {
            "estate": unit.building.estate.name,
            "address": unit.building.estate.address,
            "building": unit.building.name,
            "unit": unit.name,
            "flat": household.flat_number,
        }
    history = list(
        AuditEntry.objects.filter(
            Q(object_type=RESIDENT_TYPE, object_id=str(resident.pk))
            | Q(acting_resident_id=resident.pk)
        ).order_by("at", "id")
    )
    audit_record(action="resident.exported", obj=resident)
    return {
        "exported_at": clock.iso(timezone.now()),
        "resident": {
            "id": resident.pk,
            "display_name": resident.display_name,
            "phone": resident.phone,
            "preferred_language": resident.preferred_language,
            "contact_consent": resident.contact_consent,
            "needs_assistance": resident.needs_assistance,
            "birth_year": resident.birth_year,
            "status": resident.status,
            "moved_in_on": _date(resident.moved_in_on),
            "moved_out_on": _date(resident.moved_out_on),
            "login": resident.user.get_username() if resident.user else None,
            "created_at": clock.iso(resident.created_at),
        },
        "home": place,
        "tags": [tag.name for tag in resident.tags.all()],
        "roles": [
            {
                "role": role.role,
                "scope": role.scope,
                "starts_on": _date(role.starts_on),
                "ends_on": _date(role.ends_on),
            }
            for role in resident.roles.all()
        ],
        "organisations": [
            {"organisation": m.organisation.name, "title": m.title}
            for m in resident.memberships.all()
        ],
        "history": [
            {"at": clock.iso(e.at), "action": e.action, "changes": e.changes} for e in history
        ],
    }


@transaction.atomic
def resident_erase(*, resident_id: int) -> Resident:
    """Blank the resident's personal fields; keep the row so history stays, anonymous."""
    resident = Resident.objects.select_for_update().filter(pk=resident_id).first()
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    if resident.erased_at is not None:
        return resident
    now = timezone.now()
    user = resident.user
    resident.display_name = ""
    resident.phone = None
    resident.preferred_language = ""
    resident.contact_consent = False
    resident.needs_assistance = False
    resident.birth_year = None
    resident.moved_in_on = None
    resident.user = None
    resident.erased_at = now
    if resident.status != Resident.Status.MOVED_OUT:
        resident.status = Resident.Status.MOVED_OUT
        resident.moved_out_on = timezone.localdate()
    resident.save()
    resident.tags.clear()
    if user is not None:
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])
    audit_record(action="resident.erased", obj=resident)
    from tenants.events.services import event_record

    event_record(
        type="resident.erased", object_id=resident.pk, payload={"resident_id": resident.pk}
    )
    return resident
