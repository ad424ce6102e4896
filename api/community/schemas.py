from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import field_validator

from api.pagination import Page
from api.types import In, Text
from tenants.community.access import sees_contact_details, sees_personal_data_of
from tenants.community.models import BIRTH_YEAR_MIN, Area, Organisation, Resident, Role
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
    birth_year: int | None = Field(description="Null when masked: it is personal data.")
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
    def resolve_birth_year(obj: Resident, context: Any) -> int | None:
        return obj.birth_year if _unmasked(obj, context) else None

    @staticmethod
    def resolve_tags(obj: Resident, context: Any) -> list[str] | None:
        if not _unmasked(obj, context):
            return None
        if hasattr(obj, "tag_names"):  # a list's residents come with their names
            return list(obj.tag_names or [])
        return [tag.name for tag in obj.tags.all()]

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


BIRTH_YEAR = f"From {BIRTH_YEAR_MIN} to this year."


class _BirthYear(In):
    @field_validator("birth_year", mode="after", check_fields=False)
    @classmethod
    def _not_in_the_future(cls, value: int | None) -> int | None:
        if value is not None and value > timezone.localdate().year:
            raise ValueError(_("A birth year cannot be in the future."))
        return value


class ResidentIn(_BirthYear):
    display_name: Text = Field(min_length=1, max_length=64)
    phone: Text | None = Field(None, max_length=32)
    household_id: int | None = Field(None, ge=1)
    preferred_language: Text = Field("", max_length=10, description="zh-hans, zh-hant, en or empty")
    contact_consent: bool = False
    needs_assistance: bool = False
    moved_in_on: date | None = None
    birth_year: int | None = Field(None, ge=BIRTH_YEAR_MIN, description=BIRTH_YEAR)
    tag_ids: list[int] | None = None


class ResidentPatch(_BirthYear):
    display_name: Text | None = Field(None, min_length=1, max_length=64)
    phone: Text | None = Field(None, max_length=32)
    household_id: int | None = Field(None, ge=1)
    preferred_language: Text | None = Field(None, max_length=10)
    contact_consent: bool | None = None
    needs_assistance: bool | None = None
    moved_in_on: date | None = None
    birth_year: int | None = Field(None, ge=BIRTH_YEAR_MIN, description=BIRTH_YEAR)
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


def _latitude() -> Any:
    return Field(None, ge=-90, le=90, max_digits=9, decimal_places=6)


def _longitude() -> Any:
    return Field(None, ge=-180, le=180, max_digits=9, decimal_places=6)


class _Coordinates(In):
    @field_validator("latitude", "longitude", mode="before", check_fields=False)
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        # A JSON number, as whole numbers must be (not "22.9", not true).
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(_("Send a number here."))
        return value


class EstateIn(_Coordinates):
    name: Text = Field(min_length=1, max_length=120, description="Unique in the tenant.")
    address: Text = Field("", max_length=255)
    area_id: int | None = Field(
        None, ge=1, description="An area of the lowest level (a grid, say), when areas exist."
    )
    latitude: Decimal | None = _latitude()
    longitude: Decimal | None = _longitude()


class EstatePatch(_Coordinates):
    name: Text | None = Field(None, min_length=1, max_length=120)
    address: Text | None = Field(None, max_length=255)
    area_id: int | None = Field(None, ge=1, description="null detaches the estate (district).")
    latitude: Decimal | None = _latitude()
    longitude: Decimal | None = _longitude()


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


class AreaIn(In):
    name: Text = Field(min_length=1, max_length=120, description="Unique under its parent.")
    level_id: int = Field(ge=1)
    parent_id: int | None = Field(
        None, ge=1, description="An area one level up; none for the top level."
    )
    code: Text = Field("", max_length=32, description="The official code, if any.")


class AreaLevelOut(Schema):
    id: int
    depth: int
    name: str


class AreaLevelIn(In):
    depth: int = Field(ge=1, le=10, description="1 is the top (a street), then down.")
    name: Text = Field(min_length=1, max_length=64)


class AreaLevelPage(Page[AreaLevelOut]):
    pass


class TerminologyOut(Schema):
    labels: dict[str, dict[str, str]] = Field(description="language → key → label")


class BuildingOut(Schema):
    id: int
    estate_id: int
    name: str


class BuildingPage(Page[BuildingOut]):
    pass


class BuildingIn(In):
    estate_id: int = Field(ge=1)
    name: Text = Field(min_length=1, max_length=64, description="Unique in its estate.")


class PlaceRename(In):
    name: Text = Field(min_length=1, max_length=64, description="Unique next to its siblings.")


class UnitOut(Schema):
    id: int
    building_id: int
    name: str


class UnitPage(Page[UnitOut]):
    pass


class UnitIn(In):
    building_id: int = Field(ge=1)
    name: Text = Field(min_length=1, max_length=64, description="Unique in its building.")


class HouseholdOut(Schema):
    id: int
    unit_id: int
    flat_number: str


class HouseholdIn(In):
    unit_id: int = Field(ge=1)
    flat_number: Text = Field(min_length=1, max_length=32)
    building_id: int | None = Field(None, ge=1, description="Checked: the unit must be in it.")


class HouseholdPatch(In):
    flat_number: Text = Field(min_length=1, max_length=32, description="Unique in its unit.")


class HouseholdPage(Page[HouseholdOut]):
    pass


class TagOut(Schema):
    id: int
    name: str
    outreach_frequency: str = Field(description="daily, weekly, monthly or empty.")


class TagPage(Page[TagOut]):
    pass


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    contact_name: str = Field(description="Masked (`張*`) without personal-data access.")
    contact_phone: str = Field(description="Masked (`138****1234`) without access.")
    address: str
    active: bool
    masked: bool

    @staticmethod
    def resolve_contact_name(obj: Organisation, context: Any) -> str:
        shown = sees_contact_details(context["request"].actor)
        return obj.contact_name if shown else mask_name(obj.contact_name)

    @staticmethod
    def resolve_contact_phone(obj: Organisation, context: Any) -> str:
        shown = sees_contact_details(context["request"].actor)
        return obj.contact_phone if shown else mask_phone(obj.contact_phone) or ""

    @staticmethod
    def resolve_masked(obj: Organisation, context: Any) -> bool:
        return not sees_contact_details(context["request"].actor)


class OrganisationFilter(Schema):
    kind: Organisation.Kind | None = None
    name: Text | None = Field(None, max_length=200, description="A part of the name.")
    active: bool | None = None


class OrganisationIn(In):
    name: Text = Field(min_length=1, max_length=200, description="Unique in the tenant.")
    kind: Organisation.Kind
    contact_name: Text = Field("", max_length=64)
    contact_phone: Text | None = Field(None, max_length=32)
    address: Text = Field("", max_length=255)
    active: bool = True


class OrganisationPatch(In):
    name: Text | None = Field(None, min_length=1, max_length=200)
    kind: Organisation.Kind | None = None
    contact_name: Text | None = Field(None, max_length=64)
    contact_phone: Text | None = Field(None, max_length=32)
    address: Text | None = Field(None, max_length=255)
    active: bool | None = Field(None, description="false: no new topics are given to it.")


class OrganisationPage(Page[OrganisationOut]):
    pass


class MemberOut(Schema):
    id: int
    organisation_id: int
    resident_id: int = Field(description="Their name and phone: GET /community/residents/{id}.")
    title: str


class MemberIn(In):
    resident_id: int = Field(ge=1, description="An active resident.")
    title: Text = Field("", max_length=64, description="Their role there (主任, 委員...).")


class MemberPage(Page[MemberOut]):
    pass
