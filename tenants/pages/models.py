"""Residents' sign-in on their own phones: one-time codes and long-lived, revocable sessions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from linli import clock
from tenants.community.models import Resident


class SignInCode(models.Model):
    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")

    def __str__(self) -> str:
        return f"{self.phone} {clock.stamp(self.created_at)}"


class ResidentSession(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    user_agent = models.CharField(_("device"), max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("resident session")
        verbose_name_plural = _("resident sessions")

    def __str__(self) -> str:
        return f"{self.resident_id} {clock.day_of(self.created_at)}"


class HouseholdPass(models.Model):
    """A printed sign-in QR code a leader hands a household (for residents who do not
    receive codes by phone): whoever scans it chooses which of the household they are."""

    household = models.ForeignKey(
        "community.Household", on_delete=models.CASCADE, related_name="sign_in_passes"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("printed at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("valid until"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    uses = models.PositiveIntegerField(_("uses"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("household sign-in pass")
        verbose_name_plural = _("household sign-in passes")

    def __str__(self) -> str:
        return f"{self.household_id} {clock.day_of(self.created_at)}"


class WeChatBinding(models.Model):
    """A WeChat user of the official account, tied to the resident who proved their phone
    once in WeChat's browser: later visits there sign in with one tap. The openid is kept
    only as a keyed digest (it is never shown, logged or sent anywhere)."""

    openid_digest = models.CharField(max_length=64, unique=True)
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="wechat_bindings")
    created_at = models.DateTimeField(_("bound at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("WeChat sign-in")
        verbose_name_plural = _("WeChat sign-ins")

    def __str__(self) -> str:
        return f"{self.resident_id} {clock.day_of(self.created_at)}"
