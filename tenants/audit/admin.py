from django.contrib import admin
from django.http import HttpRequest

from linli.admin_base import ModelAdmin
from tenants.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ModelAdmin):
    list_display = [
        "at",
        "action",
        "object_type",
        "object_id",
        "actor_user_id",
        "actor_key_id",
        "acting_resident_id",
    ]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "request_id", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
