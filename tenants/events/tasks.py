"""Webhook delivery jobs: one deferred right after an event commits, and a sweep every
minute that delivers whatever is due (retries, and anything a lost job left behind)."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task, tenant_task
from linli.registry.context import within


@tenant_task(queue="webhooks")
def webhooks_deliver() -> int:
    from tenants.events.delivery import deliveries_run

    return deliveries_run()


@tenant_task(queue="notices", retry=RetryStrategy(max_attempts=6, exponential_wait=10))
def webhook_disabled_tell(*, endpoint_id: int) -> int:
    from tenants.events.delivery import disabled_endpoint_tell

    return disabled_endpoint_tell(endpoint_id=endpoint_id)


@app.periodic(cron="* * * * *", periodic_id="webhooks_sweep_everywhere")
@platform_task(queue="platform")
def webhooks_sweep_everywhere(*, timestamp: int | None = None) -> int:
    from linli.registry.selectors import tenant_schemas_serving
    from tenants.events.delivery import deliveries_run
    from tenants.events.models import Delivery

    delivered = 0
    for tenant in tenant_schemas_serving():
        with within(tenant):
            if Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
                delivered += deliveries_run()
    return delivered
