"""Reads of notices."""

from __future__ import annotations

from tenants.community.models import Resident
from tenants.notices.models import ChannelPreference


def preference_of(*, resident: Resident) -> ChannelPreference:
    """The resident's channels and quiet hours; before they set any, the defaults (unsaved)."""
    preference = ChannelPreference.objects.filter(resident=resident).first()
    return preference if preference is not None else ChannelPreference(resident=resident)
