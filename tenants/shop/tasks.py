"""Scheduled shop work: batches close at their cut-off, uncollected orders expire, parcels
are remembered. Each tenant that runs the shop, in its own context."""

from __future__ import annotations

from collections.abc import Callable

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task
from linli.registry.context import within


def _everywhere(work: Callable[[], int]) -> int:
    from linli.registry.selectors import tenant_schemas_serving

    done = 0
    for tenant in tenant_schemas_serving():
        if "shop" in tenant.enabled_modules:
            with within(tenant):
                done += work()
    return done


@app.periodic(cron="* * * * *", periodic_id="shop_batches_close_everywhere")
@platform_task(queue="platform")
def shop_batches_close_everywhere(*, timestamp: int | None = None) -> int:
    """Every minute: batches whose window began are announced; those past their cut-off
    stop taking orders."""
    from tenants.shop.services.catalogue import batches_close_due, batches_open_due

    return _everywhere(lambda: batches_open_due() + batches_close_due())


@app.periodic(cron="*/15 * * * *", periodic_id="shop_orders_expire_everywhere")
@platform_task(queue="platform")
def shop_orders_expire_everywhere(*, timestamp: int | None = None) -> int:
    from tenants.shop.services.orders import orders_expire

    return _everywhere(orders_expire)


@app.periodic(cron="0 9 * * *", periodic_id="shop_parcels_remind_everywhere")
@platform_task(queue="platform")
def shop_parcels_remind_everywhere(*, timestamp: int | None = None) -> int:
    """Each morning: remind households of parcels that have waited too long."""
    from tenants.shop.services.parcels import parcels_remind

    return _everywhere(parcels_remind)
