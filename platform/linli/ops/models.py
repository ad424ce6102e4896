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
