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
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
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


class Meeting(models.Model):
    """A neighbourhood council meeting (鄰里議事會) for an estate or a building."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=200)
    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="meetings")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, null=True, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    convener = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    minutes = models.TextField(_("minutes"), blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    invited_households = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("council meeting")
        verbose_name_plural = _("council meetings")

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    household_id = models.BigIntegerField(null=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "resident"], name="deliberation_attend_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} at {self.meeting_id}"


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="agenda_items")
    position = models.PositiveSmallIntegerField()
    outcome = models.TextField(_("decision"), blank=True)
    voting_open = models.BooleanField(default=False)
    decided = models.BooleanField(default=False)
    # A decision takes the meeting's quorum, or the convener's explicit word that it was
    # decided without one, and why: the record shows which.
    decided_without_quorum = models.BooleanField(
        _("decided without quorum"), default=False, editable=False
    )
    without_quorum_reason = models.CharField(
        _("why it was decided without quorum"), max_length=500, blank=True, editable=False
    )

    class Meta:
        ordering = ["meeting_id", "position"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "topic"], name="deliberation_topic_once"),
            models.CheckConstraint(
                condition=Q(decided_without_quorum=False, without_quorum_reason="")
                | Q(decided_without_quorum=True, decided=True) & ~Q(without_quorum_reason=""),
                name="deliberation_without_quorum_is_a_decision_with_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}#{self.position}"


class Vote(models.Model):
    """One vote per household or per attendee, as the tenant configures: ``voter`` is
    ``h:<household>`` or ``r:<resident>``, unique per agenda item, so of two members of one
    household voting at the same moment exactly one counts."""

    class Choice(models.TextChoices):
        FOR = "for", _("For")
        AGAINST = "against", _("Against")
        ABSTAIN = "abstain", _("Abstain")

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="votes")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    voter = models.CharField(max_length=32)
    choice = models.CharField(max_length=8, choices=Choice.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "voter"], name="deliberation_one_vote"),
        ]

    def __str__(self) -> str:
        return f"{self.voter}: {self.choice}"


class ActionItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="actions")
    title = models.CharField(_("title"), max_length=200)
    owner_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    owner_resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField(_("due on"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    progress = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


class Contact(models.Model):
    """A leader's contact with a household: daily greeting, weekly meeting, monthly visit."""

    class Kind(models.TextChoices):
        GREETING = "greeting", _("Greeting")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Home visit")

    leader = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        "community.Household", on_delete=models.PROTECT, related_name="contacts"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    on = models.DateField(_("date"), db_index=True)
    notes = models.TextField(blank=True, max_length=2000)
    concerns = models.TextField(_("concerns heard"), blank=True, max_length=2000)
    topic = models.ForeignKey(
        Topic, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-on", "-id"]
        indexes = [models.Index(fields=["household", "kind", "on"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.household_id} {self.on}"


class TopicPhoto(models.Model):
    class Kind(models.TextChoices):
        PROBLEM = "problem", _("The problem")
        BEFORE = "before", _("Before")
        AFTER = "after", _("After")

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="photos")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    image = models.FileField(upload_to="deliberation/photos/")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.kind}"


class TopicRating(models.Model):
    """A resident's rating of a resolved topic's outcome (the raiser's is the follow-up)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="ratings")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    stars = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "resident"], name="deliberation_rate_once"),
            models.CheckConstraint(
                condition=Q(stars__range=(1, 5)), name="deliberation_stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id}: {self.stars}"


class PostReport(models.Model):
    """A resident's report of a topic or comment; enough reports hold the post for review."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="reports")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=255)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "comment", "resident"],
                name="deliberation_report_once",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"report on {self.topic_id}/{self.comment_id}"
