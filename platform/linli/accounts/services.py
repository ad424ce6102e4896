"""Signup: a district asks for a tenant, verifies its email, and lands in its own admin.

Nothing is provisioned until the email is verified; then the fast provisioning path
creates schema, domain and first admin in one transaction, so a failure leaves
nothing half-made. Abuse: five signups an hour per network address, a honeypot
field, reserved and offensive subdomains refused, Django's password validators.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import Signup
from linli.errors import Conflict, LinliError, NotFound, ValidationFailed
from linli.registry.models import Module, Tenant
from linli.registry.validators import (
    slug_to_host_label,
    validate_locale,
    validate_slug,
    validate_time_zone,
)

VERIFY_WITHIN = timedelta(hours=24)
LOGIN_WITHIN = timedelta(minutes=10)
PER_IP_HOUR = 5
# Words no district's address may contain (a short list; extend per market).
OFFENSIVE = ("fuck", "shit", "nazi", "sb250", "caonima", "tmd")


class TooManySignups(LinliError):
    code = "too_many_signups"
    status = 429


def _hash(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def slug_check(slug: str) -> str:
    """The slug if a new district may have it; otherwise a clear refusal."""
    slug = (slug or "").strip().lower()
    validate_slug(slug)
    if any(word in slug for word in OFFENSIVE):
        raise ValidationFailed(
            _("Please choose another address."), code="slug_reserved", field="slug"
        )
    if Tenant.objects.filter(schema_name=slug).exists():
        raise Conflict(_("This address is taken."), code="slug_taken", field="slug")
    pending = Signup.objects.filter(slug=slug, status=Signup.Status.PENDING)
    if pending.filter(expires_at__gt=timezone.now()).exists():
        raise Conflict(_("This address is taken."), code="slug_taken", field="slug")
    return slug


class SignupInvalid(ValidationFailed):
    """Every field of the signup form that is not right, each with its message (the
    first one is the error's own, for callers that show one)."""

    def __init__(self, problems: dict[str, LinliError]) -> None:
        first = next(iter(problems.values()))
        super().__init__(first.message, code=first.code, field=first.field)
        self.status = first.status  # a taken address alone is still a 409
        self.problems = {field: error.message for field, error in problems.items()}


def signup_problems(
    *,
    district_name: str,
    slug: str,
    email: str,
    password: str,
    admin_name: str,
    locale: str,
    time_zone: str,
    modules: list[str] | tuple[str, ...],
) -> dict[str, LinliError]:
    """What is wrong with a signup, field by field in the form's order (empty: nothing)."""
    problems: dict[str, LinliError] = {}

    def check(field: str, test: Any) -> None:
        try:
            test()
        except LinliError as exc:
            problems[field] = exc

    def name() -> None:
        if not (district_name or "").strip() or len(district_name.strip()) > 120:
            raise ValidationFailed(
                _("Give the district's name."), code="name_required", field="district_name"
            )

    def admin() -> None:
        if not (admin_name or "").strip() or len(admin_name.strip()) > 120:
            raise ValidationFailed(
                _("Give your name."), code="admin_name_required", field="admin_name"
            )

    def address() -> None:
        try:
            validate_email((email or "").strip().lower())
        except DjangoValidationError as exc:
            raise ValidationFailed(
                _("Give a valid email address."), code="email_invalid", field="email"
            ) from exc

    def secret() -> None:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            raise ValidationFailed(
                " ".join(exc.messages), code="password_weak", field="password"
            ) from exc

    def known_modules() -> None:
        unknown = sorted(set(modules) - set(Module.values))
        if unknown:
            raise ValidationFailed(
                _("Unknown modules: %(modules)s.") % {"modules": ", ".join(unknown)},
                code="module_invalid",
                field="modules",
            )

    check("district_name", name)
    check("slug", lambda: slug_check(slug))
    check("locale", lambda: validate_locale(locale))
    check("time_zone", lambda: validate_time_zone(time_zone))
    check("admin_name", admin)
    check("email", address)
    check("password", secret)
    check("modules", known_modules)
    return problems


@transaction.atomic
def signup_start(
    *,
    district_name: str,
    slug: str,
    email: str,
    password: str,
    admin_name: str,
    region: str = "",
    locale: str = "zh-hans",
    time_zone: str = "Asia/Shanghai",
    modules: list[str] | tuple[str, ...] = (),
    honeypot: str = "",
    ip: str | None = None,
    verify_url: str = "",
) -> tuple[Signup, str]:
    """Record the request and email the verification link; returns the signup and its token."""
    if honeypot:  # a field people never see: only robots fill it in
        raise ValidationFailed(_("Please try again."), code="signup_refused")
    now = timezone.now()
    if (
        ip
        and Signup.objects.filter(ip=ip, created_at__gt=now - timedelta(hours=1)).count()
        >= PER_IP_HOUR
    ):
        raise TooManySignups(_("Too many signups from this network. Please try again later."))
    problems = signup_problems(
        district_name=district_name,
        slug=slug,
        email=email,
        password=password,
        admin_name=admin_name,
        locale=locale,
        time_zone=time_zone,
        modules=modules,
    )
    if problems:
        raise SignupInvalid(problems)
    district_name, admin_name = district_name.strip(), admin_name.strip()
    email, slug = email.strip().lower(), slug.strip().lower()
    # an expired pending signup for the same address gives way
    Signup.objects.filter(slug=slug, status=Signup.Status.PENDING, expires_at__lte=now).delete()
    token = secrets.token_urlsafe(32)
    signup = Signup.objects.create(
        district_name=district_name,
        slug=slug,
        region=(region or "").strip()[:120],
        locale=locale,
        time_zone=time_zone,
        admin_name=admin_name,
        email=email,
        password_hash=make_password(password),
        modules=sorted(set(modules) - {"community"}),
        token_hash=_hash(token),
        ip=ip,
        expires_at=now + VERIFY_WITHIN,
    )
    link = f"{verify_url.rstrip('/')}/{token}" if verify_url else token
    subject = _("Confirm your Linli signup")
    body = _(
        "Hello %(name)s,\n\nconfirm the signup of %(district)s by opening this link within "
        "24 hours:\n\n%(link)s\n\nIf you did not sign up, ignore this email."
    ) % {"name": admin_name, "district": district_name, "link": link}
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return signup, token


@transaction.atomic
def signup_verify(*, token: str) -> tuple[Tenant, str]:
    """Provision the tenant and its first admin; returns the tenant and a one-time login
    token for landing in its admin."""
    from linli.registry.services import tenant_create

    signup = Signup.objects.select_for_update().filter(token_hash=_hash(token or "")).first()
    if signup is None:
        raise NotFound(_("This link is not valid."), code="signup_not_found")
    if signup.status == Signup.Status.VERIFIED:
        raise Conflict(_("This signup was already confirmed."), code="signup_verified")
    if signup.expires_at <= timezone.now():
        raise ValidationFailed(
            _("This link has expired. Please sign up again."), code="signup_expired", field="token"
        )
    tenant = tenant_create(
        slug=signup.slug,
        name=signup.district_name,
        region=signup.region,
        locale=signup.locale,
        time_zone=signup.time_zone,
        status=Tenant.Status.TRIAL,
        admin_username=signup.email,
        admin_email=signup.email,
        admin_password_hash=signup.password_hash,
        modules=signup.modules,
    )
    login_token = secrets.token_urlsafe(32)
    signup.status = Signup.Status.VERIFIED
    signup.verified_at = timezone.now()
    signup.tenant = tenant
    signup.login_token_hash = _hash(login_token)
    signup.save(update_fields=["status", "verified_at", "tenant", "login_token_hash"])
    return tenant, login_token


@transaction.atomic
def signup_login_consume(*, tenant: Tenant, token: str) -> str:
    """The admin's username for a fresh, unused login token of this tenant (once)."""
    signup = (
        Signup.objects.select_for_update()
        .filter(tenant=tenant, login_token_hash=_hash(token or ""))
        .first()
    )
    if (
        signup is None
        or not signup.verified_at
        or signup.verified_at < timezone.now() - LOGIN_WITHIN
    ):
        raise NotFound(_("This link is not valid."), code="login_not_found")
    signup.login_token_hash = ""
    signup.save(update_fields=["login_token_hash"])
    return signup.email


def tenant_host(tenant: Tenant) -> str:
    return f"{slug_to_host_label(tenant.schema_name)}.{settings.LINLI_BASE_DOMAIN}"
