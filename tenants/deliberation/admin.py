from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _

from linli.admin_base import ModelAdmin, TabularInline
from linli.photo_admin import PhotoAdminMixin
from tenants.community.roles import staff_scope
from tenants.deliberation import reports
from tenants.deliberation.council import quorum
from tenants.deliberation.models import (
    ActionItem,
    AgendaItem,
    BlockedWord,
    Comment,
    Contact,
    Meeting,
    Topic,
    TopicEvent,
    TopicPhoto,
)


class EventInline(TabularInline):
    model = TopicEvent
    extra = 0
    readonly_fields = ("from_status", "to_status", "actor", "note", "at")
    can_delete = False


class CommentInline(TabularInline):
    model = Comment
    extra = 0
    readonly_fields = ("author", "body", "created_at")
    fields = ("author", "body", "held_for_review", "created_at")


@admin.register(Topic)
class TopicAdmin(PhotoAdminMixin, ModelAdmin):
    change_list_template = "admin/deliberation/topic/change_list.html"
    list_display = ["title", "status", "estate", "scope", "held_for_review", "created_at"]
    list_filter = ["status", "held_for_review", "estate", "category"]
    search_fields = ["title", "description"]
    raw_id_fields = [
        "raised_by",
        "heard_by",
        "estate",
        "building",
        "unit",
        "merged_into",
        "assigned_to",
    ]
    readonly_fields = ["status"]
    inlines = [EventInline, CommentInline]

    def stored_photos(self, objs: Any) -> list[str | None]:
        """A deleted topic takes its photos (rows and files) with it."""
        topics = [topic.pk for topic in objs]
        return [p.image.name for p in TopicPhoto.objects.filter(topic_id__in=topics)]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="deliberation_report"), *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not staff_scope(request.user).anything:
            raise PermissionDenied
        months = reports.days_to_resolve_by_month()
        peak = max([d for _m, d, _n in months] or [1]) or 1
        bars = [
            {"month": m, "days": d, "count": n, "x": 40 * i, "h": round(100 * d / peak)}
            for i, (m, d, n) in enumerate(months)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Deliberation report"),
            "statuses": reports.topics_by_status(),
            "bars": bars,
            "chart_width": max(40 * len(bars), 40),
            "coverage": reports.coverage_by_estate(),
        }
        return render(request, "admin/deliberation/topic/report.html", context)


@admin.register(BlockedWord)
class BlockedWordAdmin(ModelAdmin):
    list_display = ["word"]


class AgendaInline(TabularInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ["topic"]
    readonly_fields = ["voting_open", "decided"]


@admin.register(Meeting)
class MeetingAdmin(ModelAdmin):
    list_display = ["title", "estate", "starts_at", "status", "invited_households"]
    list_filter = ["status", "estate"]
    raw_id_fields = ["estate", "building", "convener"]
    readonly_fields = ["invited_households"]
    inlines = [AgendaInline]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.record_view)
        return [
            path("<int:meeting_id>/record/", view, name="deliberation_meeting_record"),
            *super().get_urls(),
        ]

    def record_view(self, request: HttpRequest, meeting_id: int) -> HttpResponse:
        """The print-ready meeting record: agenda, attendance, decisions, votes, minutes."""
        if not staff_scope(request.user).anything:
            raise PermissionDenied
        meeting = get_object_or_404(
            Meeting.objects.select_related("estate", "building", "convener"), pk=meeting_id
        )
        agenda = (
            meeting.agenda.select_related("topic")
            .annotate(
                f=Count("votes", filter=Q(votes__choice="for")),
                a=Count("votes", filter=Q(votes__choice="against")),
                s=Count("votes", filter=Q(votes__choice="abstain")),
            )
            .order_by("position")
        )
        return render(
            request,
            "admin/deliberation/meeting/record.html",
            {
                "meeting": meeting,
                "agenda": agenda,
                "quorum": quorum(meeting=meeting),
                "attendance": meeting.attendance.select_related("resident"),
            },
        )


@admin.register(ActionItem)
class ActionItemAdmin(ModelAdmin):
    list_display = ["title", "due_on", "status", "owner_organisation"]
    list_filter = ["status"]
    raw_id_fields = ["item", "owner_organisation", "owner_resident"]


@admin.register(Contact)
class ContactAdmin(ModelAdmin):
    list_display = ["household", "kind", "on", "leader"]
    list_filter = ["kind"]
    date_hierarchy = "on"
    raw_id_fields = ["leader", "household", "topic"]
