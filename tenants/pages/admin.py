"""Resident sign-in in the tenant admin: sessions to revoke, WeChat sign-ins to undo, household
sign-in codes to print."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.admin_base import ModelAdmin
from linli.http import absolute_url
from tenants.community.models import Household, Unit
from tenants.community.roles import staff_scope
from tenants.pages import signin
from tenants.pages.models import HouseholdPass, ResidentSession, WeChatBinding


@admin.register(ResidentSession)
class ResidentSessionAdmin(ModelAdmin):
    list_display = ["resident", "created_at", "last_seen_at", "revoked_at", "user_agent"]
    list_filter = ["revoked_at"]
    raw_id_fields = ["resident"]
    readonly_fields = ["resident", "created_at", "last_seen_at", "revoked_at", "user_agent"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=gettext_lazy("Sign out on that phone (revoke)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ResidentSession]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, _("%(count)s sessions revoked.") % {"count": count})


@admin.register(WeChatBinding)
class WeChatBindingAdmin(ModelAdmin):
    """Who signs in with one tap inside WeChat; deleting one asks that WeChat user to
    prove the phone again (the WeChat user is never shown: only a digest is kept)."""

    list_display = ["resident", "created_at", "last_used_at"]
    raw_id_fields = ["resident"]
    readonly_fields = ["resident", "created_at", "last_used_at"]
    exclude = ["openid_digest"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HouseholdPass)
class HouseholdPassAdmin(ModelAdmin):
    list_display = ["household", "created_at", "expires_at", "revoked_at", "uses"]
    readonly_fields = ["household", "created_at", "expires_at", "revoked_at", "uses"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # printed per stairwell unit, below

    @admin.action(description=gettext_lazy("Revoke"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[HouseholdPass]) -> None:
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.print_view)
        return [path("print/<int:unit_id>/", view, name="pages_pass_print"), *super().get_urls()]

    def print_view(self, request: HttpRequest, unit_id: int) -> HttpResponse:
        """New sign-in codes for every household of a stairwell unit, one per card."""
        from tenants.shop.qr import qr_svg

        scope = staff_scope(request.user)
        unit = get_object_or_404(scope.units(Unit.objects.all()), pk=unit_id)
        cards = []
        for household in Household.objects.filter(unit=unit).order_by("flat_number"):
            token = signin.household_pass_issue(household_id=household.pk)
            link = absolute_url(request, f"/r/pass/{token}")
            svg = base64.b64encode(qr_svg(link)).decode()
            cards.append({"household": household, "svg": svg})
        if not cards:
            raise PermissionDenied
        return render(request, "admin/pages/passes.html", {"unit": unit, "cards": cards})
