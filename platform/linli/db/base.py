"""The database backend: django-tenants' schema switching, made cheap when nothing changes.

Stock django-tenants forgets the search path and clears the content-type cache
on every ``set_tenant`` call, even when the tenant is the one already active,
so every request pays for a ``SET search_path``. Here switching to the active
schema is a no-op; switching to another one behaves as before.
"""

from __future__ import annotations

from typing import Any

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        if (
            self.schema_name == tenant.schema_name
            and self.include_public_schema == include_public
            and self.search_path_set_schemas is not None
        ):
            self.tenant = tenant
            return
        super().set_tenant(tenant, include_public)
