from django.contrib import admin

from tenants.deliberation.models import BlockedWord, Comment, Topic, TopicEvent


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
