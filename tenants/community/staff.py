"""The tenant's staff logins: invitations, password resets, deactivation. All audited.

Staff users live in the tenant's schema; what they may do comes from the roles
their resident holds (``roles.py``). Only district admins (a tenant-wide
district-admin role, or a superuser) manage staff. User ids repeat across
schemas, so anything that identifies a user outside the database (a reset
link) is bound to the tenant's schema as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli.db.access import tenant_db
from linli.errors import Conflict, LinliError, NoTenant, NotFound, ValidationFailed
from tenants.audit.context import Actor, acting_as, current_actor
from tenants.audit.services import audit_record
from tenants.community.models import (
    Resident,
    Role,
    RoleAssignment,
    StaffDeactivation,
    StaffInvitation,
)
from tenants.community.roles import PLACE_MODELS, ROLE_SCOPES, active_roles, role_assign, role_end
from tenants.community.services import resident_create

Scope = RoleAssignment.Scope
INVITATION_VALID_FOR = timedelta(days=7)
NAME_MAX = 64

ONLY_DISTRICT_ADMINS = gettext_noop("Only district admins may manage staff.")
EMAIL_INVALID = gettext_noop("Give a valid email address.")
EMAIL_IS_STAFF = gettext_noop("This email already belongs to a staff user.")
ALREADY_INVITED = gettext_noop(
    "This email already has a pending invitation: re-send or revoke that one."
)
ROLE_INVALID = gettext_noop("Unknown role.")
ROLE_SCOPE_INVALID = gettext_noop(
    "The role “%(role)s” cannot cover a place of this kind (%(scope)s)."
)
PLACE_NOT_FOUND = gettext_noop("Choose the place this role covers.")
RESIDENT_NOT_FOUND = gettext_noop("No resident %(id)s.")
RESIDENT_HAS_LOGIN = gettext_noop("This resident already has a login.")
INVITATION_NOT_FOUND = gettext_noop("No such invitation.")
INVITATION_NOT_PENDING = gettext_noop("This invitation was already accepted or revoked.")
LINK_INVALID = gettext_noop("This invitation link is not valid.")
LINK_EXPIRED = gettext_noop("This invitation has expired. Ask your district admin to re-send it.")
LINK_USED = gettext_noop("This invitation has already been accepted. Log in instead.")
LINK_REVOKED = gettext_noop("This invitation was withdrawn.")
NAME_REQUIRED = gettext_noop("Give your name.")
NAME_TOO_LONG = gettext_noop("Your name is too long.")
PASSWORDS_DIFFER = gettext_noop("The two passwords differ.")
STAFF_NOT_FOUND = gettext_noop("No such staff user.")
NOT_YOURSELF = gettext_noop("You cannot deactivate yourself.")
LAST_ADMIN = gettext_noop("This is the last active district admin; make another one first.")
ALREADY_INACTIVE = gettext_noop("This staff user is already deactivated.")
ALREADY_ACTIVE = gettext_noop("This staff user is already active.")


class NotAllowed(LinliError):
    code = "staff_forbidden"
    status = 403


class FormInvalid(ValidationFailed):
    """Several fields wrong at once: ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors.values()))[0]
        super().__init__(first, code="form_invalid", field=next(iter(errors)))
        self.errors = errors


