from __future__ import annotations

from datetime import date
from typing import Any

from ninja import Field, Schema

from api.pagination import Page
from api.types import In, Text
from tenants.community.access import sees_personal_data_of
from tenants.community.models import Area, Resident, Role
from tenants.community.phones import mask_name, mask_phone


def _unmasked(resident: Resident, context: Any) -> bool:
    """Whether the caller of this response sees the resident's personal data (no query: the
    resident comes with its places)."""
    return sees_personal_data_of(context["request"].actor, resident)


class ResidentOut(Schema):
    id: int
    display_name: str = Field(description="Masked (`張*`) without personal-data access.")
    phone: str | None = Field(description="E.164; masked (`138****1234`) without access.")
    household_id: int | None
    unit_id: int | None
    building_id: int | None
    preferred_language: str
    contact_consent: bool
    needs_assistance: bool
    status: str
    moved_in_on: date | None
    moved_out_on: date | None
    tags: list[str] | None = Field(description="Null when masked: tags are personal data.")
    masked: bool

    @staticmethod
    def resolve_display_name(obj: Resident, context: Any) -> str:
        return obj.display_name if _unmasked(obj, context) else mask_name(obj.display_name)

    @staticmethod
    def resolve_phone(obj: Resident, context: Any) -> str | None:
        return obj.phone if _unmasked(obj, context) else mask_phone(obj.phone)

    @staticmethod
    def resolve_unit_id(obj: Resident) -> int | None:
        return obj.household.unit_id if obj.household is not None else None

    @staticmethod
    def resolve_building_id(obj: Resident) -> int | None:
        return obj.household.unit.building_id if obj.household is not None else None

    @staticmethod
    def resolve_tags(obj: Resident, context: Any) -> list[str] | None:
        return [tag.name for tag in obj.tags.all()] if _unmasked(obj, context) else None

    @staticmethod
    def resolve_masked(obj: Resident, context: Any) -> bool:
        return not _unmasked(obj, context)


class ResidentFilter(Schema):
    estate_id: int | None = None
    building_id: int | None = None
    unit_id: int | None = None
    household_id: int | None = None
    area_id: int | None = None
    role: Role | None = None
    status: Resident.Status | None = None


class ResidentIn(In):
    display_name: Text = Field(min_length=1, max_length=64)
    phone: Text | None = Field(None, max_length=32)
    household_id: int | None = Field(None, ge=1)
    preferred_language: Text = Field("", max_length=10, description="zh-hans, zh-hant, en or empty")
    contact_consent: bool = False
    needs_assistance: bool = False
    moved_in_on: date | None = None
    tag_ids: list[int] | None = None


class ResidentPatch(In):
    display_name: Text | None = Field(None, min_length=1, max_length=64)
    phone: Text | None = Field(None, max_length=32)
    household_id: int | None = Field(None, ge=1)
    preferred_language: Text | None = Field(None, max_length=10)
    contact_consent: bool | None = None
    needs_assistance: bool | None = None
    moved_in_on: date | None = None
    tag_ids: list[int] | None = None


class ResidentPage(Page[ResidentOut]):
    pass


class EstateOut(Schema):
    id: int
    name: str
    address: str
    area_id: int | None
    latitude: float | None
    longitude: float | None


class EstatePage(Page[EstateOut]):
    pass


class AreaOut(Schema):
    id: int
    name: str
    level: str
    depth: int
    parent_id: int | None
    code: str

    @staticmethod
    def resolve_level(obj: Area) -> str:
        return str(obj.level.name)

    @staticmethod
    def resolve_depth(obj: Area) -> int:
        return int(obj.level.depth)


class AreaPage(Page[AreaOut]):
    pass


class TerminologyOut(Schema):
    labels: dict[str, dict[str, str]] = Field(description="language → key → label")


class BuildingOut(Schema):
    id: int
    estate_id: int
    name: str


class BuildingPage(Page[BuildingOut]):
    pass


class UnitOut(Schema):
    id: int
    building_id: int
    name: str


class UnitPage(Page[UnitOut]):
    pass


class HouseholdOut(Schema):
    id: int
    unit_id: int
    flat_number: str


class HouseholdIn(In):
    unit_id: int = Field(ge=1)
    flat_number: Text = Field(min_length=1, max_length=32)
    building_id: int | None = Field(None, ge=1, description="Checked: the unit must be in it.")


class HouseholdPage(Page[HouseholdOut]):
    pass
