"""The demo city that `linli up` serves: Cenxi (岑溪市), where the scheme began."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext as _

from linli.errors import Conflict
from linli.registry.context import within
from linli.registry.models import Tenant
from linli.registry.selectors import tenant_get
from linli.registry.services import tenant_create
from tenants.community.demo import community_demo_build
from tenants.community.models import Estate
from tenants.deliberation.demo import deliberation_demo_build
from tenants.helpteam.demo import helpteam_demo_build
from tenants.shop.demo import shop_demo_build

DEMO_SLUG = "cenxi"
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "linli-demo"  # noqa: S105 - a development-only demo login, printed on start


DEMO_OPS_USERNAME = "ops"


def demo_platform_admin_ensure() -> str:
    """A platform staff login for `linli up` (development only): the ops console and the
    platform admin on the base domain. Its password is the demo's, printed on start."""
    from django.contrib.auth import get_user_model

    from linli.db.access import tenant_db

    tenant_db().set_schema_to_public()
    users = get_user_model()._default_manager
    if not users.filter(username=DEMO_OPS_USERNAME).exists():
        users.create_superuser(
            username=DEMO_OPS_USERNAME,
            email="ops@linli.example",
            password=DEMO_ADMIN_PASSWORD,
        )
    return DEMO_OPS_USERNAME


def demo_tenant_ensure() -> tuple[Tenant, bool]:
    """The demo tenant for `linli up`: created with the small demo city the first time."""
    tenant = tenant_get(slug=DEMO_SLUG)
    if tenant is not None:
        return tenant, False
    tenant, _counts = demo_build(scale="small", slug=DEMO_SLUG)
    return tenant, True


def demo_build(*, scale: str, slug: str = DEMO_SLUG) -> tuple[Tenant, dict[str, int]]:
    """Build the demo city in ``slug`` (created if missing; it must hold no estates yet)."""
    tenant = tenant_get(slug=slug) or _demo_tenant_create(slug)
    with within(tenant):  # the city's schema and its clock: history at its local hours
        if Estate.objects.exists():
            raise Conflict(
                _("Tenant “%(slug)s” already has data; delete it first (linli tenants delete).")
                % {"slug": slug},
                code="demo_not_empty",
            )
        counts = community_demo_build(scale=scale)
        counts |= helpteam_demo_build(scale=scale)
        counts |= deliberation_demo_build(scale=scale)
        counts |= shop_demo_build(scale=scale)
    return tenant, counts


def _demo_tenant_create(slug: str) -> Tenant:
    return tenant_create(
        slug=slug,
        name="岑溪市 Cenxi",
        region="广西 梧州 Wuzhou, Guangxi",
        locale="zh-hans",
        time_zone="Asia/Shanghai",
        currency="CNY",
        status=Tenant.Status.ACTIVE,
        admin_username=DEMO_ADMIN_USERNAME,
        admin_email="admin@cenxi.example",
        admin_password_hash=make_password(DEMO_ADMIN_PASSWORD),
        modules=["deliberation", "helpteam", "shop", "points"],
    )
