"""Sign-in security for the admin sites: brute-force limits and TOTP two-factor sign-in.

Guessing is limited without letting a stranger lock the real user out: a network address
with too many failures is locked out for a while, but an account with too many failures
is only slowed (each further attempt waits a little longer, up to a minute), and a
browser that signed in to the account before is not slowed by other addresses' failures.

Failed attempts live in PostgreSQL (the current schema: public for the platform
admin, the tenant's own for a tenant admin), so the limits hold across web
processes and one tenant's failures never lock another tenant's user.

Attempt rows are written in autocommit, outside any transaction of the check
they guard: a failure must stay recorded even when the check raises.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import math
import secrets
from datetime import datetime
from typing import Any

import pyotp
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tenants.utils import get_public_schema_name

from linli.db.access import tenant_db
from linli.errors import Conflict, LinliError
from linli.security import crypto, selectors
from linli.security.models import LoginAttempt, RecoveryCode, TwoFactorDevice
from linli.security.selectors import username_key

logger = logging.getLogger("linli.security")

TOTP_INTERVAL = 30  # seconds (RFC 6238)
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1  # a code of the step before or after is accepted too
RECOVERY_CODE_COUNT = 8
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud, typed by hand
_MAX_INPUT = 64


class LoginLocked(LinliError):
    code = "login_locked"
    status = 429

    def __init__(self, message: str, *, retry_at: datetime, retry_seconds: int) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.retry_seconds = retry_seconds


class CodeRefused(LinliError):
    code = "code_refused"
    status = 400


def wrong_code_message() -> str:
    return _("That code is not right. Enter the current code from your app or a recovery code.")


def wrong_password_or_code_message() -> str:
    return _("The password or the code is not right.")


def locked_message(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-in attempts. Please try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def slowed_message(seconds: int) -> str:
    return ngettext(
        "Too many failed sign-in attempts for this account. Please try again in "
        "%(seconds)d second.",
        "Too many failed sign-in attempts for this account. Please try again in "
        "%(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}


def ip_or_none(value: object) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value or "").strip()))
    except ValueError:
        return None


def _audit(*, action: str, user_id: int | None, changes: dict[str, Any]) -> None:
    """Tenant schemas have the audit log; the platform (public schema) writes a log line."""
    if tenant_db().schema_name == get_public_schema_name():
        logger.warning(
            "%s user=%s %s", action, user_id, json.dumps(changes, sort_keys=True, default=str)
        )
        return
    from tenants.audit.context import Actor, current_actor
    from tenants.audit.services import audit_record

    audit_record(
        action=action,
        object_type="auth.user",
        object_id=user_id or "",
        changes=changes,
        actor=Actor(user_id=user_id, request_id=current_actor().request_id),
    )


# --- Brute-force protection ---------------------------------------------------------


def login_attempt_start(
    *, username: str, ip: str | None, step: str, device: str = ""
) -> LoginAttempt:
    """Record an attempt before its password or code is checked, or refuse it.

    Refused while the address is locked out or the account is slowed (see
    ``selectors.login_refusal``); ``device`` is the browser's device cookie, which lets the
    account's own browser past the other addresses' failures. A refused attempt is not
    counted, and nothing is checked while the refusal lasts, so a correct password is
    refused too.
    """
    now = timezone.now()
    attempt = LoginAttempt.objects.create(
        username=username_key(username), ip=ip_or_none(ip), step=step, at=now
    )
    refusal = selectors.login_refusal(
        username=attempt.username,
        ip=attempt.ip,
        step=step,
        trusted=selectors.device_trusted(username=attempt.username, token=device),
        now=now,
        exclude_id=attempt.pk,
    )
    if refusal is not None:
        attempt.delete()
        seconds = max(1, math.ceil((refusal.until - now).total_seconds()))
        message = (
            locked_message(math.ceil(seconds / 60))
            if refusal.by == "ip" or step == LoginAttempt.Step.RESET
            else slowed_message(seconds)
        )
        raise LoginLocked(message, retry_at=refusal.until, retry_seconds=seconds)
    return attempt


def login_attempt_succeed(*, attempt: LoginAttempt, signed_in: bool) -> None:
    """The check passed. A completed sign-in clears the failures made on the account from
    its own address (others' failures stay: they may be someone else guessing); a password
    that still awaits its second factor only withdraws its own row."""
    if signed_in:
        LoginAttempt.objects.filter(username=attempt.username, ip=attempt.ip).delete()
    else:
        LoginAttempt.objects.filter(pk=attempt.pk).delete()


def device_token(*, user: Any) -> str:
    """The device cookie's value for a browser that has just signed in as ``user``: signed,
    bound to the schema, the account and its current password (a new password ends it)."""
    return signing.dumps(
        {"s": tenant_db().schema_name, "u": user.pk, "h": user.get_session_auth_hash()},
        salt=selectors.DEVICE_SALT,
    )


def login_attempt_fail(*, attempt: LoginAttempt) -> None:
    """The check failed: the row stays as a failure. Audits the failure that starts slowing
    the account or locks the address, and prunes rows too old to count (one indexed delete)."""
    limits = selectors.login_limits()
    now = timezone.now()
    LoginAttempt.objects.filter(at__lt=now - limits.window).delete()
    recent = LoginAttempt.objects.filter(at__gt=now - limits.window)
    reached: list[tuple[str, str, str | None]] = []
    if recent.filter(username=attempt.username).count() == limits.per_username:
        reached.append(("username", "security.login_slowed", None))
    if attempt.ip and recent.filter(ip=attempt.ip).count() == limits.per_ip:
        reached.append(("ip", "security.login_locked", (now + limits.window).isoformat()))
    if not reached:
        return
    user = (
        get_user_model()
        ._default_manager.filter(**{f"{get_user_model().USERNAME_FIELD}__iexact": attempt.username})
        .first()
    )
    for by, action, until in reached:
        changes: dict[str, Any] = {
            "username": attempt.username,
            "ip": attempt.ip,
            "by": by,
            "step": attempt.step,
        }
        if until is not None:
            changes["until"] = until
        _audit(
            action=action,
            user_id=user.pk if user is not None and by == "username" else None,
            changes=changes,
        )


# --- Two-factor (TOTP) --------------------------------------------------------------


def _normalised(code: object) -> str:
    return (
        "".join(str(code or "").split()).replace("-", "").replace("\x00", "").lower()[:_MAX_INPUT]
    )


def _is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    if not _is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _secret(device: TwoFactorDevice) -> str:
    secret = crypto.secret_decrypt(device.secret_encrypted)
    if secret is None:
        # SECRET_KEY changed without the old one in SECRET_KEY_FALLBACKS: only a
        # recovery code (or an operator turning two-factor off) helps now.
        logger.error("two-factor secret of user %s cannot be decrypted", device.user_id)
        return ""
    return secret


def secret_of(device: TwoFactorDevice) -> str:
    """The device's secret in clear, for the enrolment page (QR code and text)."""
    return _secret(device)


@transaction.atomic
def two_factor_enrol_start(*, user: Any) -> TwoFactorDevice:
    """A device with a fresh secret, waiting for its first code (kept if one is waiting)."""
    device = TwoFactorDevice.objects.select_for_update().filter(user_id=user.pk).first()
    if device is not None and device.confirmed_at is not None:
        raise Conflict(_("Two-factor sign-in is already on."), code="two_factor_on")
    if device is None or not _secret(device):
        TwoFactorDevice.objects.filter(user_id=user.pk).delete()
        device = TwoFactorDevice.objects.create(
            user_id=user.pk, secret_encrypted=crypto.secret_encrypt(pyotp.random_base32())
        )
    return device


def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


@transaction.atomic
def two_factor_enrol_confirm(*, user: Any, code: str) -> list[str]:
    """Turn two-factor on once the app shows a right code; returns the recovery codes,
    in clear this once (only their hashes are kept)."""
    device = (
        TwoFactorDevice.objects.select_for_update()
        .filter(user_id=user.pk, confirmed_at__isnull=True)
        .first()
    )
    if device is None:
        raise Conflict(
            _("Start setting two-factor sign-in up first."), code="two_factor_not_started"
        )
    now = timezone.now()
    step = _matching_step(_secret(device), _normalised(code), now)
    if step is None:
        raise CodeRefused(wrong_code_message())
    device.confirmed_at, device.last_step = now, step
    device.save(update_fields=["confirmed_at", "last_step"])
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, code_hash=crypto.code_hash(_normalised(c))) for c in codes
    )
    _audit(action="security.two_factor_enabled", user_id=user.pk, changes={})
    return codes


