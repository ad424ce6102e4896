"""Telling residents things: their channels and quiet hours, the tenant's templates, every
message sent (the log), and leaders' targeted notices with an optional short survey."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.community.models import Resident


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")


class ChannelPreference(models.Model):
    """How a resident wants to be told, in order of preference, and when not to be."""

    resident = models.OneToOneField(
        Resident, on_delete=models.CASCADE, related_name="channel_preference"
    )
    channels = ArrayField(
        models.CharField(max_length=8, choices=Channel.choices),
        default=list,
        verbose_name=_("channels, preferred first"),
    )
    email = models.EmailField(_("email"), blank=True)
    wechat_openid = models.CharField(_("WeChat openid"), max_length=64, blank=True)
    quiet_start = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel preference")
        verbose_name_plural = _("channel preferences")
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="notices_quiet_hours_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}: {','.join(self.channels)}"


class NoticeTemplate(models.Model):
    """The tenant's wording of a kind of notice, per language; ``{name}`` takes the
    notice's data. WeChat subscription messages name the template registered with WeChat."""

    kind = models.CharField(_("kind"), max_length=64, help_text=_("e.g. shop.order.ready"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), max_length=1000)
    sms_template_id = models.CharField(_("SMS template id"), max_length=32, blank=True)
    wechat_template_id = models.CharField(_("WeChat template id"), max_length=64, blank=True)

    class Meta:
        ordering = ["kind", "language"]
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        constraints = [
            models.UniqueConstraint(fields=["kind", "language"], name="notices_template_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.language or '*'}]"


class Announcement(models.Model):
    """A leader's notice to an area, estate, building or residents with a tag."""

    class Target(models.TextChoices):
        AREA = "area", _("Area")
        ESTATE = "estate", _("Estate")
        BUILDING = "building", _("Building")
        TAG = "tag", _("Residents with a tag")

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"), max_length=2000)
    target = models.CharField(_("sent to"), max_length=8, choices=Target.choices)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_tag = models.CharField(max_length=64, blank=True)
    sent_by = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self) -> str:
        return self.title


class SurveyQuestion(models.Model):
    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField()
    text = models.CharField(_("question"), max_length=200)
    choices = ArrayField(models.CharField(max_length=60), verbose_name=_("choices"))

    class Meta:
        ordering = ["announcement_id", "position"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")

    def __str__(self) -> str:
        return self.text


class SurveyAnswer(models.Model):
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="answers")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    choice = models.PositiveSmallIntegerField()
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        constraints = [
            models.UniqueConstraint(fields=["question", "resident"], name="notices_answer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.choice}"


class Message(models.Model):
    """One notice to one resident, and what became of it: the send log."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNREACHABLE = "unreachable", _("No channel to reach them")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=64)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), max_length=2000)
    data = models.JSONField(default=dict)
    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, blank=True)
    template = models.ForeignKey(
        NoticeTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    send_after = models.DateTimeField(_("send after"))
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(_("error"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(
                fields=["send_after"], condition=Q(status="pending"), name="notices_message_due"
            ),
            models.Index(fields=["resident", "id"], name="notices_message_resident"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.resident_id}"
