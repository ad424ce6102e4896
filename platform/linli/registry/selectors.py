"""Reads of the tenant registry, and the host -> tenant cache the web layer uses."""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models import QuerySet
from django_tenants.utils import schema_context
from pydantic import BaseModel

from linli.registry.models import Domain, Tenant

_host_cache: dict[str, tuple[Tenant | None, float]] = {}
# Any Host header reaches the lookup (unknown ones are cached as None too), so the cache is
# bounded: past this many hosts it starts again empty rather than growing without limit.
_HOST_CACHE_MAX = 10_000


def tenant_list(*, status: str | None = None) -> QuerySet[Tenant]:
    tenants = Tenant.objects.order_by("schema_name").prefetch_related("domains")
    if status:
        tenants = tenants.filter(status=status)
    return tenants


def tenant_get(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(schema_name=slug).first()


def tenant_for_host(host: str) -> Tenant | None:
    """The tenant serving ``host``, or None; cached for LINLI_TENANT_CACHE_SECONDS."""
    now = time.monotonic()
    hit = _host_cache.get(host)
    if hit is not None and hit[1] > now:
        return hit[0]
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        domain = Domain.objects.select_related("tenant").filter(domain=host).first()
        tenant = domain.tenant if domain is not None else None
        if tenant is not None:
            tenant.enabled_modules  # noqa: B018 - load now, so requests read it from the cache
    if len(_host_cache) >= _HOST_CACHE_MAX:
        _host_cache.clear()
    _host_cache[host] = (tenant, now + settings.LINLI_TENANT_CACHE_SECONDS)
    return tenant


def tenant_cache_clear() -> None:
    _host_cache.clear()


def platform_hosts() -> frozenset[str]:
    base = settings.LINLI_BASE_DOMAIN
    return frozenset({base, f"www.{base}"})


def tenant_schemas_serving() -> list[Tenant]:
    """Every tenant that serves, for platform jobs that visit each one in turn."""
    return list(
        Tenant.objects.exclude(status__in=[Tenant.Status.SUSPENDED, Tenant.Status.CLOSED]).order_by(
            "schema_name"
        )
    )


def module_settings[T: BaseModel](module: str, model: type[T]) -> T:
    """The current tenant's settings for ``module``, validated by its model (defaults when none
    are stored, or when no tenant is active)."""
    from django.db import connection

    from linli.registry.models import ModuleSetting

    tenant_id = getattr(getattr(connection, "tenant", None), "pk", None)
    row = (
        ModuleSetting.objects.filter(tenant_id=tenant_id, module=module).first()
        if tenant_id
        else None
    )
    return model.model_validate(row.settings if row and row.settings else {})