@transaction.atomic
def _code_check(*, user: Any, code: str) -> str:
    """Accept a current TOTP code (each time step once) or an unused recovery code."""
    device = (
        TwoFactorDevice.objects.select_for_update()
        .filter(user_id=user.pk, confirmed_at__isnull=False)
        .first()
    )
    if device is None:
        raise CodeRefused(wrong_code_message())
    given = _normalised(code)
    if _is_totp_code(given):
        step = _matching_step(_secret(device), given, timezone.now())
        if step is None or (device.last_step is not None and step <= device.last_step):
            raise CodeRefused(wrong_code_message())
        device.last_step = step
        device.save(update_fields=["last_step"])
        return "totp"
    recovery = (
        RecoveryCode.objects.select_for_update()
        .filter(device=device, used_at__isnull=True, code_hash__in=crypto.code_hashes(given))
        .first()
    )
    if recovery is None:
        raise CodeRefused(wrong_code_message())
    recovery.used_at = timezone.now()
    recovery.save(update_fields=["used_at"])
    _audit(
        action="security.recovery_code_used",
        user_id=user.pk,
        changes={"left": selectors.recovery_codes_left(device=device)},
    )
    return "recovery"


def two_factor_sign_in(*, user: Any, code: str, ip: str | None, device: str = "") -> str:
    """The second step of signing in; counts toward the brute-force limits.

    Returns "totp" or "recovery"; raises LoginLocked or CodeRefused.
    """
    attempt = login_attempt_start(
        username=user.get_username(), ip=ip, step=LoginAttempt.Step.CODE, device=device
    )
    try:
        kind = _code_check(user=user, code=code)
    except CodeRefused:
        login_attempt_fail(attempt=attempt)
        raise
    login_attempt_succeed(attempt=attempt, signed_in=True)
    return kind


def two_factor_disable(
    *, user: Any, password: str, code: str, ip: str | None, device: str = ""
) -> None:
    """Turn two-factor off: needs the password and a code (an app code or a recovery code).

    Wrong tries count toward the brute-force limits like sign-in attempts.
    """
    attempt = login_attempt_start(
        username=user.get_username(), ip=ip, step=LoginAttempt.Step.CODE, device=device
    )
    try:
        if not user.check_password(str(password or "")[:4096]):
            raise CodeRefused(wrong_password_or_code_message())
        try:
            _code_check(user=user, code=code)
        except CodeRefused as exc:
            raise CodeRefused(wrong_password_or_code_message()) from exc
    except CodeRefused:
        login_attempt_fail(attempt=attempt)
        raise
    login_attempt_succeed(attempt=attempt, signed_in=False)
    with transaction.atomic():
        TwoFactorDevice.objects.filter(user_id=user.pk).delete()
        _audit(action="security.two_factor_disabled", user_id=user.pk, changes={})
