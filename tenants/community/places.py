"""Writes to the tenant's places: area levels, areas, estates, buildings, units. Audited."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from linli.errors import Conflict, ValidationFailed
from tenants.audit.services import audit_record
from tenants.community.models import Area, AreaLevel, Building, Estate, Unit


def _text(value: str, *, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(
            _("%(what)s needs a name.") % {"what": what}, code="name_required", field=field
        )
    return value


@transaction.atomic
def area_level_create(*, depth: int, name: str) -> AreaLevel:
    if depth < 1:
        raise ValidationFailed(_("Levels start at depth 1."), code="depth_invalid", field="depth")
    if AreaLevel.objects.filter(depth=depth).exists():
        raise Conflict(
            _("Depth %(depth)s already has a level.") % {"depth": depth},
            code="level_exists",
            field="depth",
        )
    level = AreaLevel.objects.create(depth=depth, name=_text(name, field="name", what=_("A level")))
    audit_record(action="area_level.created", obj=level)
    return level


@transaction.atomic
def area_create(*, name: str, level_id: int, parent_id: int | None = None, code: str = "") -> Area:
    """An area one level below its parent (top-level areas have no parent)."""
    level = AreaLevel.objects.filter(pk=level_id).first()
    if level is None:
        raise ValidationFailed(
            _("No area level %(id)s.") % {"id": level_id}, code="level_not_found", field="level_id"
        )
    parent = None
    if parent_id is not None:
        parent = Area.objects.select_related("level").filter(pk=parent_id).first()
        if parent is None:
            raise ValidationFailed(
                _("No area %(id)s.") % {"id": parent_id}, code="area_not_found", field="parent_id"
            )
        if parent.level.depth != level.depth - 1:
            raise ValidationFailed(
                _("A %(level)s must sit directly under a %(parent_level)s area.")
                % {"level": level.name, "parent_level": _level_name(level.depth - 1)},
                code="area_level_mismatch",
                field="parent_id",
            )
    elif level.depth != 1:
        raise ValidationFailed(
            _("Only top-level areas have no parent."), code="parent_required", field="parent_id"
        )
    name = _text(name, field="name", what=_("An area"))
    if Area.objects.filter(parent=parent, name=name).exists():
        raise Conflict(
            _("“%(name)s” already exists here.") % {"name": name}, code="area_exists", field="name"
        )
    area = Area.objects.create(level=level, parent=parent, name=name, code=code, path="")
    area.path = f"{parent.path if parent else '/'}{area.pk}/"
    area.save(update_fields=["path"])
    audit_record(action="area.created", obj=area)
    return area


def _level_name(depth: int) -> str:
    level = AreaLevel.objects.filter(depth=depth).first()
    return level.name if level else str(depth)


def lowest_depth() -> int | None:
    level = AreaLevel.objects.order_by("-depth").first()
    return level.depth if level else None


@transaction.atomic
def estate_create(
    *,
    name: str,
    address: str = "",
    area_id: int | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Estate:
    """An estate, attached to an area of the lowest level (a grid, say) when areas exist."""
    area = None
    if area_id is not None:
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
    if (latitude is None) != (longitude is None):
        raise ValidationFailed(
            _("Give both latitude and longitude, or neither."),
            code="coordinates_incomplete",
            field="latitude",
        )
    if (
        latitude is not None
        and longitude is not None
        and (not -90 <= latitude <= 90 or not -180 <= longitude <= 180)
    ):
        raise ValidationFailed(
            _("Coordinates are out of range."), code="coordinates_invalid", field="latitude"
        )
    name = _text(name, field="name", what=_("An estate"))
    if Estate.objects.filter(name=name).exists():
        raise Conflict(
            _("“%(name)s” already exists here.") % {"name": name},
            code="estate_exists",
            field="name",
        )
    estate = Estate.objects.create(
        name=name, address=address, area=area, latitude=latitude, longitude=longitude
    )
    audit_record(action="estate.created", obj=estate)
    return estate


@transaction.atomic
def building_create(*, estate_id: int, name: str) -> Building:
    estate = Estate.objects.filter(pk=estate_id).first()
    if estate is None:
        raise ValidationFailed(
            _("No estate %(id)s.") % {"id": estate_id}, code="estate_not_found", field="estate_id"
        )
    name = _text(name, field="name", what=_("A building"))
    if Building.objects.filter(estate=estate, name=name).exists():
        raise Conflict(
            _("“%(name)s” already exists here.") % {"name": name},
            code="building_exists",
            field="name",
        )
    building = Building.objects.create(estate=estate, name=name)
    audit_record(action="building.created", obj=building)
    return building


@transaction.atomic
def unit_create(*, building_id: int, name: str) -> Unit:
    building = Building.objects.filter(pk=building_id).first()
    if building is None:
        raise ValidationFailed(
            _("No building %(id)s.") % {"id": building_id},
            code="building_not_found",
            field="building_id",
        )
    name = _text(name, field="name", what=_("A unit"))
    if Unit.objects.filter(building=building, name=name).exists():
        raise Conflict(
            _("“%(name)s” already exists here.") % {"name": name}, code="unit_exists", field="name"
        )
    unit = Unit.objects.create(building=building, name=name)
    audit_record(action="unit.created", obj=unit)
    return unit
