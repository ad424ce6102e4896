"""Input types that PostgreSQL can store: no NUL characters, no lone surrogates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return value


Text = Annotated[str, AfterValidator(storable)]


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def sensible_moment(value: datetime) -> datetime:
    """An aware time between 2000 and 2100, converted to UTC (PostgreSQL stores UTC; some
    offsets Python accepts, PostgreSQL refuses)."""
    if value.tzinfo is None:
        raise ValueError("give a time zone offset, e.g. +08:00")
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError("the time must fall between 2000 and 2100")
    return value


Moment = Annotated[datetime, AfterValidator(sensible_moment)]


def sensible_day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("the day must fall between 2000 and 2100")
    return value


Day = Annotated[date, AfterValidator(sensible_day)]
