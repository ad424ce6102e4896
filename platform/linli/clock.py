"""One rule for time.

Moments are stored in UTC. A place's times of day (opening hours, pickup and service
slots, activity sessions) are the tenant's wall-clock times. Everything a person sees and
every time the API returns is in the tenant's zone, with its offset. The tenant's zone is
the active one: requests activate it (``TenantLocaleMiddleware``), jobs and commands run
``within(tenant)``; so every helper here reads the active zone and nothing passes it on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone


def zone() -> tzinfo:
    """The zone whose wall clock people read: the current tenant's."""
    return timezone.get_current_timezone()


def now() -> datetime:
    """This moment on the tenant's wall clock (aware, with its offset)."""
    return timezone.localtime()


def local(moment: datetime) -> datetime:
    """``moment`` on the tenant's wall clock."""
    return timezone.localtime(moment)


def today() -> date:
    return timezone.localdate()


def day_of(moment: datetime) -> date:
    """The tenant's calendar day ``moment`` falls on (23:30 local is still that day)."""
    return timezone.localtime(moment).date()


def at(day: date, wall: time) -> datetime:
    """The moment the tenant's clocks read ``wall`` on ``day`` (a place's time of day)."""
    return timezone.make_aware(datetime.combine(day, wall), zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """From the local midnight that starts ``day`` to the one that ends it."""
    return at(day, time.min), at(day + timedelta(days=1), time.min)


def month_bounds(day: date) -> tuple[datetime, datetime]:
    """The local month holding ``day``, from its first midnight to the next month's."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return at(first, time.min), at(following, time.min)


def hhmm(moment: datetime) -> str:
    return f"{local(moment):%H:%M}"


def span(start: datetime, end: datetime) -> str:
    """A window as people read it: ``09:00-12:00`` on the tenant's clock."""
    return f"{hhmm(start)}-{hhmm(end)}"


def stamp(moment: datetime) -> str:
    """Day and minute on the tenant's clock: ``2026-06-01 09:00``."""
    return f"{local(moment):%Y-%m-%d %H:%M}"


def iso(moment: datetime) -> str:
    """ISO 8601 with the tenant's offset: ``2026-06-01T09:00:00+08:00``."""
    return local(moment).isoformat()
