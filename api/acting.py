"""Who a request speaks for, as the key auth decided it: the caller (``Actor``)."""

from __future__ import annotations

from django.http import HttpRequest

from tenants.community.actor import Actor


def actor(request: HttpRequest) -> Actor:
    """Who is calling, as the key auth built it (see ``tenants.community.actor``)."""
    return request.actor  # type: ignore[attr-defined]
