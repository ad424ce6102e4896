"""The public-schema registry of tenants (cities and districts) and their hosts."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from linli import clock


class Tenant(TenantMixin):
    """A city or district. ``schema_name`` is its slug: schema name and subdomain."""

    class Status(models.TextChoices):
        TRIAL = "trial", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    # Schemas are built by linli.registry.provisioning, never by migrating on save().
    auto_create_schema = False
    auto_drop_schema = False

    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region"), max_length=200, blank=True)
    locale = models.CharField(_("language"), max_length=10, default="zh-hans")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.TRIAL
    )
    status_changed_at = models.DateTimeField(_("status changed at"), auto_now_add=True)
    # The serving status a suspension or closure interrupted: a resume returns to it (a
    # trial stays a trial), unless billing says otherwise.
    resumes_as = models.CharField(
        _("resumes as"), max_length=16, choices=Status.choices, blank=True, default=""
    )
    # Set when the tenant is closed: its schema and files are deleted after this time.
    purge_after = models.DateTimeField(_("delete data after"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["schema_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(schema_name__regex=r"^[a-z][a-z0-9_]{1,39}$"),
                name="registry_tenant_schema_name_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.schema_name

    @property
    def slug(self) -> str:
        return self.schema_name

    api_rate_limit = models.PositiveIntegerField(
        _("API requests per minute per key"),
        default=600,
        help_text=_("Default limit for this tenant's API keys; a key may set its own."),
    )

    @property
    def enabled_modules(self) -> frozenset[str]:
        """Modules this tenant runs (community always). Loaded with the tenant when routed."""
        cached = getattr(self, "_enabled_modules", None)
        if cached is None:
            names = self.module_settings.filter(enabled=True).values_list("module", flat=True)
            cached = ALWAYS_ON | frozenset(names)
            self._enabled_modules = cached
        return cached

    @property
    def is_serving(self) -> bool:
        """Suspended and closed tenants answer 403; every other status serves."""
        return self.status not in {self.Status.SUSPENDED, self.Status.CLOSED}


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class SchemaBlueprint(models.Model):
    """The SQL that builds a tenant schema at one migration state, recorded once.

    ``state_key`` names the set of migrations the blueprint was recorded at;
    ``fingerprint`` describes the resulting schema so every new schema can be
    checked against it.
    """

    state_key = models.CharField(max_length=64, unique=True)
    script = models.TextField()
    migrations = models.JSONField()
    fingerprint = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("schema blueprint")
        verbose_name_plural = _("schema blueprints")

    def __str__(self) -> str:
        return self.state_key[:12]


class Module(models.TextChoices):
    COMMUNITY = "community", _("Community")
    DELIBERATION = "deliberation", _("Deliberation")
    HELPTEAM = "helpteam", _("Help team")
    SHOP = "shop", _("Shop")
    POINTS = "points", _("Points")


ALWAYS_ON = frozenset({Module.COMMUNITY.value})


class ModuleSetting(models.Model):
    """Whether a tenant runs a module, and its settings (validated by the module's model)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="module_settings")
    module = models.CharField(_("module"), max_length=32, choices=Module.choices)
    enabled = models.BooleanField(_("enabled"), default=False)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("module setting")
        verbose_name_plural = _("module settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "module"], name="registry_module_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.module}"


class ModuleSettingVersion(models.Model):
    """Every change of a tenant's module: on or off, its settings, who and when. Rolling
    back applies an earlier version again (as a new version)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    module = models.CharField(_("module"), max_length=32, choices=Module.choices)
    enabled = models.BooleanField(_("enabled"))
    settings = models.JSONField(_("settings"), default=dict)
    changed_by = models.CharField(_("changed by"), max_length=150, blank=True)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("module setting version")
        verbose_name_plural = _("module setting versions")
        indexes = [
            models.Index(fields=["tenant", "module", "id"], name="registry_msv_tenant_module")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.module} @ {clock.stamp(self.changed_at)}"


class OpsAction(models.Model):
    """What platform staff did to a tenant (suspend, resume, close, export, restore): the audit."""

    tenant_slug = models.CharField(_("tenant"), max_length=40, db_index=True)
    action = models.CharField(_("action"), max_length=32)
    actor = models.CharField(_("by"), max_length=150)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("ops action")
        verbose_name_plural = _("ops actions")

    def __str__(self) -> str:
        return f"{self.action} {self.tenant_slug}"


class DomainClaim(models.Model):
    """A tenant's request to be served on a domain of its own, proven by a DNS TXT record.

    A pending claim only holds the token; once verified, the domain is also a ``Domain``
    row of the tenant (not primary), and that row is what routing reads. Two tenants may
    hold pending claims on one domain; the first to verify keeps it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domain_claims")
    domain = models.CharField(_("domain"), max_length=253)
    token = models.CharField(_("verification token"), max_length=64, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    checked_at = models.DateTimeField(_("last checked at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("domain claim")
        verbose_name_plural = _("domain claims")
        ordering = ["domain", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "domain"], name="registry_claim_unique"),
            # The first tenant to verify a domain keeps it; a second verified claim is refused.
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(status="verified"),
                name="registry_claim_verified_once",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "verified"]),
                name="registry_claim_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.domain} ({self.status})"

    @property
    def txt_name(self) -> str:
        """Where the tenant publishes the TXT record."""
        return f"_linli.{self.domain}"

    @property
    def txt_value(self) -> str:
        """What the TXT record must contain."""
        return f"linli-verification={self.token}"
