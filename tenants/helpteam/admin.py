"""The help team in the tenant admin: every list shows what the signed-in user's ``Actor``
may see by ``tenants.helpteam.access`` (the district everything; a leader the places they
lead), the same rules as the API's and the resident pages'."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from linli.admin_base import ModelAdmin, TabularInline
from linli.photo_admin import PhotoAdminMixin
from tenants.community.actor import request_actor
from tenants.helpteam import access, selectors
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


class SeenAdmin(ModelAdmin):
    """A list of the rows the user's actor sees (``visible`` is an access list filter)."""

    visible: Callable[..., QuerySet[Any]]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return type(self).visible(request_actor(request), super().get_queryset(request))


@admin.register(Skill)
class SkillAdmin(ModelAdmin):
    list_display = ["name", "code"]


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["volunteer"]


@admin.register(HelpTeam)
class HelpTeamAdmin(SeenAdmin):
    visible = access.help_teams_visible
    list_display = ["name", "estate"]
    inlines = [MembershipInline]


@admin.register(Squad)
class SquadAdmin(SeenAdmin):
    visible = access.squads_visible
    list_display = ["name", "organisation"]
    filter_horizontal = ["estates"]
    inlines = [MembershipInline]


@admin.register(Volunteer)
class VolunteerAdmin(SeenAdmin):
    visible = access.volunteers_visible
    list_display = ["resident", "status"]
    list_filter = ["status", "skills"]
    raw_id_fields = ["resident"]
    filter_horizontal = ["skills"]


@admin.register(HelpRequest)
class HelpRequestAdmin(PhotoAdminMixin, SeenAdmin):
    visible = access.help_requests_visible
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
        "done_early_reason",
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
        actor = request_actor(request)
        try:
            access.may_view_dashboard(actor)
        except access.NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        board = selectors.dashboard(requests=access.help_requests_led(actor))
        weeks = board.weeks
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
            "alert_hours": board.alert_hours,
            "queues": board.open_by_building,
            "bars": bars,
            "chart_width": max(50 * len(bars), 50),
            "volunteers": board.volunteers_this_month,
        }
        return render(request, "admin/helpteam/helprequest/dashboard.html", context)


class SignupInline(TabularInline):
    model = Signup
    extra = 0
    raw_id_fields = ["resident"]
    readonly_fields = ["points_transaction_id"]


@admin.register(Activity)
class ActivityAdmin(SeenAdmin):
    visible = access.activities_visible
    list_display = ["title", "estate", "space", "starts_at", "capacity", "cancelled"]
    list_filter = ["estate", "cancelled"]
    inlines = [SignupInline]


@admin.register(Space)
class SpaceAdmin(SeenAdmin):
    visible = access.spaces_visible
    list_display = ["name", "estate"]
    list_filter = ["estate"]
