"""Who a request speaks for: the resident an API key acts for, or a leaders' tool (no one)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from api.auth import Forbidden
from linli.errors import ValidationFailed
from tenants.community.actor import Actor


def actor(request: HttpRequest) -> Actor:
    """Who is calling, as the key auth built it (see ``tenants.community.actor``)."""
    return request.actor  # type: ignore[attr-defined]


def acting_resident(request: HttpRequest) -> Any:
    """The resident named in ``Linli-Acting-Resident`` (checked by the key auth), or None."""
    return getattr(request, "acting_resident", None)


def acting_id(request: HttpRequest) -> int | None:
    resident = acting_resident(request)
    return int(resident.pk) if resident is not None else None


def the_resident(request: HttpRequest, named: int | None, *, field: str) -> int:
    """The resident a call is about: the acting one (who may only name themselves), or the
    one a leaders' tool names."""
    acting = acting_id(request)
    if acting is not None:
        if named is not None and named != acting:
            raise Forbidden(_("A resident can only act for themselves."), code="not_yourself")
        return acting
    if named is None:
        raise ValidationFailed(_("Name the resident."), code="resident_required", field=field)
    return named


def leaders_only(request: HttpRequest) -> None:
    if acting_id(request) is not None:
        raise Forbidden(_("Residents cannot do this."), code="not_for_residents")