def _hash(token: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def _actor(user: Any) -> Actor:
    return Actor(user_id=user.pk, request_id=current_actor().request_id)


def _schema() -> str:
    schema = str(getattr(tenant_db(), "schema_name", "") or "")
    if not schema or schema == settings.PUBLIC_SCHEMA_NAME:
        raise NoTenant("Staff accounts live in a tenant's schema; no tenant is active.")
    return schema


# --- who manages staff -------------------------------------------------------


def _district_admin_q(today: Any) -> Q:
    """Users holding a tenant-wide district-admin role today."""
    return Q(
        resident__erased_at__isnull=True,
        resident__roles__role=Role.DISTRICT_ADMIN,
        resident__roles__scope=Scope.TENANT,
        resident__roles__starts_on__lte=today,
    ) & (Q(resident__roles__ends_on__isnull=True) | Q(resident__roles__ends_on__gte=today))


def is_district_admin(user: Any) -> bool:
    if user is None or not user.is_authenticated or not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    today = timezone.localdate()
    return bool(get_user_model().objects.filter(_district_admin_q(today), pk=user.pk).exists())


def _require_district_admin(user: Any) -> None:
    _schema()
    if not is_district_admin(user):
        raise NotAllowed(_(ONLY_DISTRICT_ADMINS))


def _active_district_admin_ids() -> set[int]:
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    today = timezone.localdate()
    return set(
        users.filter(Q(is_superuser=True) | _district_admin_q(today)).values_list("pk", flat=True)
    )


# --- invitations ---------------------------------------------------------------


def _normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed(_(EMAIL_INVALID), code="email_invalid", field="email") from exc
    return email


def _email_free(email: str) -> None:
    users = get_user_model().objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
    if users.exists():
        raise Conflict(_(EMAIL_IS_STAFF), code="email_is_staff", field="email")


def _check_role_and_place(role: str, scope: str, place_id: int | None) -> int | None:
    if role not in Role.values:
        raise ValidationFailed(_(ROLE_INVALID), code="role_invalid", field="role")
    if scope not in ROLE_SCOPES[role]:
        label = Scope(scope).label if scope in Scope.values else scope
        raise ValidationFailed(
            _(ROLE_SCOPE_INVALID) % {"role": Role(role).label, "scope": label},
            code="role_scope_invalid",
            field="scope",
        )
    if scope == Scope.TENANT:
        return None
    if not place_id or not PLACE_MODELS[scope].objects.filter(pk=place_id).exists():
        raise ValidationFailed(_(PLACE_NOT_FOUND), code="place_not_found", field="place")
    return place_id


def _send_invitation(invitation: StaffInvitation, token: str, accept_url: str) -> None:
    link = f"{accept_url.rstrip('/')}/{token}"
    subject = _("You are invited to work in Linli")
    body = _(
        "Hello,\n\nyou are invited to join the admin of your neighbourhood as %(role)s. "
        "Open this link within 7 days to choose your password:\n\n%(link)s\n\n"
        "If you did not expect this, ignore this email."
    ) % {"role": invitation.get_role_display(), "link": link}
    email = invitation.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))


@transaction.atomic
def invitation_create(
    *,
    by: Any,
    email: str,
    role: str,
    scope: str,
    place_id: int | None = None,
    resident_id: int | None = None,
    accept_url: str,
) -> tuple[StaffInvitation, str]:
    """Invite someone to the admin with a role over a place; emails the link (on commit).
    Returns the invitation and its token (the link's last part)."""
    _require_district_admin(by)
    email = _normal_email(email)
    _email_free(email)
    place_id = _check_role_and_place(role, scope, place_id)
    resident = None
    if resident_id:
        resident = Resident.objects.filter(pk=resident_id, erased_at__isnull=True).first()
        if resident is None:
            raise NotFound(
                _(RESIDENT_NOT_FOUND) % {"id": resident_id},
                code="resident_not_found",
                field="resident",
            )
        if resident.user_id is not None:
            raise Conflict(_(RESIDENT_HAS_LOGIN), code="resident_has_login", field="resident")
    now = timezone.now()
    pending = StaffInvitation.objects.select_for_update().filter(
        email=email, status=StaffInvitation.Status.PENDING
    )
    for old in pending:
        if old.expires_at > now:
            raise Conflict(_(ALREADY_INVITED), code="already_invited", field="email")
        # an expired invitation gives way to the new one
        old.status, old.revoked_at = StaffInvitation.Status.REVOKED, now
        old.save(update_fields=["status", "revoked_at", "updated_at"])
    token = secrets.token_urlsafe(32)
    invitation = StaffInvitation.objects.create(
        email=email,
        role=role,
        scope=scope,
        place_id=place_id,
        resident=resident,
        token_hash=_hash(token),
        expires_at=now + INVITATION_VALID_FOR,
        sent_at=now,
        invited_by=by,
    )
    audit_record(
        action="staff.invitation_sent",
        obj=invitation,
        changes={
            "role": [None, role],
            "scope": [None, scope],
            "place": [None, place_id],
            "resident": [None, resident.pk if resident else None],
        },
        actor=_actor(by),
    )
    _send_invitation(invitation, token, accept_url)
    return invitation, token


