"""Operations state in the public schema: schema rollouts (and per-tenant usage)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RolloutRun(models.Model):
    """One run of the tenant schema rollout: what it had to do and how far it got."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Finished with failures")

    state_key = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    behind = models.PositiveIntegerField(_("schemas behind"), default=0)
    done = models.PositiveIntegerField(_("schemas migrated"), default=0)
    # [{"schema": ..., "error": ...}] for the schemas left at their previous state
    failures = models.JSONField(default=list, blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("schema rollout")
        verbose_name_plural = _("schema rollouts")

    def __str__(self) -> str:
        return f"{self.state_key[:12]} {self.status}"


class TenantUsage(models.Model):
    """What one tenant did on one day (UTC) in one module, counted in the web processes'
    memory and added here in batches (``linli.ops.usage``); the row of module ``""`` holds
    the day's snapshot of active residents (``linli.ops.tasks``)."""

    TENANT_WIDE = ""

    tenant = models.ForeignKey(
        "registry.Tenant", on_delete=models.CASCADE, related_name="+", verbose_name=_("tenant")
    )
    day = models.DateField(_("day"))
    module = models.CharField(_("module"), max_length=32, blank=True)
    requests = models.PositiveBigIntegerField(_("requests"), default=0)
    client_errors = models.PositiveBigIntegerField(_("client errors (4xx)"), default=0)
    server_errors = models.PositiveBigIntegerField(_("server errors (5xx)"), default=0)
    # Requests that may change something (anything but GET, HEAD and OPTIONS).
    writes = models.PositiveBigIntegerField(_("writes"), default=0)
    residents = models.PositiveIntegerField(_("active residents"), null=True, blank=True)
    last_at = models.DateTimeField(_("last request at"), null=True, blank=True)

    class Meta:
        db_table = "ops_usage"
        verbose_name = _("tenant usage")
        verbose_name_plural = _("tenant usage")
        ordering = ["-day", "tenant_id", "module"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day", "module"], name="ops_usage_once"),
        ]
        indexes = [models.Index(fields=["day"], name="ops_usage_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.module or '*'}"
