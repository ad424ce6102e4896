"""Signing residents in with a one-time code sent to their phone.

A code is six digits, valid ten minutes, kept only as a hash. One phone gets at
most one code a minute and five an hour, one network address twenty an hour; five
wrong tries lock the code. Whether the phone belongs to a resident is never
revealed: the answer is the same, only the message is not sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import LinliError, ValidationFailed
from tenants.community.models import Resident
from tenants.community.phones import normalise_phone
from tenants.pages.models import ResidentSession, SignInCode

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
PER_PHONE_MINUTE = 1
PER_PHONE_HOUR = 5
PER_IP_HOUR = 20
SESSION_DAYS = 180


class TooMany(LinliError):
    code = "too_many_codes"
    status = 429


class JustSent(TooMany):
    """A code went to this phone less than a minute ago: it still works, so the page asks
    for it (a new one can be sent from ``resend_at``)."""

    def __init__(self, message: str, *, resend_at: datetime):
        super().__init__(message)
        self.resend_at = resend_at


class Locked(LinliError):
    code = "sign_in_locked"
    status = 429


def _hash(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def code_request(*, phone: str, ip: str | None = None) -> str | None:
    """Send a sign-in code to ``phone`` if it is a resident's; returns the code (for the
    development console and tests) or None when nothing was sent."""
    number = normalise_phone(phone)
    if number is None:
        raise ValidationFailed(_("Enter your phone number."), code="phone_required", field="phone")
    now = timezone.now()
    recent = SignInCode.objects.select_for_update().filter(phone=number)
    last_minute = recent.filter(created_at__gt=now - timedelta(minutes=1))
    if last_minute.count() >= PER_PHONE_MINUTE:
        oldest = min(entry.created_at for entry in last_minute)
        raise JustSent(
            _("A code was just sent. Please wait a minute."),
            resend_at=oldest + timedelta(minutes=1),
        )
    if recent.filter(created_at__gt=now - timedelta(hours=1)).count() >= PER_PHONE_HOUR:
        raise TooMany(_("Too many codes for this phone. Please try again in an hour."))
    if (
        ip
        and SignInCode.objects.filter(ip=ip, created_at__gt=now - timedelta(hours=1)).count()
        >= PER_IP_HOUR
    ):
        raise TooMany(_("Too many codes from this network. Please try again later."))
    code = f"{secrets.randbelow(10**6):06d}"
    SignInCode.objects.create(
        phone=number, code_hash=_hash(f"{number}:{code}"), expires_at=now + CODE_TTL, ip=ip
    )
    resident = Resident.objects.filter(
        phone=number, erased_at__isnull=True, status=Resident.Status.ACTIVE
    ).first()
    if resident is None:
        return None
    from tenants.notices.services import message_store

    message_store(
        resident_id=resident.pk,
        kind="pages.sign_in_code",
        subject=_("Your sign-in code"),
        body=_("Your Linli sign-in code is %(code)s. It is valid for 10 minutes.") % {"code": code},
        data={"code": code, "redact": "1"},  # the log forgets the code once it is sent
    )
    return code


def code_verify(*, phone: str, code: str, user_agent: str = "") -> tuple[Resident, str]:
    """Check the code; on success a new session and its token (kept in the cookie)."""
    number = normalise_phone(phone)
    if number is None:
        raise ValidationFailed(_("Enter your phone number."), code="phone_required", field="phone")
    with transaction.atomic():
        entry = (
            SignInCode.objects.select_for_update()
            .filter(phone=number, used_at__isnull=True)
            .order_by("-id")
            .first()
        )
        now = timezone.now()
        if entry is None or entry.expires_at <= now:
            raise ValidationFailed(
                _("This code has expired. Ask for a new one."), code="code_expired", field="code"
            )
        if entry.attempts >= MAX_TRIES:
            raise Locked(_("Too many wrong codes. Ask for a new one later."))
        good = hmac.compare_digest(entry.code_hash, _hash(f"{number}:{(code or '').strip()}"))
        resident = Resident.objects.filter(
            phone=number, erased_at__isnull=True, status=Resident.Status.ACTIVE
        ).first()
        if not good or resident is None:
            entry.attempts += 1
            entry.save(update_fields=["attempts"])
        else:
            entry.used_at = now
            entry.save(update_fields=["used_at"])
    if not good or resident is None:
        raise ValidationFailed(_("That code is not right."), code="code_invalid", field="code")
    token = secrets.token_urlsafe(32)
    ResidentSession.objects.create(
        resident=resident, token_hash=_hash(token), user_agent=user_agent[:200]
    )
    return resident, token


def session_resident(token: str | None) -> Resident | None:
    """The signed-in resident for a cookie's token, or None (unknown, revoked, too old)."""
    if not token:
        return None
    session = (
        ResidentSession.objects.select_related("resident")
        .filter(token_hash=_hash(token), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if session is None or session.created_at < now - timedelta(days=SESSION_DAYS):
        return None
    resident = session.resident
    if resident.erased_at is not None or resident.status != Resident.Status.ACTIVE:
        return None
    if session.last_seen_at < now - timedelta(hours=1):
        ResidentSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    return resident


def session_revoke(*, token: str) -> None:
    ResidentSession.objects.filter(token_hash=_hash(token)).update(revoked_at=timezone.now())


PASS_DAYS = 90


@transaction.atomic
def household_pass_issue(*, household_id: int) -> str:
    """A new pass for the household (earlier ones stop working); returns its token."""
    from tenants.community.models import Household
    from tenants.pages.models import HouseholdPass

    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise ValidationFailed(
            _("No household %(id)s.") % {"id": household_id},
            code="household_not_found",
            field="household_id",
        )
    now = timezone.now()
    HouseholdPass.objects.filter(household=household, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(24)
    HouseholdPass.objects.create(
        household=household, token_hash=_hash(token), expires_at=now + timedelta(days=PASS_DAYS)
    )
    return token


def household_pass_residents(*, token: str) -> list[Resident]:
    """Who may sign in with this pass: the household's active residents (empty if the
    pass is unknown, revoked or expired)."""
    from tenants.pages.models import HouseholdPass

    found = HouseholdPass.objects.filter(
        token_hash=_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
    if found is None:
        return []
    return list(
        Resident.objects.filter(
            household_id=found.household_id, erased_at__isnull=True, status=Resident.Status.ACTIVE
        ).order_by("id")
    )


def household_pass_use(*, token: str, resident_id: int, user_agent: str = "") -> str:
    from django.db.models import F

    from tenants.pages.models import HouseholdPass

    if resident_id not in {r.pk for r in household_pass_residents(token=token)}:
        raise ValidationFailed(
            _("This sign-in code is no longer valid."), code="pass_invalid", field="token"
        )
    HouseholdPass.objects.filter(token_hash=_hash(token)).update(uses=F("uses") + 1)
    session_token = secrets.token_urlsafe(32)
    ResidentSession.objects.create(
        resident_id=resident_id, token_hash=_hash(session_token), user_agent=user_agent[:200]
    )
    return session_token
