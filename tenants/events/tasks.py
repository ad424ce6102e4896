"""Webhook delivery jobs: one deferred right after an event commits, and a sweep every
minute that asks for a run in each tenant with something due (retries, held deliveries
released, anything a lost job left behind) and expires what was held too long.

A tenant's deliveries run in one job at a time (its lock) on the ``webhooks`` queue, which
the worker serves from slots of its own; a run that used up its time budget with work
left queues the next one behind the other tenants' runs, so tenants take turns.
"""

from __future__ import annotations

from django.db import connection, transaction
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task, tenant_task
from linli.registry.context import within


@tenant_task(queue="webhooks")
def webhooks_deliver() -> int:
    from tenants.events.delivery import deliveries_run_bounded

    run = deliveries_run_bounded()
    if run.more_due:
        webhooks_deliver_soon()
    return run.delivered


def webhooks_deliver_soon() -> bool:
    """Queue a delivery run for the current tenant unless one already waits; False when
    none could be queued (the sweep asks again within a minute)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return False
    schema = tenant.schema_name
    try:
        with transaction.atomic():  # a refused defer must not spoil a surrounding transaction
            webhooks_deliver.configure(
                tenant=tenant, queueing_lock=f"webhooks:{schema}", lock=f"webhooks:{schema}"
            ).defer()
    except Exception:  # already queued (the queueing lock), or no queue: the sweep covers it
        return False
    return True


@tenant_task(queue="notices", retry=RetryStrategy(max_attempts=6, exponential_wait=10))
def webhook_disabled_tell(*, endpoint_id: int) -> int:
    from tenants.events.delivery import disabled_endpoint_tell

    return disabled_endpoint_tell(endpoint_id=endpoint_id)


@app.periodic(cron="* * * * *", periodic_id="webhooks_sweep_everywhere")
@platform_task(queue="platform")
def webhooks_sweep_everywhere(*, timestamp: int | None = None) -> int:
    """Every minute, in each serving tenant: expire held deliveries past the hold window,
    and queue a delivery run where something is due. Returns how many runs were queued."""
    from django.utils import timezone

    from linli.registry.selectors import tenant_schemas_serving
    from tenants.events.models import Delivery
    from tenants.events.services import deliveries_expire_held

    queued = 0
    for tenant in tenant_schemas_serving():
        with within(tenant):
            deliveries_expire_held()
            due = Delivery.objects.filter(
                status=Delivery.Status.PENDING,
                next_attempt_at__lte=timezone.now(),
                endpoint__active=True,
            )
            if due.exists():
                queued += webhooks_deliver_soon()
    return queued