def _pending_invitation(invitation_id: int) -> StaffInvitation:
    invitation = StaffInvitation.objects.select_for_update().filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_(INVITATION_NOT_FOUND), code="invitation_not_found")
    if invitation.status != StaffInvitation.Status.PENDING:
        raise Conflict(_(INVITATION_NOT_PENDING), code="invitation_not_pending")
    return invitation


@transaction.atomic
def invitation_resend(
    *, by: Any, invitation_id: int, accept_url: str
) -> tuple[StaffInvitation, str]:
    """Email a fresh link, valid for another 7 days; the previous link stops working."""
    _require_district_admin(by)
    invitation = _pending_invitation(invitation_id)
    _email_free(invitation.email)
    token, now = secrets.token_urlsafe(32), timezone.now()
    invitation.token_hash = _hash(token)
    invitation.expires_at = now + INVITATION_VALID_FOR
    invitation.sent_at = now
    invitation.times_sent += 1
    invitation.save(
        update_fields=["token_hash", "expires_at", "sent_at", "times_sent", "updated_at"]
    )
    audit_record(
        action="staff.invitation_resent",
        obj=invitation,
        changes={"times_sent": [invitation.times_sent - 1, invitation.times_sent]},
        actor=_actor(by),
    )
    _send_invitation(invitation, token, accept_url)
    return invitation, token


@transaction.atomic
def invitation_revoke(*, by: Any, invitation_id: int) -> StaffInvitation:
    _require_district_admin(by)
    invitation = _pending_invitation(invitation_id)
    invitation.status, invitation.revoked_at = StaffInvitation.Status.REVOKED, timezone.now()
    invitation.save(update_fields=["status", "revoked_at", "updated_at"])
    audit_record(
        action="staff.invitation_revoked",
        obj=invitation,
        changes={"status": [StaffInvitation.Status.PENDING, StaffInvitation.Status.REVOKED]},
        actor=_actor(by),
    )
    return invitation


def _usable(invitation: StaffInvitation | None) -> StaffInvitation:
    if invitation is None:
        raise NotFound(_(LINK_INVALID), code="invitation_link_invalid")
    if invitation.status == StaffInvitation.Status.ACCEPTED:
        raise Conflict(_(LINK_USED), code="invitation_used")
    if invitation.status == StaffInvitation.Status.REVOKED:
        raise Conflict(_(LINK_REVOKED), code="invitation_revoked")
    if invitation.expires_at <= timezone.now():
        raise ValidationFailed(_(LINK_EXPIRED), code="invitation_expired")
    return invitation


def invitation_for_token(*, token: str) -> StaffInvitation:
    """The pending, unexpired invitation behind a link, or a clear refusal."""
    _schema()
    return _usable(StaffInvitation.objects.filter(token_hash=_hash(token or "")).first())


@transaction.atomic
def invitation_accept(
    *, token: str, display_name: str, password: str, password_again: str | None = None
) -> Any:
    """Create the staff user, link or create their resident, give the role. Returns the user.

    Raises ``FormInvalid`` with every field's errors when the name or password won't do.
    """
    _schema()
    invitation = _usable(
        StaffInvitation.objects.select_for_update().filter(token_hash=_hash(token or "")).first()
    )
    _email_free(invitation.email)
    User = get_user_model()
    display_name = (display_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not display_name:
        errors["display_name"] = [_(NAME_REQUIRED)]
    elif len(display_name) > NAME_MAX:
        errors["display_name"] = [_(NAME_TOO_LONG)]
    user = User(
        username=invitation.email,
        email=invitation.email,
        first_name=display_name[:150],
        is_staff=True,
        is_active=True,
    )
    try:
        validate_password(password or "", user)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if password_again is not None and password_again != password and "password" not in errors:
        errors["password_again"] = [_(PASSWORDS_DIFFER)]
    if errors:
        raise FormInvalid(errors)
    user.set_password(password)
    user.save()
    actor = _actor(user)
    resident = (
        Resident.objects.select_for_update()
        .filter(pk=invitation.resident_id, erased_at__isnull=True)
        .first()
        if invitation.resident_id
        else None
    )
    if invitation.resident_id and (resident is None or resident.user_id is not None):
        # the resident was erased or linked to someone else meanwhile
        raise Conflict(_(RESIDENT_HAS_LOGIN), code="resident_has_login")
    with acting_as(actor):  # the resident and role entries name the new user
        if resident is None:
            resident = resident_create(display_name=display_name)
        resident.user = user
        resident.save(update_fields=["user", "updated_at"])
        assignment = role_assign(
            resident_id=resident.pk,
            role=invitation.role,
            scope=invitation.scope,
            place_id=invitation.place_id,
        )
    invitation.status = StaffInvitation.Status.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_user", "updated_at"])
    audit_record(
        action="staff.invitation_accepted",
        obj=invitation,
        changes={
            "user": [None, user.pk],
            "resident": [None, resident.pk],
            "role_assignment": [None, assignment.pk],
        },
        actor=actor,
    )
    return user


# --- deactivation ----------------------------------------------------------------


def _sessions_end(user_id: int) -> int:
    """End every stored session of this user in the current schema; returns how many."""
    engine = import_module(settings.SESSION_ENGINE)
    model_class = getattr(engine.SessionStore, "get_model_class", None)
    if model_class is None:  # sessions not in the database: the inactive flag still locks out
        return 0
    model = model_class()
    mine = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id)
    ]
    for key in mine:  # through the store, so a cached copy goes too
        engine.SessionStore(session_key=key).delete()
    return len(mine)


