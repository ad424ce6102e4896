"""Billing records in the platform admin, read-only: Stripe is the truth, these mirror it.
With billing off (self-hosted) they are not listed at all."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from linli.admin_base import ReadOnlyModelAdmin
from linli.admin_sites import platform_site
from linli.billing.client import billing_enabled
from linli.billing.models import BillingAccount, StripeEvent, UsageReport


class ReadOnly(ReadOnlyModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return billing_enabled() and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return billing_enabled() and super().has_view_permission(request, obj)


@admin.register(BillingAccount, site=platform_site)
class BillingAccountAdmin(ReadOnly):
    list_display = [
        "tenant_slug",
        "tenant",
        "status",
        "monthly_amount",
        "trial_end",
        "grace_until",
        "sync_failed_at",
        "updated_at",
    ]
    list_filter = ["status", "has_payment_method", "suspended_for_billing"]
    search_fields = ["tenant_slug", "tenant__schema_name", "customer_id", "subscription_id"]


@admin.register(StripeEvent, site=platform_site)
class StripeEventAdmin(ReadOnly):
    list_display = ["event_id", "type", "created", "processed_at", "attempts", "last_error"]
    list_filter = ["type"]
    search_fields = ["event_id"]
    date_hierarchy = "created"


@admin.register(UsageReport, site=platform_site)
class UsageReportAdmin(ReadOnly):
    list_display = ["tenant", "period", "quantity", "reported_at"]
    list_filter = ["period"]
