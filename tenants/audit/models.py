"""The tenant's append-only audit log, written by every module through ``audit.services``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli import clock


class AuditEntry(models.Model):
    """Who did what to which object, and what changed. Never updated, never deleted.

    Actors are stored as plain ids (not foreign keys) so an entry outlives
    the user, key or resident it names, and erasing a resident keeps history.
    """

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor_user_id = models.BigIntegerField(_("user"), null=True, blank=True)
    actor_key_id = models.BigIntegerField(_("API key"), null=True, blank=True)
    acting_resident_id = models.BigIntegerField(_("acting for resident"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{clock.stamp(self.at)} {self.action} {self.object_type}:{self.object_id}"
