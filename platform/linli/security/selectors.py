"""Reads for sign-in security: is an address locked out or an account slowed, is a browser
a trusted device of an account, does a user use two factors."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import Count, Max

from linli.db.access import tenant_db
from linli.security.models import LoginAttempt, TwoFactorDevice

# The device cookie: given to a browser when it completes a sign-in to an account.
DEVICE_COOKIE = "linli_device"
DEVICE_SALT = "linli.security.device"
DEVICE_DAYS = 90


def username_key(username: object) -> str:
    """The form in which a typed username is counted: case-folded, trimmed, bounded."""
    # PostgreSQL text cannot hold NUL; the login form refuses such a name anyway.
    return str(username or "").replace("\x00", "").strip().casefold()[:150]


@dataclass(frozen=True)
class Limits:
    per_username: int  # failures of one account after which its attempts are slowed
    per_ip: int  # failures from one network address after which it is locked out
    window: timedelta  # how long a failure counts, and how long an address stays locked
    delay_max: timedelta  # the longest wait between two attempts on a slowed account


def login_limits() -> Limits:
    return Limits(
        per_username=settings.LINLI_LOGIN_FAILURES_PER_USERNAME,
        per_ip=settings.LINLI_LOGIN_FAILURES_PER_IP,
        window=timedelta(minutes=settings.LINLI_LOGIN_LOCK_MINUTES),
        delay_max=timedelta(seconds=getattr(settings, "LINLI_LOGIN_DELAY_MAX_SECONDS", 60)),
    )


@dataclass(frozen=True)
class Refusal:
    until: datetime
    by: str  # "ip": the address is locked out; "username": the account is slowed


def _until(rows: Any, limit: int, window: timedelta) -> datetime | None:
    # The lock ends when the limit-th most recent failure leaves the window.
    times = list(rows.order_by("-at").values_list("at", flat=True)[:limit])
    return times[-1] + window if len(times) >= limit else None


def account_delay(*, failures: int, limits: Limits) -> timedelta:
    """How long a slowed account waits after its latest failure: one second once the
    threshold is reached, doubling with each further failure, up to ``delay_max``."""
    if failures < limits.per_username:
        return timedelta(0)
    doublings = min(failures - limits.per_username, 30)
    return min(timedelta(seconds=2**doublings), limits.delay_max)


def login_refusal(
    *,
    username: str,
    ip: str | None,
    step: str,
    trusted: bool = False,
    now: datetime,
    exclude_id: int | None = None,
) -> Refusal | None:
    """Why and until when an attempt on ``username`` from ``ip`` is refused, or None.

    - An address with ``per_ip`` failures in the window is locked out until the oldest
      of them leaves it, whatever the account.
    - An account with ``per_username`` failures (from any address) is not locked: each
      further attempt waits ``account_delay`` after the latest failure. A trusted device
      (one that signed in to this account before) counts only the failures made from
      its own address, so strangers' failures never slow the account's owner.
    - A password reset request (``step`` "reset", counted per email address) has a hard
      limit instead: each email sent already carries a working link, and the limit is
      what keeps the mailbox from being flooded.
    """
    limits = login_limits()
    recent = LoginAttempt.objects.filter(at__gt=now - limits.window)
    if exclude_id is not None:
        recent = recent.exclude(pk=exclude_id)
    refusals = []
    if ip:
        until = _until(recent.filter(ip=ip), limits.per_ip, limits.window)
        if until is not None:
            refusals.append(Refusal(until, "ip"))
    account = recent.filter(username=username)
    if step == LoginAttempt.Step.RESET:
        until = _until(account, limits.per_username, limits.window)
        if until is not None:
            refusals.append(Refusal(until, "username"))
    else:
        if trusted:
            account = account.filter(ip=ip)
        seen = account.aggregate(failures=Count("pk"), latest=Max("at"))
        delay = account_delay(failures=seen["failures"], limits=limits)
        if delay and seen["latest"] + delay > now:
            refusals.append(Refusal(seen["latest"] + delay, "username"))
    return max(refusals, key=lambda refusal: refusal.until) if refusals else None


def device_trusted(*, username: str, token: str) -> bool:
    """Whether ``token`` (the device cookie) was given to this browser when it signed in to
    the account ``username`` (in the form ``username_key`` gives) in the current schema,
    less than ``DEVICE_DAYS`` ago and with the password the account has now."""
    if not token:
        return False
    try:
        data = signing.loads(token, salt=DEVICE_SALT, max_age=timedelta(days=DEVICE_DAYS))
    except signing.BadSignature:
        return False
    if not isinstance(data, dict) or data.get("s") != tenant_db().schema_name:
        return False
    user_id = data.get("u")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return False
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None or username_key(user.get_username()) != username:
        return False
    return hmac.compare_digest(str(data.get("h", "")), user.get_session_auth_hash())


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
