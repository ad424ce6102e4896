"""Notices in the tenant admin: templates, preferences, the send log, announcements."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from linli.admin_base import ModelAdmin, TabularInline
from tenants.notices.models import (
    Announcement,
    ChannelPreference,
    Message,
    NoticeTemplate,
    SurveyQuestion,
)
from tenants.notices.services import announcement_counts


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(ModelAdmin):
    list_display = ["kind", "language", "subject"]
    list_filter = ["language"]
    search_fields = ["kind", "subject"]


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(ModelAdmin):
    list_display = ["resident", "channels", "quiet_start", "quiet_end"]
    raw_id_fields = ["resident"]


@admin.register(Message)
class MessageAdmin(ModelAdmin):
    list_display = ["id", "kind", "resident", "status", "channel", "sent_at", "read_at"]
    list_filter = ["status", "channel", "kind"]
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class QuestionInline(TabularInline):
    model = SurveyQuestion
    extra = 0
    readonly_fields = ["position", "text", "choices"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Announcement)
class AnnouncementAdmin(ModelAdmin):
    list_display = ["title", "target", "recipients", "counts", "sent_at"]
    readonly_fields = [f.name for f in Announcement._meta.fields]
    inlines = [QuestionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sent through the API, which picks the recipients

    @admin.display(description="sent / read")
    def counts(self, a: Announcement) -> str:
        c = announcement_counts(announcement=a)
        return f"{c['sent']} / {c['read']}"
