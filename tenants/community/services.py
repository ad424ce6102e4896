"""Writes to the community: residents and households. One transaction each, audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.errors import Conflict, NotFound, ValidationFailed
from tenants.audit.services import audit_record, diff
from tenants.community.models import Household, Resident, ResidentTag, Unit
from tenants.community.phones import normalise_phone

RESIDENT_FIELDS = (
    "display_name",
    "phone",
    "household_id",
    "preferred_language",
    "contact_consent",
    "needs_assistance",
    "moved_in_on",
)
PHONE_TAKEN = gettext_noop("Another resident already has this phone number.")


# The audit log is append-only and outlives erasure, so it records that these
# changed, never their values.
PERSONAL_FIELDS = frozenset({"display_name", "phone"})
REDACTED = "<personal>"


def _snapshot(resident: Resident) -> dict[str, Any]:
    data = {field: getattr(resident, field) for field in RESIDENT_FIELDS}
    data["status"] = resident.status
    data["moved_out_on"] = resident.moved_out_on
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def audit_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``diff`` with personal values replaced by a marker (``None`` stays ``None``)."""
    changes = diff(before, after)
    for field in PERSONAL_FIELDS & set(changes):
        changes[field] = [None if v is None else REDACTED for v in changes[field]]
    return changes


def _phone_free(phone: str | None, *, exclude_pk: int | None = None) -> None:
    if phone is None:
        return
    others = Resident.objects.filter(phone=phone)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    taken = others.exists()
    if taken:
        raise Conflict(_(PHONE_TAKEN), code="phone_taken", field="phone")


def _household(household_id: int | None) -> Household | None:
    if household_id is None:
        return None
    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise ValidationFailed(
            _("No household %(id)s.") % {"id": household_id},
            code="household_not_found",
            field="household_id",
        )
    return household


def _tags(tag_ids: list[int] | None) -> list[ResidentTag] | None:
    if tag_ids is None:
        return None
    tags = list(ResidentTag.objects.filter(pk__in=tag_ids))
    if len(tags) != len(set(tag_ids)):
        raise ValidationFailed(_("Unknown tag."), code="tag_not_found", field="tag_ids")
    return tags


def _language(language: str) -> str:
    if language and language not in {code for code, _label in settings.LANGUAGES}:
        raise ValidationFailed(
            _("Unknown language “%(language)s”.") % {"language": language},
            code="language_invalid",
            field="preferred_language",
        )
    return language


def _name(display_name: str) -> str:
    display_name = (display_name or "").strip()
    if not display_name:
        raise ValidationFailed(
            _("A resident needs a name."), code="name_required", field="display_name"
        )
    return display_name


@transaction.atomic
def resident_create(
    *,
    display_name: str,
    phone: str | None = None,
    household_id: int | None = None,
    preferred_language: str = "",
    contact_consent: bool = False,
    needs_assistance: bool = False,
    moved_in_on: date | None = None,
    tag_ids: list[int] | None = None,
) -> Resident:
    resident = Resident(
        display_name=_name(display_name),
        phone=normalise_phone(phone),
        household=_household(household_id),
        preferred_language=_language(preferred_language),
        contact_consent=contact_consent,
        needs_assistance=needs_assistance,
        moved_in_on=moved_in_on,
    )
    _phone_free(resident.phone)
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:  # a concurrent insert of the same phone
        raise Conflict(_(PHONE_TAKEN), code="phone_taken", field="phone") from exc
    tags = _tags(tag_ids)
    if tags:
        resident.tags.set(tags)
    audit_record(
        action="resident.created", obj=resident, changes=audit_diff({}, _snapshot(resident))
    )
    return resident


@transaction.atomic
def resident_update(*, resident_id: int, **changes: Any) -> Resident:
    """Change the given fields only; ``tag_ids`` replaces the tags."""
    resident = Resident.objects.select_for_update().filter(pk=resident_id).first()
    if resident is None or resident.erased_at is not None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    before = _snapshot(resident)
    if "display_name" in changes:
        resident.display_name = _name(changes["display_name"])
    if "phone" in changes:
        resident.phone = normalise_phone(changes["phone"])
        _phone_free(resident.phone, exclude_pk=resident.pk)
    if "household_id" in changes:
        resident.household = _household(changes["household_id"])
    if "preferred_language" in changes:
        changes["preferred_language"] = _language(changes["preferred_language"] or "")
    for field in ("preferred_language", "contact_consent", "needs_assistance", "moved_in_on"):
        if field in changes:
            setattr(resident, field, changes[field])
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:
        raise Conflict(_(PHONE_TAKEN), code="phone_taken", field="phone") from exc
    tags = _tags(changes.get("tag_ids"))
    if tags is not None:
        resident.tags.set(tags)
    audit_record(
        action="resident.updated", obj=resident, changes=audit_diff(before, _snapshot(resident))
    )
    return resident


@transaction.atomic
def resident_move_out(*, resident_id: int, on: date | None = None) -> Resident:
    resident = Resident.objects.select_for_update().filter(pk=resident_id).first()
    if resident is None:
        raise NotFound(_("No resident %(id)s.") % {"id": resident_id}, code="resident_not_found")
    before = _snapshot(resident)
    resident.status = Resident.Status.MOVED_OUT
    resident.moved_out_on = on or timezone.localdate()
    resident.save(update_fields=["status", "moved_out_on", "updated_at"])
    audit_record(
        action="resident.moved_out", obj=resident, changes=audit_diff(before, _snapshot(resident))
    )
    return resident


@transaction.atomic
def household_create(
    *, unit_id: int, flat_number: str, building_id: int | None = None
) -> Household:
    """A flat in a unit. Naming the building too guards against a unit of another building."""
    unit = Unit.objects.select_related("building").filter(pk=unit_id).first()
    if unit is None:
        raise ValidationFailed(
            _("No unit %(id)s.") % {"id": unit_id}, code="unit_not_found", field="unit_id"
        )
    if building_id is not None and unit.building_id != building_id:
        raise ValidationFailed(
            _("Unit %(unit)s is not in building %(building)s.")
            % {"unit": unit_id, "building": building_id},
            code="unit_not_in_building",
            field="unit_id",
        )
    flat_number = (flat_number or "").strip()
    if not flat_number:
        raise ValidationFailed(
            _("A household needs a flat number."), code="flat_required", field="flat_number"
        )
    if Household.objects.filter(unit=unit, flat_number=flat_number).exists():
        raise Conflict(
            _("Flat %(flat)s already exists in this unit.") % {"flat": flat_number},
            code="household_exists",
            field="flat_number",
        )
    household = Household.objects.create(unit=unit, flat_number=flat_number)
    audit_record(action="household.created", obj=household)
    return household
