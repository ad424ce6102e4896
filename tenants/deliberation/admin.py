"""Deliberation in the tenant admin: each screen lists what ``access`` lets the signed-in
staff user see, and changes only what they lead (the district: everything)."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from linli.admin_base import ModelAdmin, TabularInline, read_only
from linli.errors import NotFound
from linli.photo_admin import PhotoAdminMixin
from tenants.community.actor import Actor, request_actor
from tenants.deliberation import access, reports
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


class ScopedAdmin(ModelAdmin):
    """Rows through ``visible``; leaders (and the district) see the screens, change what
    ``leads`` says, and never what places a row (``district_fields``); only the district
    adds and deletes by hand, since new rows go through the services' checks."""

    district_fields: tuple[str, ...] = ()

    def visible(self, actor: Actor) -> QuerySet[Any]:
        raise NotImplementedError

    def leads(self, actor: Actor, obj: Any) -> bool:
        return actor.is_district

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request) & self.visible(request_actor(request))

    def _may(self, request: HttpRequest) -> bool:
        return request_actor(request).leads_anything

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self._may(request):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if read_only(request) or not self.has_view_permission(request, obj):
            return False
        return obj is None or self.leads(request_actor(request), obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not read_only(request) and request_actor(request).is_district

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not read_only(request) and request_actor(request).is_district

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request_actor(request).is_district:
            fields += [f for f in self.district_fields if f not in fields]
        return fields


class ScopedInline(TabularInline):
    """Rows of a scoped screen: seen and changed with their parent; added and deleted by the
    district only."""

    def _parent(self) -> Any:
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent().has_view_permission(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent().has_change_permission(request, obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent().has_add_permission(request))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self._parent().has_delete_permission(request, obj))


class EventInline(ScopedInline):
    model = TopicEvent
    extra = 0
    readonly_fields = ("from_status", "to_status", "actor", "note", "at")
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CommentInline(ScopedInline):
    """A leader of the topic's place releases or holds its comments here."""

    model = Comment
    extra = 0
    readonly_fields = ("author", "body", "created_at")
    fields = ("author", "body", "held_for_review", "created_at")


@admin.register(Topic)
class TopicAdmin(PhotoAdminMixin, ScopedAdmin):
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
    district_fields = (
        "raised_by",
        "heard_by",
        "scope",
        "estate",
        "building",
        "unit",
        "merged_into",
    )

    def visible(self, actor: Actor) -> QuerySet[Any]:
        return access.topics_visible(actor)

    def leads(self, actor: Actor, obj: Any) -> bool:
        return access.leads_topic(actor, obj)

    def stored_photos(self, objs: Any) -> list[str | None]:
        """A deleted topic takes its photos (rows and files) with it."""
        topics = [topic.pk for topic in objs]
        return [p.image.name for p in TopicPhoto.objects.filter(topic_id__in=topics)]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="deliberation_report"), *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not request_actor(request).leads_anything:
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
    """The tenant's blocked words hold posts everywhere: the district's to keep."""

    list_display = ["word"]

    def _may(self, request: HttpRequest) -> bool:
        return not read_only(request) and request_actor(request).is_district

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_actor(request).is_district

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_actor(request).is_district

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)


class AgendaInline(ScopedInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ["topic"]
    # a decision without quorum is the convener's, through the service: shown, never set here
    readonly_fields = ["voting_open", "decided", "decided_without_quorum", "without_quorum_reason"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # the agenda moves topics on: it is set when the meeting is scheduled (access checked)
        return bool(self._parent().has_add_permission(request))


@admin.register(Meeting)
class MeetingAdmin(ScopedAdmin):
    list_display = ["title", "estate", "starts_at", "status", "invited_households"]
    list_filter = ["status", "estate"]
    raw_id_fields = ["estate", "building", "convener"]
    readonly_fields = ["invited_households"]
    inlines = [AgendaInline]
    district_fields = ("estate", "building", "convener")

    def visible(self, actor: Actor) -> QuerySet[Any]:
        return access.meetings_visible(actor)

    def leads(self, actor: Actor, obj: Any) -> bool:
        return access.leads_meeting(actor, estate_id=obj.estate_id, building_id=obj.building_id)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.record_view)
        return [
            path("<int:meeting_id>/record/", view, name="deliberation_meeting_record"),
            *super().get_urls(),
        ]

    def record_view(self, request: HttpRequest, meeting_id: int) -> HttpResponse:
        """The print-ready meeting record: agenda, attendance, decisions, votes, minutes."""
        actor = request_actor(request)
        try:
            found = access.access_meeting(actor=actor, meeting_id=meeting_id)
            access.may_run_meeting(actor, found)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except access.NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        meeting = Meeting.objects.select_related("estate", "building", "convener").get(pk=found.pk)
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
class ActionItemAdmin(ScopedAdmin):
    list_display = ["title", "due_on", "status", "owner_organisation"]
    list_filter = ["status"]
    raw_id_fields = ["item", "owner_organisation", "owner_resident"]
    district_fields = ("item",)

    def visible(self, actor: Actor) -> QuerySet[Any]:
        return access.action_items_visible(actor)

    def leads(self, actor: Actor, obj: Any) -> bool:
        meeting = obj.item.meeting
        return access.leads_meeting(
            actor, estate_id=meeting.estate_id, building_id=meeting.building_id
        )


@admin.register(Contact)
class ContactAdmin(ScopedAdmin):
    list_display = ["household", "kind", "on", "leader"]
    list_filter = ["kind"]
    date_hierarchy = "on"
    raw_id_fields = ["leader", "household", "topic"]
    district_fields = ("leader", "household")

    def visible(self, actor: Actor) -> QuerySet[Any]:
        return access.contacts_visible(actor)

    def leads(self, actor: Actor, obj: Any) -> bool:
        return actor.leads_household(obj.household_id)
