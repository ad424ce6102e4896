"""Scheduled points work: expiry, once a day, in every tenant that has it switched on."""

from __future__ import annotations

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task
from linli.registry.context import within


@app.periodic(cron="30 2 * * *", periodic_id="points_expire_everywhere")
@platform_task(queue="platform")
def points_expire_everywhere(*, timestamp: int | None = None) -> int:
    """Post expiry transactions in each serving tenant; safe to run twice."""
    from linli.registry.models import ModuleSetting
    from linli.registry.selectors import tenant_schemas_serving
    from tenants.points.services import points_expire

    with_points = set(
        ModuleSetting.objects.filter(module="points", enabled=True).values_list(
            "tenant_id", flat=True
        )
    )
    posted = 0
    for tenant in tenant_schemas_serving():
        if tenant.pk in with_points:
            with within(tenant):
                posted += len(points_expire())
    return posted
