from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from linli.admin_sites import platform_site
from linli.registry.models import Domain, DomainClaim, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant, site=platform_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["schema_name", "name", "region", "status", "locale", "created_at"]
    list_filter = ["status", "locale"]
    search_fields = ["schema_name", "name", "region"]
    readonly_fields = ["schema_name", "status", "status_changed_at", "created_at", "updated_at"]
    inlines = [DomainInline]
    fieldsets = [
        (None, {"fields": ["schema_name", "name", "region"]}),
        (_("Locale"), {"fields": ["locale", "time_zone", "currency"]}),
        (_("API"), {"fields": ["api_rate_limit"]}),
        (_("Status"), {"fields": ["status", "status_changed_at", "created_at", "updated_at"]}),
    ]

    def has_add_permission(self, request: object) -> bool:
        # Tenants are provisioned by `linli tenants create` or signup, never by a bare insert.
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(DomainClaim, site=platform_site)
class DomainClaimAdmin(admin.ModelAdmin):
    """Districts' custom domains, for ops to look at; districts manage them in their admin."""

    list_display = ["domain", "tenant", "status", "created_at", "checked_at", "verified_at"]
    list_filter = ["status"]
    search_fields = ["domain", "tenant__schema_name"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        # Removing a claim also removes its route: that goes through the domains service.
        return False
