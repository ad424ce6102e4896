"""Districts signing up (public schema): what they asked for until the email is verified."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Signup(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the email to be verified")
        VERIFIED = "verified", _("Verified; tenant provisioned")

    district_name = models.CharField(_("district name"), max_length=120)
    slug = models.CharField(_("subdomain"), max_length=40)
    region = models.CharField(_("region"), max_length=120, blank=True)
    locale = models.CharField(_("language"), max_length=10)
    time_zone = models.CharField(_("time zone"), max_length=64)
    admin_name = models.CharField(_("admin name"), max_length=120)
    email = models.EmailField(_("email"))
    password_hash = models.CharField(max_length=255)
    modules = ArrayField(models.CharField(max_length=32), default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    login_token_hash = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    tenant = models.ForeignKey(
        "registry.Tenant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("signup")
        verbose_name_plural = _("signups")
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=Q(status="pending"), name="accounts_signup_slug_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.status})"
