"""Writes to the community: residents, changes to places (their creation is in ``places``)
and organisations. One transaction each, audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.errors import Conflict, NotFound, ValidationFailed
from tenants.audit.services import audit_record, diff
from tenants.community.models import (
    BIRTH_YEAR_MIN,
    Area,
    Building,
    Estate,
    Household,
    Organisation,
    OrganisationMember,
    Resident,
    ResidentTag,
    Unit,
)
from tenants.community.phones import normalise_phone
from tenants.community.places import lowest_depth

RESIDENT_FIELDS = (
    "display_name",
    "phone",
    "household_id",
    "preferred_language",
    "contact_consent",
    "needs_assistance",
    "moved_in_on",
    "birth_year",
)
PHONE_TAKEN = gettext_noop("Another resident already has this phone number.")


# The audit log is append-only and outlives erasure, so it records that these
# changed, never their values.
PERSONAL_FIELDS = frozenset({"display_name", "phone", "birth_year"})
REDACTED = "<personal>"


def _snapshot(resident: Resident) -> dict[str, Any]:
    data = {field: getattr(resident, field) for field in RESIDENT_FIELDS}
    data["status"] = resident.status
    data["moved_out_on"] = resident.moved_out_on
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}


def audit_diff(
    before: dict[str, Any], after: dict[str, Any], personal: frozenset[str] = PERSONAL_FIELDS
) -> dict[str, list[Any]]:
    """``diff`` with personal values replaced by a marker (``None`` and ``""`` stay as
    they are: that a value was absent is no one's personal data)."""
    changes = diff(before, after)
    for field in personal & set(changes):
        changes[field] = [v if v in (None, "") else REDACTED for v in changes[field]]
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


def _birth_year(birth_year: int | None) -> int | None:
    if birth_year is not None and not BIRTH_YEAR_MIN <= birth_year <= timezone.localdate().year:
        raise ValidationFailed(
            _("A birth year lies between %(first)s and this year.") % {"first": BIRTH_YEAR_MIN},
            code="birth_year_invalid",
            field="birth_year",
        )
    return birth_year


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
    birth_year: int | None = None,
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
        birth_year=_birth_year(birth_year),
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
    if "birth_year" in changes:
        changes["birth_year"] = _birth_year(changes["birth_year"])
    for field in (
        "preferred_language",
        "contact_consent",
        "needs_assistance",
        "moved_in_on",
        "birth_year",
    ):
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


# --- places: changes (creating them is ``tenants.community.places``) -----------------------


def _label(value: str, *, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(
            _("%(what)s needs a name.") % {"what": what}, code="name_required", field=field
        )
    return value


def _taken(code: str, label: str, *, field: str = "name") -> Conflict:
    return Conflict(_("“%(name)s” already exists here.") % {"name": label}, code=code, field=field)


def _save_unique(obj: Any, conflict: Conflict) -> None:
    """Save, answering a concurrent insert of the same label as the conflict it is."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise conflict from exc


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in names}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, date) else value


def estate_area(area_id: int | None) -> Area | None:
    """The area an estate is attached to: one of the lowest level (422 otherwise)."""
    if area_id is None:
        return None
    area = Area.objects.select_related("level").filter(pk=area_id).first()
    if area is None:
        raise ValidationFailed(
            _("No area %(id)s.") % {"id": area_id}, code="area_not_found", field="area_id"
        )
    if area.level.depth != lowest_depth():
        raise ValidationFailed(
            _("Estates belong to areas of the lowest level."),
            code="area_not_lowest",
            field="area_id",
        )
    return area


ESTATE_FIELDS = ("name", "address", "area_id", "latitude", "longitude")


@transaction.atomic
def estate_update(*, estate_id: int, **changes: Any) -> Estate:
    """Rename an estate, change its address, area or coordinates (both or neither)."""
    estate = Estate.objects.select_for_update().filter(pk=estate_id).first()
    if estate is None:
        raise NotFound(_("No estate %(id)s.") % {"id": estate_id}, code="estate_not_found")
    before = _fields(estate, ESTATE_FIELDS)
    if "name" in changes:
        estate.name = _label(changes["name"], field="name", what=_("An estate"))
        if Estate.objects.filter(name=estate.name).exclude(pk=estate.pk).exists():
            raise _taken("estate_exists", estate.name)
    if "address" in changes:
        estate.address = (changes["address"] or "").strip()
    if "area_id" in changes:
        estate.area = estate_area(changes["area_id"])
    for field in ("latitude", "longitude"):
        if field in changes:
            setattr(estate, field, changes[field])
    if (estate.latitude is None) != (estate.longitude is None):
        raise ValidationFailed(
            _("Give both latitude and longitude, or neither."),
            code="coordinates_incomplete",
            field="latitude" if estate.latitude is None else "longitude",
        )
    _save_unique(estate, _taken("estate_exists", estate.name))
    audit_record(
        action="estate.updated", obj=estate, changes=diff(before, _fields(estate, ESTATE_FIELDS))
    )
    return estate


@transaction.atomic
def building_update(*, building_id: int, name: str) -> Building:
    building = Building.objects.select_for_update().filter(pk=building_id).first()
    if building is None:
        raise NotFound(_("No building %(id)s.") % {"id": building_id}, code="building_not_found")
    before = _fields(building, ("name",))
    building.name = _label(name, field="name", what=_("A building"))
    siblings = Building.objects.filter(estate_id=building.estate_id, name=building.name)
    if siblings.exclude(pk=building.pk).exists():
        raise _taken("building_exists", building.name)
    _save_unique(building, _taken("building_exists", building.name))
    audit_record(
        action="building.updated", obj=building, changes=diff(before, _fields(building, ("name",)))
    )
    return building


@transaction.atomic
def unit_update(*, unit_id: int, name: str) -> Unit:
    unit = Unit.objects.select_for_update().filter(pk=unit_id).first()
    if unit is None:
        raise NotFound(_("No unit %(id)s.") % {"id": unit_id}, code="unit_not_found")
    before = _fields(unit, ("name",))
    unit.name = _label(name, field="name", what=_("A unit"))
    if (
        Unit.objects.filter(building_id=unit.building_id, name=unit.name)
        .exclude(pk=unit.pk)
        .exists()
    ):
        raise _taken("unit_exists", unit.name)
    _save_unique(unit, _taken("unit_exists", unit.name))
    audit_record(action="unit.updated", obj=unit, changes=diff(before, _fields(unit, ("name",))))
    return unit


@transaction.atomic
def household_update(*, household: Household, flat_number: str) -> Household:
    """Renumber a flat (the one ``household`` names, locked here)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    before = _fields(household, ("flat_number",))
    flat_number = (flat_number or "").strip()
    if not flat_number:
        raise ValidationFailed(
            _("A household needs a flat number."), code="flat_required", field="flat_number"
        )
    taken = _taken("household_exists", flat_number, field="flat_number")
    household.flat_number = flat_number
    others = Household.objects.filter(unit_id=household.unit_id, flat_number=flat_number)
    if others.exclude(pk=household.pk).exists():
        raise taken
    _save_unique(household, taken)
    audit_record(
        action="household.updated",
        obj=household,
        changes=diff(before, _fields(household, ("flat_number",))),
    )
    return household


# --- organisations -------------------------------------------------------------------------

ORGANISATION_FIELDS = ("name", "kind", "contact_name", "contact_phone", "address", "active")
# Its contact person is a person: the audit log records that these changed, not to what.
CONTACT_FIELDS = frozenset({"contact_name", "contact_phone"})


def _contact_phone(raw: str | None) -> str:
    try:
        return normalise_phone(raw) or ""
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, code=exc.code, field="contact_phone") from exc


def _organisation_name_free(name: str, *, exclude_pk: int | None = None) -> None:
    others = Organisation.objects.filter(name=name)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise _taken("organisation_exists", name)


@transaction.atomic
def organisation_create(
    *,
    name: str,
    kind: str,
    contact_name: str = "",
    contact_phone: str | None = None,
    address: str = "",
    active: bool = True,
) -> Organisation:
    """A partner unit, property company, owners' committee... that topics can be given to."""
    name = _label(name, field="name", what=_("An organisation"))
    _organisation_name_free(name)
    organisation = Organisation(
        name=name,
        kind=kind,
        contact_name=(contact_name or "").strip(),
        contact_phone=_contact_phone(contact_phone),
        address=(address or "").strip(),
        active=active,
    )
    _save_unique(organisation, _taken("organisation_exists", name))
    audit_record(
        action="organisation.created",
        obj=organisation,
        changes=audit_diff({}, _fields(organisation, ORGANISATION_FIELDS), CONTACT_FIELDS),
    )
    return organisation


@transaction.atomic
def organisation_update(*, organisation_id: int, **changes: Any) -> Organisation:
    """Change the given fields only; ``active: false`` stops new topics going to it."""
    organisation = Organisation.objects.select_for_update().filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound(
            _("No organisation %(id)s.") % {"id": organisation_id}, code="organisation_not_found"
        )
    before = _fields(organisation, ORGANISATION_FIELDS)
    if "name" in changes:
        organisation.name = _label(changes["name"], field="name", what=_("An organisation"))
        _organisation_name_free(organisation.name, exclude_pk=organisation.pk)
    if "contact_phone" in changes:
        organisation.contact_phone = _contact_phone(changes["contact_phone"])
    for field in ("contact_name", "address"):
        if field in changes:
            setattr(organisation, field, (changes[field] or "").strip())
    for field in ("kind", "active"):
        if changes.get(field) is not None:
            setattr(organisation, field, changes[field])
    _save_unique(organisation, _taken("organisation_exists", organisation.name))
    audit_record(
        action="organisation.updated",
        obj=organisation,
        changes=audit_diff(before, _fields(organisation, ORGANISATION_FIELDS), CONTACT_FIELDS),
    )
    return organisation


@transaction.atomic
def organisation_member_add(
    *, organisation_id: int, resident_id: int, title: str = ""
) -> OrganisationMember:
    """A resident who answers for an organisation (a partner's bookings, say)."""
    organisation = Organisation.objects.select_for_update().filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound(
            _("No organisation %(id)s.") % {"id": organisation_id}, code="organisation_not_found"
        )
    resident = Resident.objects.filter(
        pk=resident_id, erased_at__isnull=True, status=Resident.Status.ACTIVE
    ).first()
    if resident is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field="resident_id",
        )
    taken = Conflict(
        _("This resident is already a member."), code="member_exists", field="resident_id"
    )
    if organisation.members.filter(resident=resident).exists():
        raise taken
    member = OrganisationMember(
        organisation=organisation, resident=resident, title=(title or "").strip()
    )
    _save_unique(member, taken)
    audit_record(
        action="organisation.member_added",
        obj=member,
        changes={
            "organisation_id": [None, organisation.pk],
            "resident_id": [None, resident.pk],
            "title": [None, member.title],
        },
    )
    return member


@transaction.atomic
def organisation_member_remove(*, member: OrganisationMember) -> None:
    audit_record(
        action="organisation.member_removed",
        obj=member,
        changes={
            "organisation_id": [member.organisation_id, None],
            "resident_id": [member.resident_id, None],
        },
    )
    OrganisationMember.objects.filter(pk=member.pk).delete()
