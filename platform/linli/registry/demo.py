"""The demo city that `linli up` serves: Cenxi (岑溪市), where the scheme began."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password

from linli.registry.models import Tenant
from linli.registry.selectors import tenant_get
from linli.registry.services import tenant_create

DEMO_SLUG = "cenxi"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "linli-demo"  # noqa: S105 - a development-only demo login, printed on start


def demo_tenant_ensure() -> tuple[Tenant, bool]:
    tenant = tenant_get(slug=DEMO_SLUG)
    if tenant is not None:
        return tenant, False
    tenant = tenant_create(
        slug=DEMO_SLUG,
        name="岑溪市 Cenxi",
        region="廣西 梧州 Wuzhou, Guangxi",
        locale="zh-hans",
        time_zone="Asia/Shanghai",
        currency="CNY",
        status=Tenant.Status.ACTIVE,
        admin_username=DEMO_ADMIN_USERNAME,
        admin_email="admin@cenxi.example",
        admin_password_hash=make_password(DEMO_ADMIN_PASSWORD),
    )
    return tenant, True
