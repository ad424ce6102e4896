"""Working inside one tenant: its schema and its local time, together."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context


def tenant_zone(tenant: Any) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tenant.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@contextmanager
def within(tenant: Any) -> Iterator[None]:
    """The tenant's schema, with its time zone active (what "today" means for its people)."""
    with tenant_context(tenant), timezone.override(tenant_zone(tenant)):
        yield
