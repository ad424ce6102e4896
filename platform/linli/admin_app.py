"""Django's admin app, with each tenant's admin site hiding the modules it does not run."""

from django.contrib.admin.apps import AdminConfig


class LinliAdminConfig(AdminConfig):
    default_site = "linli.tenant_admin.TenantAdminSite"

    def ready(self) -> None:
        from linli.admin_names import names_translate

        super().ready()
        names_translate()
