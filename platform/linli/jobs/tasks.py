"""Jobs of the platform itself. Module apps keep theirs in their own ``tasks.py``."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django_tenants.utils import tenant_context
from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task, tenant_task


@tenant_task(queue="default")
def group_ensure(*, name: str) -> int:
    """Make sure a staff permission group exists in the job's tenant; returns its id.

    Small on purpose: it is how the job round trip (defer in one process, run
    inside the right tenant in a worker) is proven end to end.
    """
    group, _created = Group.objects.get_or_create(name=name)
    return group.pk


@app.periodic(cron="17 * * * *", periodic_id="idempotency_records_prune")
@platform_task(queue="platform")
def idempotency_records_prune_everywhere(*, timestamp: int | None = None) -> int:
    """Hourly: drop stored API responses older than their 24-hour replay window."""
    from api.access.services import idempotency_records_prune
    from linli.registry.selectors import tenant_schemas_serving

    deleted = 0
    for tenant in tenant_schemas_serving():
        with tenant_context(tenant):
            deleted += idempotency_records_prune()
    return deleted


@app.periodic(cron="41 3 * * *", periodic_id="tenants_purge_closed")
@platform_task(queue="platform")
def tenants_purge_closed(*, timestamp: int | None = None) -> list[str]:
    """Daily: delete closed tenants whose retention period has passed."""
    from linli.registry.services import tenants_purge_due

    return tenants_purge_due()
