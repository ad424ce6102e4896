from django.contrib import admin

from tenants.deliberation.models import (
    ActionItem,
    AgendaItem,
    BlockedWord,
    Comment,
    Contact,
    Meeting,
    Topic,
    TopicEvent,
)


class EventInline(admin.TabularInline):
    model = TopicEvent
    extra = 0
    readonly_fields = ("from_status", "to_status", "actor", "note", "at")
    can_delete = False


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    readonly_fields = ("author", "body", "created_at")
    fields = ("author", "body", "held_for_review", "created_at")


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
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


@admin.register(BlockedWord)
class BlockedWordAdmin(admin.ModelAdmin):
    list_display = ["word"]


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ["topic"]
    readonly_fields = ["voting_open", "decided"]


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["title", "estate", "starts_at", "status", "invited_households"]
    list_filter = ["status", "estate"]
    raw_id_fields = ["estate", "building", "convener"]
    readonly_fields = ["invited_households"]
    inlines = [AgendaInline]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "due_on", "status", "owner_organisation"]
    list_filter = ["status"]
    raw_id_fields = ["item", "owner_organisation", "owner_resident"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["household", "kind", "on", "leader"]
    list_filter = ["kind"]
    date_hierarchy = "on"
    raw_id_fields = ["leader", "household", "topic"]
