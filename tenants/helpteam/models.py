"""Help teams, squads and volunteers; residents' help requests; organised activities."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tenants.community.models import Estate, Household, Organisation, Resident


class Skill(models.Model):
    """A tenant-editable skill (child pick-up, plumbing, elderly company...)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name


class HelpTeam(models.Model):
    """The estate's neighbourhood help team (鄰里幫幫團)."""

    estate = models.OneToOneField(Estate, on_delete=models.PROTECT, related_name="help_team")
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["name"]
        verbose_name = _("help team")
        verbose_name_plural = _("help teams")

    def __str__(self) -> str:
        return self.name


class Squad(models.Model):
    """A volunteer service team, perhaps run by a partner organisation, serving estates."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="squads"
    )
    estates = models.ManyToManyField(Estate, blank=True, related_name="squads")

    class Meta:
        ordering = ["name"]
        verbose_name = _("squad")
        verbose_name_plural = _("squads")

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    """A resident who volunteers: skills, weekly availability, active or paused."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    resident = models.OneToOneField(Resident, on_delete=models.PROTECT, related_name="volunteer")
    skills = models.ManyToManyField(Skill, blank=True, related_name="volunteers")
    # {"mon": [[9, 12], [14, 18]], ...}: hours of the day, in the tenant's time zone
    availability = models.JSONField(_("weekly availability"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")

    def __str__(self) -> str:
        return str(self.resident)


class Membership(models.Model):
    class Role(models.TextChoices):
        CAPTAIN = "captain", _("Captain")
        MEMBER = "member", _("Member")

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(
        HelpTeam, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    squad = models.ForeignKey(
        Squad, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, squad__isnull=True)
                | Q(team__isnull=True, squad__isnull=False),
                name="helpteam_membership_one_group",
            ),
            models.UniqueConstraint(fields=["volunteer", "team"], name="helpteam_team_member"),
            models.UniqueConstraint(fields=["volunteer", "squad"], name="helpteam_squad_member"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} ({self.role})"


def _token() -> str:
    import secrets

    return secrets.token_urlsafe(16)


class Space(models.Model):
    """A bookable service space, e.g. the elderly-care room (樂鄰坊), the children's room."""

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="spaces")
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["estate_id", "name"]
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        constraints = [
            models.UniqueConstraint(fields=["estate", "name"], name="helpteam_space_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.estate} {self.name}"


class HelpRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("Claimed")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class Urgency(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")

    requester = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="help_requests")
    raised_by = models.ForeignKey(
        Resident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="help_requests_raised_for_others",
        help_text=_("A leader or central household who raised it for the requester."),
    )
    category = models.CharField(_("category"), max_length=64)
    description = models.TextField(_("description"), max_length=2000)
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="help_requests"
    )
    place = models.CharField(_("place"), max_length=255, blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    claimed_by = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, null=True, blank=True, related_name="claims"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Help is done no earlier than its window opens; a leader of the place who records it
    # done before then says why, and the request keeps it (empty: not recorded early).
    done_early_reason = models.CharField(
        _("recorded done early because"), max_length=255, blank=True
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # When the best volunteers were told of the request (by a job, right after it was
    # asked): told once, however often the job runs.
    suggested_at = models.DateTimeField(null=True, blank=True, editable=False)
    hours = models.DecimalField(
        _("hours given"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    points_transaction_id = models.BigIntegerField(null=True, blank=True)
    closed_reason = models.CharField(max_length=255, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    feedback = models.TextField(_("feedback"), blank=True, max_length=2000)
    # proof of service: the volunteer scans the request's code on arrival and when leaving
    qr_token = models.CharField(max_length=32, default=_token, unique=True, editable=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    evidence = models.FileField(_("photo evidence"), upload_to="helpteam/evidence/", blank=True)
    # confirmation without an answer, and the requester's dispute of it
    auto_confirmed = models.BooleanField(default=False)
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.CharField(max_length=255, blank=True)
    dispute_upheld = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("help request")
        verbose_name_plural = _("help requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="helpteam_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(status="open", claimed_by__isnull=True) | ~Q(status__in=["open"]),
                name="helpteam_open_is_unclaimed",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["claimed", "in_progress", "done", "confirmed"])
                | Q(claimed_by__isnull=False),
                name="helpteam_claimed_has_volunteer",
            ),
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(hours__gt=0, hours__lte=24),
                name="helpteam_hours_in_a_day",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__range=(1, 5)),
                name="helpteam_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category}"


class Activity(models.Model):
    """An organised event ("small things, we help" days, sessions in the service rooms)."""

    title = models.CharField(_("title"), max_length=200)
    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="activities")
    space = models.ForeignKey(
        Space, on_delete=models.PROTECT, null=True, blank=True, related_name="activities"
    )
    qr_token = models.CharField(max_length=32, default=_token, unique=True, editable=False)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity"))
    points_category = models.CharField(
        _("points rule"),
        max_length=64,
        blank=True,
        help_text=_("Earning rule for attendance; empty: none"),
    )
    cancelled = models.BooleanField(_("cancelled"), default=False)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="helpteam_activity_ordered"
            ),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="helpteam_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class Signup(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        WAITLISTED = "waitlisted", _("Waitlisted")
        CANCELLED = "cancelled", _("Cancelled")

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="signups")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    attended = models.BooleanField(_("attended"), default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    points_transaction_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        constraints = [
            models.UniqueConstraint(fields=["activity", "resident"], name="helpteam_signup_once"),
        ]

    def __str__(self) -> str:
        return f"{self.resident} @ {self.activity} ({self.status})"
