from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.admin_base import ModelAdmin, TabularInline
from linli.photo_admin import PhotoAdminMixin
from tenants.community.roles import staff_scope
from tenants.helpteam import selectors
from tenants.helpteam.models import (
    Activity,
    HelpRequest,
    HelpTeam,
    Membership,
    Signup,
    Skill,
    Space,
    Squad,
    Volunteer,
)
from tenants.helpteam.services import helpteam_settings


@admin.register(Skill)
class SkillAdmin(ModelAdmin):
    list_display = ["name", "code"]


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["volunteer"]


@admin.register(HelpTeam)
class HelpTeamAdmin(ModelAdmin):
    list_display = ["name", "estate"]
    inlines = [MembershipInline]


@admin.register(Squad)
class SquadAdmin(ModelAdmin):
    list_display = ["name", "organisation"]
    filter_horizontal = ["estates"]
    inlines = [MembershipInline]


@admin.register(Volunteer)
class VolunteerAdmin(ModelAdmin):
    list_display = ["resident", "status"]
    list_filter = ["status", "skills"]
    raw_id_fields = ["resident"]
    filter_horizontal = ["skills"]


@admin.register(HelpRequest)
class HelpRequestAdmin(PhotoAdminMixin, ModelAdmin):
    photo_fields = ("evidence",)
    change_list_template = "admin/helpteam/helprequest/change_list.html"
    list_display = ["id", "category", "status", "urgency", "window_start", "claimed_by"]
    list_filter = ["status", "urgency", "category"]
    search_fields = ["description", "category"]
    raw_id_fields = ["requester", "raised_by", "household", "claimed_by", "confirmed_by"]
    readonly_fields = [
        "status",
        "claimed_at",
        "started_at",
        "done_at",
        "confirmed_at",
        "points_transaction_id",
    ]

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.dashboard_view)
        return [path("dashboard/", view, name="helpteam_dashboard"), *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Leaders' view: open requests by building (old ones flagged), weekly flow chart,
        and volunteers' hours and points this month."""
        if not staff_scope(request.user).anything:
            raise PermissionDenied
        alert = helpteam_settings().unclaimed_alert_hours
        weeks = selectors.weekly_flow()
        peak = max([max(r, d) for _w, r, d in weeks] or [1]) or 1
        bars = [
            {
                "week": w,
                "raised": r,
                "resolved": d,
                "x": 50 * n,
                "raised_h": round(100 * r / peak),
                "resolved_h": round(100 * d / peak),
            }
            for n, (w, r, d) in enumerate(weeks)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Help team dashboard"),
            "alert_hours": alert,
            "queues": selectors.open_requests_by_building(alert_hours=alert),
            "bars": bars,
            "chart_width": max(50 * len(bars), 50),
            "volunteers": selectors.volunteer_month(month=timezone.localdate()),
        }
        return render(request, "admin/helpteam/helprequest/dashboard.html", context)


class SignupInline(TabularInline):
    model = Signup
    extra = 0
    raw_id_fields = ["resident"]
    readonly_fields = ["points_transaction_id"]


@admin.register(Activity)
class ActivityAdmin(ModelAdmin):
    list_display = ["title", "estate", "space", "starts_at", "capacity", "cancelled"]
    list_filter = ["estate", "cancelled"]
    inlines = [SignupInline]


@admin.register(Space)
class SpaceAdmin(ModelAdmin):
    list_display = ["name", "estate"]
    list_filter = ["estate"]
