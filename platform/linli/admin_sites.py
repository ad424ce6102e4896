"""Two admin sites: each tenant's admin on its host, and the platform's on the base domain.

They are separate objects so that a public-schema model (the tenant registry)
can never appear in a tenant's admin, where it would list every tenant.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext_lazy as _


class PlatformAdminSite(admin.AdminSite):
    site_header = _("Linli platform")
    site_title = _("Linli platform")
    index_title = _("Platform operations")


platform_site = PlatformAdminSite(name="platform_admin")
platform_site.register(User, UserAdmin)
platform_site.register(Group, GroupAdmin)

admin.site.site_header = _("Linli")
admin.site.site_title = _("Linli")
admin.site.index_title = _("Neighbourhood administration")
