"""Billing records in the platform admin, read-only: Stripe is the truth, these mirror it."""

from __future__ import annotations

from django.contrib import admin

from linli.admin_base import ReadOnlyModelAdmin as ReadOnly
from linli.admin_sites import platform_site
from linli.billing.models import BillingAccount, StripeEvent, UsageReport


@admin.register(BillingAccount, site=platform_site)
class BillingAccountAdmin(ReadOnly):
    list_display = ["tenant", "status", "monthly_amount", "trial_end", "grace_until", "updated_at"]
    list_filter = ["status", "has_payment_method", "suspended_for_billing"]
    search_fields = ["tenant__schema_name", "customer_id", "subscription_id"]


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
