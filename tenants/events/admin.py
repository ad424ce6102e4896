"""Webhook endpoints in the tenant admin: add, pause, read the delivery log, send again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.admin_base import ModelAdmin, TabularInline
from linli.errors import LinliError
from tenants.events import services
from tenants.events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "modules", "personal_data", "active"]

    def clean_url(self) -> str:
        from tenants.events.http import check_url

        url: str = self.cleaned_data["url"]
        try:
            check_url(url)
        except LinliError as exc:
            raise forms.ValidationError(exc.message) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModelAdmin):
    form = EndpointForm
    list_display = ["url", "active", "consecutive_failures", "disabled_at", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["secret", "consecutive_failures", "disabled_at", "disabled_reason"]


class AttemptInline(TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status_code", "duration_ms", "error"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ModelAdmin):
    list_display = ["id", "endpoint", "event", "status", "attempts", "last_status_code"]
    list_filter = ["status", "endpoint"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=gettext_lazy("Send again now"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            services.delivery_redeliver(delivery_id=delivery.pk)
        messages.success(request, _("%(count)s deliveries queued.") % {"count": queryset.count()})


@admin.register(Event)
class EventAdmin(ModelAdmin):
    list_display = ["id", "type", "object_id", "occurred_at"]
    list_filter = ["type", "module"]
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
