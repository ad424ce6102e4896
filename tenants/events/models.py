"""Domain events (a transactional outbox) and the webhooks that deliver them.

An event row is written in the same transaction as the change it describes,
together with one delivery row per webhook endpoint that wants it: an event and
its deliveries exist if and only if the change committed. ``txid`` is the writing
transaction's id; the feed shows an event only once every transaction that
started before it has ended, so a reader paging by id never skips one that
commits late.
"""

from __future__ import annotations

import base64
import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CurrentTransactionId(models.Func):
    """The id of the transaction writing the row (a 64-bit, epoch-extended xid)."""

    template = "(pg_current_xact_id()::text)::bigint"
    output_field = models.BigIntegerField()


class Event(models.Model):
    type = models.CharField(_("type"), max_length=64)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    module = models.CharField(_("module"), max_length=16)
    object_type = models.CharField(_("object type"), max_length=32)
    object_id = models.BigIntegerField(_("object id"))
    payload = models.JSONField(_("payload"))
    personal = models.JSONField(
        _("personal data"),
        default=dict,
        help_text=_("Fields shown only to keys allowed to see personal data."),
    )
    txid = models.BigIntegerField(editable=False, db_default=CurrentTransactionId())
    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["type", "id"], name="events_event_type_id"),
            models.Index(fields=["occurred_at"], name="events_event_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


def webhook_secret() -> str:
    """``whsec_`` and 24 random bytes in base64, as the Standard Webhooks scheme expects."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = ArrayField(
        models.CharField(max_length=64),
        default=list,
        blank=True,
        verbose_name=_("event types"),
        help_text=_("Empty: every event the endpoint may see."),
    )
    modules = ArrayField(
        models.CharField(max_length=16),
        default=list,
        verbose_name=_("modules"),
        help_text=_("The modules whose events it may receive (from the creating key's scopes)."),
    )
    personal_data = models.BooleanField(_("receives personal data"), default=False)
    secret = models.CharField(_("signing secret"), max_length=64, default=webhook_secret)
    active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # The first failed attempt since the last success: failing this long disables it.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("why disabled"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str, module: str) -> bool:
        return module in self.modules and (not self.event_types or event_type in self.event_types)


class Delivery(models.Model):
    """One event to one endpoint. Pending while it is to be sent: due at
    ``next_attempt_at`` and retried until ``retry_until``; held (``retry_until`` empty)
    while its endpoint is off, then sent when it is turned on again, or expired once the
    event is older than the hold window."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed (gave up)")
        EXPIRED = "expired", _("Expired (held while the endpoint was off)")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Copied from the event so per-object ordering is one indexed lookup.
    object_key = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), auto_now_add=True)
    retry_until = models.DateTimeField(_("retried until"), null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="events_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="events_delivery_due",
            ),
            models.Index(
                fields=["endpoint", "object_key", "event"],
                condition=Q(status="pending"),
                name="events_delivery_object_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.CharField(_("error"), max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
