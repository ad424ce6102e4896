"""Residents' topics for the neighbourhood council: raised, supported, discussed, decided."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.community.models import Building, Estate, Organisation, Resident, Unit


class Topic(models.Model):
    class Status(models.TextChoices):
        RAISED = "raised", _("Raised")
        ACCEPTED = "accepted", _("Accepted")
        MERGED = "merged", _("Merged")
        REJECTED = "rejected", _("Rejected")
        ON_AGENDA = "on_agenda", _("On the agenda")
        DECIDED = "decided", _("Decided")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    class Scope(models.TextChoices):
        ESTATE = "estate", _("Estate")
        BUILDING = "building", _("Building")
        UNIT = "unit", _("Unit")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    category = models.CharField(_("category"), max_length=64)
    raised_by = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="topics")
    heard_by = models.ForeignKey(
        Resident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The leader who heard it on a visit and raised it for the resident."),
    )
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="topics")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RAISED, db_index=True
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_topics"
    )
    rejection_reason = models.CharField(max_length=255, blank=True)
    assigned_to = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="topics"
    )
    due_on = models.DateField(_("due on"), null=True, blank=True)
    held_for_review = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="estate", building__isnull=True, unit__isnull=True)
                | Q(scope="building", building__isnull=False, unit__isnull=True)
                | Q(scope="unit", building__isnull=False, unit__isnull=False),
                name="deliberation_topic_scope_matches_place",
            ),
            models.CheckConstraint(
                condition=~Q(status="merged") | Q(merged_into__isnull=False),
                name="deliberation_merged_names_target",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TopicEvent(models.Model):
    """One step of a topic's timeline: who moved it from what to what, and when."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic_id}: {self.from_status} → {self.to_status}"


class Support(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="supports")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "resident"], name="deliberation_support_once"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} supports {self.topic_id}"


class Comment(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(max_length=2000)
    held_for_review = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.topic_id}"


class BlockedWord(models.Model):
    """A tenant-editable word that holds a post for a leader's review."""

    word = models.CharField(_("word"), max_length=64, unique=True)

    class Meta:
        ordering = ["word"]
        verbose_name = _("blocked word")
        verbose_name_plural = _("blocked words")

    def __str__(self) -> str:
        return self.word
