"""Sign-in security for both admin sites: failed attempts and two-factor devices.

The app is installed in the public schema (platform staff) and in every tenant
schema (that tenant's staff), so each set of users has its own rows and one
tenant's failures can never lock another tenant's user of the same name.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli import clock


class LoginAttempt(models.Model):
    """One sign-in step being tried or that failed.

    A row is written before the password or code is checked and removed when the
    check passes, so a surviving row is a failure. Writing first means concurrent
    attempts in several web processes see each other: at most the allowed number
    gets through, however many arrive at once.
    """

    class Step(models.TextChoices):
        PASSWORD = "password", _("Password")
        CODE = "code", _("Two-factor code")
        RESET = "reset", _("Password reset request")

    # The username as typed, case-folded: counted even when no such user exists.
    username = models.CharField(_("username"), max_length=150)
    ip = models.GenericIPAddressField(_("network address"), null=True, blank=True)
    step = models.CharField(_("step"), max_length=16, choices=Step.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["ip", "at"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        return f"{clock.stamp(self.at)} {self.username} {self.ip or '-'} {self.step}"


class TwoFactorDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238). Not in use until ``confirmed_at`` is set."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor_device"
    )
    # The base32 secret, encrypted with a key derived from SECRET_KEY (see ``crypto``).
    secret_encrypted = models.TextField(_("secret (encrypted)"))
    confirmed_at = models.DateTimeField(_("turned on"), null=True, blank=True)
    # The last time step whose code was accepted: a code is good once.
    last_step = models.BigIntegerField(_("last time step used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return f"two-factor device of user {self.user_id}"


class RecoveryCode(models.Model):
    """A one-time code for when the authenticator is lost; only its keyed hash is kept."""

    device = models.ForeignKey(
        TwoFactorDevice, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="security_code_once")
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of device {self.device_id}"
