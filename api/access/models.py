"""API keys, stored idempotent responses and rate-limit counters (tenant schema)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli import clock


class ApiKey(models.Model):
    """An integrator's key. Only ``prefix`` and a SHA-256 of the secret are stored.

    Keys carry 256 random bits, so a fast hash is safe (no slow password hash on
    the hot path); the secret is compared in constant time.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=40), verbose_name=_("scopes"), default=list)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    rate_limit = models.PositiveIntegerField(
        _("requests per minute"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the tenant's default."),
    )
    created_by_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed for 24 hours."""

    owner = models.CharField(max_length=16)  # the API key's prefix ("" when anonymous)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="api_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"


class RateCounter(models.Model):
    """Requests one key made in one minute window; shared by every web process."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE)
    window = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="api_ratecounter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key_id}@{clock.hhmm(self.window)}: {self.hits}"
