"""Billing state in the public schema: each tenant's mirror of its Stripe customer and
subscription, the Stripe events received, and the usage reported per period."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BillingAccount(models.Model):
    """One tenant's billing: Stripe's view of it, mirrored (Stripe is the truth)."""

    class Status(models.TextChoices):
        # Stripe's subscription statuses, plus "pending" before Stripe has been reached.
        PENDING = "pending", _("Not yet in Stripe")
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        UNPAID = "unpaid", _("Unpaid")
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        PAUSED = "paused", _("Paused")
        CANCELED = "canceled", _("Cancelled")

    # The record outlives the tenant: deleting (or purging) a tenant detaches its account
    # (``tenant`` empty, ``tenant_slug`` and ``tenant_gone_at`` kept), so Stripe's late events
    # about its customer and subscription are still matched, applied and logged.
    tenant = models.OneToOneField(
        "registry.Tenant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="billing",
        verbose_name=_("tenant"),
    )
    tenant_slug = models.CharField(_("tenant slug"), max_length=40, blank=True, db_index=True)
    tenant_gone_at = models.DateTimeField(_("tenant deleted at"), null=True, blank=True)
    customer_id = models.CharField(_("Stripe customer"), max_length=64, blank=True, db_index=True)
    subscription_id = models.CharField(
        _("Stripe subscription"), max_length=64, blank=True, db_index=True
    )
    status = models.CharField(
        _("billing status"), max_length=24, choices=Status.choices, default=Status.PENDING
    )
    trial_end = models.DateTimeField(_("trial ends"), null=True, blank=True)
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    # When a past-due tenant is suspended unless it pays first.
    grace_until = models.DateTimeField(_("grace period ends"), null=True, blank=True)
    # True while the tenant is suspended because of billing (ops suspensions are not lifted
    # by a payment).
    suspended_for_billing = models.BooleanField(default=False)
    has_payment_method = models.BooleanField(_("payment method on file"), default=False)
    # module -> Stripe subscription item id ("base" and "residents" included)
    items = models.JSONField(default=dict, blank=True)
    # The last item sync's failure (empty once one succeeds): the plan and the subscription
    # may differ until then, and the pages say so.
    sync_error = models.TextField(_("last item sync error"), blank=True)
    sync_failed_at = models.DateTimeField(_("item sync failed at"), null=True, blank=True)
    # Monthly amount in the smallest currency unit (fen/cents) of the subscription's
    # licensed items, as Stripe last returned them.
    monthly_amount = models.BigIntegerField(_("monthly amount"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="cny")
    # Stripe's timestamp of the newest subscription state applied; older ones are ignored.
    state_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("billing account")
        verbose_name_plural = _("billing accounts")
        ordering = ["tenant_slug", "id"]

    def __str__(self) -> str:
        return f"{self.tenant_slug or self.tenant_id} {self.status}"


class StripeEvent(models.Model):
    """A webhook event as received, stored once by its id and processed by a job."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=80, db_index=True)
    created = models.DateTimeField(_("created in Stripe"))
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class UsageReport(models.Model):
    """Active residents reported to Stripe for one tenant and period: at most once."""

    # Kept (without its tenant) when the tenant is deleted: what was billed stays known.
    tenant = models.ForeignKey(
        "registry.Tenant", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    period = models.DateField(_("period (first day of the month)"))
    quantity = models.PositiveIntegerField(_("active residents"))
    identifier = models.CharField(max_length=100, unique=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("usage report")
        verbose_name_plural = _("usage reports")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period"], name="billing_usage_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.period} {self.quantity}"
