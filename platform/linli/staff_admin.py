"""Staff pages of a tenant: the district admin's staff page in the tenant admin (invite,
re-send, revoke, deactivate, reactivate), the invitation page an invitee opens from
their email, and the "forgotten your password?" pages, bound to the tenant.

Thin views: every decision is made by ``tenants.community.staff``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from linli.errors import LinliError
from linli.http import absolute_url, client_ip, public_origin
from tenants.community import staff
from tenants.community.models import Role, RoleAssignment
from tenants.community.roles import ROLE_SCOPES

Scope = RoleAssignment.Scope
ACCEPT_PATH = "/staff/invitation/"
INVITE_FIELDS = ("email", "role", "place", "resident")


def _int(raw: str | None) -> int:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else 0


def _accept_url(request: HttpRequest) -> str:
    return absolute_url(request, ACCEPT_PATH)


def _invite(request: HttpRequest) -> str:
    scope, _sep, place = request.POST.get("place", "").partition(":")
    invitation, _token = staff.invitation_create(
        by=request.user,
        email=request.POST.get("email", ""),
        role=request.POST.get("role", ""),
        scope=scope,
        place_id=_int(place) or None,
        resident_id=_int(request.POST.get("resident")) or None,
        accept_url=_accept_url(request),
    )
    return _("Invitation sent to %(email)s.") % {"email": invitation.email}


def _act(request: HttpRequest, action: str) -> str:
    if action == "invite":
        return _invite(request)
    if action == "resend":
        invitation, _token = staff.invitation_resend(
            by=request.user,
            invitation_id=_int(request.POST.get("invitation")),
            accept_url=_accept_url(request),
        )
        return _("Invitation sent again to %(email)s.") % {"email": invitation.email}
    if action == "revoke":
        invitation = staff.invitation_revoke(
            by=request.user, invitation_id=_int(request.POST.get("invitation"))
        )
        return _("Invitation to %(email)s revoked.") % {"email": invitation.email}
    if action == "deactivate":
        record = staff.staff_deactivate(by=request.user, user_id=_int(request.POST.get("user")))
        return _("%(user)s deactivated.") % {"user": record.user.get_username()}
    if action == "reactivate":
        user = staff.staff_reactivate(by=request.user, user_id=_int(request.POST.get("user")))
        return _("%(user)s reactivated.") % {"user": user.get_username()}
    raise LinliError(_("Unknown action."), code="action_invalid")


def staff_view(site: Any, request: HttpRequest) -> HttpResponse:
    if not staff.is_district_admin(request.user):
        raise PermissionDenied
    error, error_field, status = "", "", 200
    posted: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "invite":
            posted = {k: request.POST.get(k, "") for k in INVITE_FIELDS}
        try:
            messages.success(request, _act(request, action))
            return HttpResponseRedirect(request.path)
        except LinliError as exc:
            error, error_field, status = exc.message, exc.field or "", exc.status
    invitations = [
        {"row": i, "place": staff.place_label(i.scope, i.place_id)}
        for i in staff.invitation_pending_list()
    ]
    context = {
        **site.each_context(request),
        "title": _("Staff"),
        "rows": staff.staff_list(),
        "invitations": invitations,
        "roles": [
            (
                role.value,
                role.label,
                ", ".join(str(Scope(s).label) for s in sorted(ROLE_SCOPES[role])),
            )
            for role in Role
        ],
        "places": staff.place_choices(),
        "posted": posted,
        "error": error,
        "error_field": error_field,
        "me": request.user.pk,
    }
    return render(request, "admin/linli/staff.html", context, status=status)


# --- the invitation page (tenant host, no login needed) ------------------------------


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = staff.invitation_for_token(token=token)
    except LinliError as exc:
        return render(
            request,
            "linli/staff/invitation_failed.html",
            {"error": exc.message},
            status=exc.status,
        )
    context: dict[str, Any] = {
        "invitation": invitation,
        "place": staff.place_label(invitation.scope, invitation.place_id),
        "display_name": invitation.resident.display_name if invitation.resident else "",
        "errors": {},
    }
    if request.method == "POST":
        context["display_name"] = request.POST.get("display_name", "")
        try:
            user = staff.invitation_accept(
                token=token,
                display_name=request.POST.get("display_name", ""),
                password=request.POST.get("password", ""),
                password_again=request.POST.get("password_again", ""),
            )
        except staff.FormInvalid as exc:
            context["errors"] = exc.errors
            return render(request, "linli/staff/invitation_accept.html", context)
        except LinliError as exc:
            return render(
                request,
                "linli/staff/invitation_failed.html",
                {"error": exc.message},
                status=exc.status,
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect("/admin/")
    return render(request, "linli/staff/invitation_accept.html", context)


# --- forgotten passwords (Django's views, with a tenant-bound token) ---------------------


class StaffPasswordResetForm(PasswordResetForm):
    """Reset mail goes to active staff of this tenant only; each request is audited."""

    def get_users(self, email: str) -> Any:
        return (u for u in staff.password_reset_users(email=email) if u.has_usable_password())

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The link in the email is built from the tenant's domain, not the Host header.
        request = kwargs.get("request")
        if request is not None:
            scheme, _sep, host = public_origin(request).partition("://")
            kwargs["domain_override"], kwargs["use_https"] = host, scheme == "https"
        super().save(*args, **kwargs)

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        super().send_mail(*args, **kwargs)
        context = args[2] if len(args) > 2 else kwargs["context"]
        staff.password_reset_requested(user=context["user"])


class _AdminContext:
    request: HttpRequest

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        # whoever is here cannot log in: no navigation of the admin (nor a user menu)
        return {
            **admin.site.each_context(self.request),
            **context,
            "is_nav_sidebar_enabled": False,
        }


class StaffPasswordResetView(_AdminContext, auth_views.PasswordResetView):
    form_class = StaffPasswordResetForm
    token_generator = staff.tenant_password_reset_token

    def form_valid(self, form: Any) -> HttpResponse:
        """Reset requests count like failed sign-ins (per address and per network address):
        past the limit the answer is the same page, and no email is sent."""
        from linli.security.services import LoginLocked, login_attempt_start

        try:
            login_attempt_start(
                username=f"reset:{form.cleaned_data.get('email', '')}",
                ip=client_ip(self.request),
                step="reset",
            )
        except LoginLocked:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class StaffPasswordResetDoneView(_AdminContext, auth_views.PasswordResetDoneView):
    pass


class StaffPasswordResetConfirmView(_AdminContext, auth_views.PasswordResetConfirmView):
    token_generator = staff.tenant_password_reset_token

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            staff.password_reset_completed(user=form.user)
        return response


class StaffPasswordResetCompleteView(_AdminContext, auth_views.PasswordResetCompleteView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "login_url": "/admin/login/"}