def _staff_user(user_id: int) -> Any:
    user = get_user_model().objects.select_for_update().filter(pk=user_id, is_staff=True).first()
    if user is None:
        raise NotFound(_(STAFF_NOT_FOUND), code="staff_not_found")
    return user


@transaction.atomic
def staff_deactivate(*, by: Any, user_id: int) -> StaffDeactivation:
    """Switch a staff user off: no login, sessions ended now, roles ended today."""
    _require_district_admin(by)
    if by.pk == user_id:
        raise Conflict(_(NOT_YOURSELF), code="deactivate_self")
    # Lock every active staff row (in id order) so two admins deactivating each other
    # at once cannot both succeed and leave nobody in charge.
    User = get_user_model()
    list(User.objects.select_for_update().filter(is_active=True, is_staff=True).order_by("pk"))
    user = _staff_user(user_id)
    if not user.is_active:
        raise Conflict(_(ALREADY_INACTIVE), code="staff_inactive")
    admins = _active_district_admin_ids()
    if user.pk in admins and not admins - {user.pk}:
        raise Conflict(_(LAST_ADMIN), code="last_district_admin")
    if by.pk not in admins:  # switched off by someone else while this request waited
        raise NotAllowed(_(ONLY_DISTRICT_ADMINS))
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended: list[RoleAssignment] = []
    resident = Resident.objects.filter(user=user).first()
    if resident is not None:
        for assignment in active_roles(resident=resident):
            ended.append(role_end(assignment_id=assignment.pk))
    record = StaffDeactivation.objects.create(user=user, deactivated_by=by)
    record.ended_roles.set(ended)
    sessions = _sessions_end(user.pk)
    audit_record(
        action="staff.deactivated",
        obj=user,
        changes={
            "is_active": [True, False],
            "roles_ended": [a.pk for a in ended],
            "sessions_ended": sessions,
        },
        actor=_actor(by),
    )
    return record


@transaction.atomic
def staff_reactivate(*, by: Any, user_id: int) -> Any:
    """Switch a staff user back on, giving back the roles their deactivation ended."""
    _require_district_admin(by)
    user = _staff_user(user_id)
    if user.is_active:
        raise Conflict(_(ALREADY_ACTIVE), code="staff_active")
    user.is_active = True
    user.save(update_fields=["is_active"])
    record = (
        StaffDeactivation.objects.select_for_update()
        .filter(user=user, reactivated_at__isnull=True)
        .first()
    )
    restored: list[int] = []
    if record is not None:
        resident = Resident.objects.filter(user=user, erased_at__isnull=True).first()
        current = set()
        if resident is not None:
            current = {
                (a.role, a.scope, a.area_id, a.estate_id, a.building_id, a.unit_id)
                for a in active_roles(resident=resident).exclude(pk__in=record.ended_roles.all())
            }
        for old in record.ended_roles.all() if resident is not None else []:
            key = (old.role, old.scope, old.area_id, old.estate_id, old.building_id, old.unit_id)
            if key in current:
                continue
            place = old.area_id or old.estate_id or old.building_id or old.unit_id
            restored.append(
                role_assign(
                    resident_id=old.resident_id, role=old.role, scope=old.scope, place_id=place
                ).pk
            )
            current.add(key)
        record.reactivated_at, record.reactivated_by = timezone.now(), by
        record.save(update_fields=["reactivated_at", "reactivated_by"])
    audit_record(
        action="staff.reactivated",
        obj=user,
        changes={"is_active": [False, True], "roles_given_back": restored},
        actor=_actor(by),
    )
    return user


