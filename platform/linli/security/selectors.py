"""Reads for sign-in security: is a username or network locked, does a user use two factors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from linli.security.models import LoginAttempt, TwoFactorDevice


@dataclass(frozen=True)
class Limits:
    per_username: int
    per_ip: int
    window: timedelta


def login_limits() -> Limits:
    return Limits(
        per_username=settings.LINLI_LOGIN_FAILURES_PER_USERNAME,
        per_ip=settings.LINLI_LOGIN_FAILURES_PER_IP,
        window=timedelta(minutes=settings.LINLI_LOGIN_LOCK_MINUTES),
    )


def _until(rows: Any, limit: int, window: timedelta) -> datetime | None:
    # The lock ends when the limit-th most recent failure leaves the window.
    times = list(rows.order_by("-at").values_list("at", flat=True)[:limit])
    return times[-1] + window if len(times) >= limit else None


def login_locked_until(
    *, username: str, ip: str | None, now: datetime, exclude_id: int | None = None
) -> datetime | None:
    """When ``username`` (or the network ``ip``) may try again, or None if it may now."""
    limits = login_limits()
    recent = LoginAttempt.objects.filter(at__gt=now - limits.window)
    if exclude_id is not None:
        recent = recent.exclude(pk=exclude_id)
    ends = [_until(recent.filter(username=username), limits.per_username, limits.window)]
    if ip:
        ends.append(_until(recent.filter(ip=ip), limits.per_ip, limits.window))
    known = [end for end in ends if end is not None]
    return max(known) if known else None


def two_factor_device(*, user: Any) -> TwoFactorDevice | None:
    """The user's device in use (confirmed), or None."""
    if user is None or not getattr(user, "pk", None):
        return None
    return TwoFactorDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).first()


def two_factor_pending(*, user: Any) -> TwoFactorDevice | None:
    """A device set up but not yet confirmed with a code, or None."""
    return TwoFactorDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=True).first()


def recovery_codes_left(*, device: TwoFactorDevice) -> int:
    return device.recovery_codes.filter(used_at__isnull=True).count()
