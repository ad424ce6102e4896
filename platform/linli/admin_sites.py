"""Two admin sites: each tenant's admin on its host, and the platform's on the base domain.

They are separate objects so that a public-schema model (the tenant registry)
can never appear in a tenant's admin, where it would list every tenant.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.sites import UnfoldAdminSite

from linli.admin_base import ModelAdmin


class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


class PlatformAdminSite(UnfoldAdminSite):
    site_header = _("Linli platform")
    site_title = _("Linli platform")
    index_title = _("Platform operations")

    def get_urls(self) -> list[Any]:
        from django.urls import path

        from linli.billing.views import ops_billing_view
        from linli.ops.console import ops_urls
        from linli.security.views import security_urls

        billing = self.admin_view(lambda request: ops_billing_view(self, request))
        return [
            path("billing/", billing, name="billing_overview"),
            *security_urls(self),
            *ops_urls(self),
            *super().get_urls(),
        ]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from linli.security.views import admin_login

        return admin_login(request, site=self, extra_context=extra_context)


platform_site = PlatformAdminSite(name="platform_admin")
platform_site.register(User, UserAdmin)
platform_site.register(Group, GroupAdmin)

# Each tenant's site lists users and groups with the same themed screens.
for model, model_admin in ((User, UserAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

admin.site.site_header = _("Linli")
admin.site.site_title = _("Linli")
admin.site.index_title = _("Neighbourhood administration")