# --- password reset ------------------------------------------------------------------


class TenantPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    """Reset tokens that only work in the schema they were made in: user ids repeat
    across tenants, so alpha's link for user 1 must not reset beta's user 1."""

    key_salt = "linli.staff.TenantPasswordResetTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{_schema()}:{super()._make_hash_value(user, timestamp)}"


tenant_password_reset_token = TenantPasswordResetTokenGenerator()


def password_reset_users(*, email: str) -> QuerySet[Any]:
    """The active staff users a reset for this address goes to (usually one, maybe none)."""
    _schema()
    User = get_user_model()
    return User.objects.filter(email__iexact=(email or "").strip(), is_active=True, is_staff=True)


def password_reset_requested(*, user: Any) -> None:
    audit_record(action="staff.password_reset_requested", obj=user)


def password_reset_completed(*, user: Any) -> None:
    audit_record(action="staff.password_reset_completed", obj=user, actor=_actor(user))


# --- reads for the staff page ---------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    user: Any
    name: str
    roles: list[str]
    active: bool
    last_login: datetime | None
    is_district_admin: bool


def _role_label(assignment: RoleAssignment) -> str:
    place = assignment.area or assignment.estate or assignment.building or assignment.unit
    where = str(place) if place is not None else assignment.get_scope_display()
    return f"{assignment.get_role_display()} · {where}"


def staff_list() -> list[StaffRow]:
    _schema()
    users = list(get_user_model().objects.filter(is_staff=True).order_by("-is_active", "username"))
    residents = {
        r.user_id: r for r in Resident.objects.filter(user__in=users, erased_at__isnull=True)
    }
    today = timezone.localdate()
    roles: dict[int, list[RoleAssignment]] = {}
    current = (
        RoleAssignment.objects.filter(resident__in=residents.values(), starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("area", "estate", "building__estate", "unit__building__estate")
    )
    for assignment in current:
        roles.setdefault(assignment.resident_id, []).append(assignment)
    admins = _active_district_admin_ids()
    rows = []
    for user in users:
        resident = residents.get(user.pk)
        held = roles.get(resident.pk, []) if resident and user.is_active else []
        rows.append(
            StaffRow(
                user=user,
                name=(resident.display_name if resident else "") or user.get_full_name(),
                roles=list(dict.fromkeys(_role_label(a) for a in held)),
                active=user.is_active,
                last_login=user.last_login,
                is_district_admin=user.pk in admins,
            )
        )
    return rows


def invitation_pending_list() -> QuerySet[StaffInvitation]:
    _schema()
    return StaffInvitation.objects.filter(status=StaffInvitation.Status.PENDING).select_related(
        "resident", "invited_by"
    )


PLACES_LISTED = 500


def place_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Places a role can cover, grouped by scope, as ``("estate:3", "學府1號小區")`` pairs."""
    _schema()
    groups: list[tuple[str, list[tuple[str, str]]]] = [
        (str(Scope.TENANT.label), [(Scope.TENANT.value, str(Scope.TENANT.label))])
    ]
    related: dict[str, tuple[str, ...]] = {
        Scope.AREA: (),
        Scope.ESTATE: (),
        Scope.BUILDING: ("estate",),
        Scope.UNIT: ("building__estate",),
    }
    for scope, model in PLACE_MODELS.items():
        places = model.objects.all()
        if related[scope]:
            places = places.select_related(*related[scope])
        places = places[:PLACES_LISTED]
        options = [(f"{scope}:{place.pk}", str(place)) for place in places]
        if options:
            groups.append((str(Scope(scope).label), options))
    return groups


def place_label(scope: str, place_id: int | None) -> str:
    if scope == Scope.TENANT or place_id is None:
        return str(Scope.TENANT.label)
    place = PLACE_MODELS[scope].objects.filter(pk=place_id).first()
    return str(place) if place is not None else f"{Scope(scope).label} {place_id}"
