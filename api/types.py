"""Input types the API accepts: text PostgreSQL can store (no NUL, no lone surrogates),
sensible times and days, and strict request bodies (``In``)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from django.utils.translation import gettext as _
from ninja import Schema
from ninja.schema import DjangoGetter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError(_("Text may not hold NUL characters."))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(_("This text is not valid Unicode.")) from exc
    return value


Text = Annotated[str, AfterValidator(storable)]


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def sensible_moment(value: datetime) -> datetime:
    """An aware time between 2000 and 2100, converted to UTC (PostgreSQL stores UTC; some
    offsets Python accepts, PostgreSQL refuses)."""
    if value.tzinfo is None:
        raise ValueError(_("Send a time with its offset from UTC (e.g. +08:00)."))
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError(_("The time must fall between 2000 and 2100."))
    return value


Moment = Annotated[datetime, AfterValidator(sensible_moment)]


def sensible_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(_("The day must fall between 2000 and 2100."))
    return value


Day = Annotated[date, AfterValidator(sensible_day)]


def wall_clock(value: time) -> time:
    """A wall-clock time of the tenant's zone: an offset would make it another zone's."""
    if value.tzinfo is not None:
        raise ValueError(_("Send a local time without an offset (e.g. 22:00)."))
    return value


WallTime = Annotated[time, AfterValidator(wall_clock)]

MONTH = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def month_day(value: object) -> object:
    """``2026-11`` or ``2026-11-01`` (the first of the month), never a bare number (which
    would be read as seconds since 1970)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not MONTH.match(value):
        raise ValueError(_("Send a month as YYYY-MM (e.g. 2026-11)."))
    return value if len(value) == 10 else f"{value}-01"


Month = Annotated[date, BeforeValidator(month_day), AfterValidator(sensible_day)]

# PostgreSQL's bigint: every id and count the API takes fits in it.
MAX_INT = 2**63 - 1
_INT, _BOOL, _INTS = "int", "bool", "ints"


def _kind(annotation: Any) -> str | None:
    """What strict check a field's type needs: an integer, a boolean, a list of integers."""
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    origin = get_origin(annotation)
    if origin in (Union, UnionType) and len(args) == 1:
        return _kind(args[0])
    if origin is list and len(args) == 1 and _kind(args[0]) == _INT:
        return _INTS
    if annotation is bool:
        return _BOOL
    if annotation is int:
        return _INT
    return None


@cache
def _kinds(model: type[BaseModel]) -> dict[str, str]:
    kinds = {}
    for name, field in model.model_fields.items():
        kind = _kind(field.annotation)
        if kind is not None:
            kinds[field.alias or name] = kinds[name] = kind
    return kinds


def _strict_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(_("Send a whole number here."))
    if not -MAX_INT <= value <= MAX_INT:
        raise ValueError(_("This number is out of range."))
    return value


class In(Schema):
    """Base of every request body: a JSON object, with whole numbers that are numbers (not
    ``false``, ``"3"`` or ``2.0``) and fit in 64 bits, and booleans that are ``true`` or
    ``false`` (not ``0`` or ``"yes"``). Pydantic's lax mode would coerce all of those."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(raw, dict):
            raise ValueError(_("The request body must be a JSON object."))
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if isinstance(text, str):  # any text, also in fields not typed Text
                storable(text)
        kind = _kinds(cls).get(info.field_name or "")
        if value is None or kind is None:
            return value
        if kind == _INT:
            return _strict_int(value)
        if kind == _INTS and isinstance(value, list):
            return [_strict_int(item) for item in value]
        if kind == _BOOL and not isinstance(value, bool):
            raise ValueError(_("Send true or false here."))
        return value


def file_answer(*media_types: str) -> dict[str, Any]:
    """``openapi_extra`` for an operation that answers a file (a PDF, a QR code, a CSV):
    the document says which types its 200 comes in."""
    binary = {"type": "string", "format": "binary"}
    return {"responses": {200: {"content": {media: {"schema": binary} for media in media_types}}}}
