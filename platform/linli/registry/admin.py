"""The ops side of the tenant registry on the platform host: list, search, suspend, resume,
close and export tenants. Every action is audited (``OpsAction``)."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.admin_base import ModelAdmin, ReadOnlyModelAdmin, TabularInline
from linli.admin_sites import platform_site
from linli.errors import LinliError
from linli.registry import archive, services
from linli.registry.models import Domain, DomainClaim, OpsAction, Tenant


class DomainInline(TabularInline):
    model = Domain
    extra = 0


def _each(request: HttpRequest, queryset: QuerySet[Tenant], change: Any, done: str) -> None:
    actor = request.user.get_username()
    for slug in queryset.values_list("schema_name", flat=True):
        try:
            change(slug=slug, actor=actor)
        except LinliError as exc:
            messages.error(request, f"{slug}: {exc.message}")
        else:
            messages.success(request, done % {"slug": slug})


@admin.action(
    description=gettext_lazy("Suspend (API refused, admin read-only)"), permissions=["change"]
)
def suspend(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
    _each(request, queryset, services.tenant_suspend, _("Suspended %(slug)s."))


@admin.action(description=gettext_lazy("Resume"), permissions=["change"])
def resume(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
    _each(request, queryset, services.tenant_resume, _("Resumed %(slug)s."))


@admin.action(
    description=gettext_lazy("Close (data deleted after the retention period)"),
    permissions=["change"],
)
def close(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
    _each(request, queryset, services.tenant_close, _("Closed %(slug)s."))


@admin.action(description=gettext_lazy("Export all data (one tenant)"), permissions=["change"])
def export(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[Tenant]
) -> HttpResponseBase | None:
    slugs = list(queryset.values_list("schema_name", flat=True)[:2])
    if len(slugs) != 1:
        messages.error(request, _("Choose exactly one tenant to export."))
        return None
    slug = slugs[0]
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    manifest = archive.tenant_export(slug=slug, out=spool)
    size = spool.tell()
    spool.seek(0)
    services.ops_record(
        slug=slug,
        action="export",
        actor=request.user.get_username(),
        bytes=size,
        rows=sum(table["rows"] for table in manifest["tables"]),
    )
    stamp = manifest["exported_at"][:10]
    return FileResponse(spool, as_attachment=True, filename=f"linli-{slug}-{stamp}.zip")


@admin.register(Tenant, site=platform_site)
class TenantAdmin(ModelAdmin):
    list_display = ["schema_name", "name", "region", "status", "locale", "purge", "created_at"]
    list_filter = ["status", "locale"]
    search_fields = ["schema_name", "name", "region", "domains__domain"]
    readonly_fields = [
        "schema_name",
        "status",
        "status_changed_at",
        "purge_after",
        "created_at",
        "updated_at",
    ]
    inlines = [DomainInline]
    actions = [suspend, resume, close, export]
    fieldsets = [
        (None, {"fields": ["schema_name", "name", "region"]}),
        (gettext_lazy("Locale"), {"fields": ["locale", "time_zone", "currency"]}),
        (gettext_lazy("API"), {"fields": ["api_rate_limit"]}),
        (
            gettext_lazy("Status"),
            {"fields": ["status", "status_changed_at", "purge_after", "created_at", "updated_at"]},
        ),
    ]

    @admin.display(description=gettext_lazy("data deleted on"), ordering="purge_after")
    def purge(self, tenant: Tenant) -> str:
        return formats.date_format(tenant.purge_after) if tenant.purge_after else "—"

    def has_add_permission(self, request: object) -> bool:
        # Tenants are provisioned by `linli tenants create` or signup, never by a bare insert.
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(OpsAction, site=platform_site)
class OpsActionAdmin(ReadOnlyModelAdmin):
    """The audit of what platform staff did to tenants: read only."""

    list_display = ["at", "tenant_slug", "action", "actor", "detail"]
    list_filter = ["action"]
    search_fields = ["tenant_slug", "actor"]
    date_hierarchy = "at"


@admin.register(DomainClaim, site=platform_site)
class DomainClaimAdmin(ReadOnlyModelAdmin):
    """Districts' custom domains, for ops to look at; districts manage them in their admin."""

    list_display = ["domain", "tenant", "status", "created_at", "checked_at", "verified_at"]
    list_filter = ["status"]
    search_fields = ["domain", "tenant__schema_name"]
    # Read-only: removing a claim also removes its route, which goes through the domains
    # service (the district's admin), never a bare delete here.
