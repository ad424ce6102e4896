"""Jobs of the platform itself. Module apps keep theirs in their own ``tasks.py``."""

from __future__ import annotations

import logging

from django.contrib.auth.models import Group
from django_tenants.utils import tenant_context
from procrastinate import JobContext, exceptions
from procrastinate.contrib.django import app
from procrastinate.jobs import Status

from linli.jobs.decorators import platform_task, tenant_task

logger = logging.getLogger("linli.jobs")


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


# A worker beats every 10 s; one silent for this long is gone (killed, its machine lost, or
# cut off from the database), and the jobs it was running will not finish.
STALLED_AFTER_SECONDS = 60


@app.periodic(cron="* * * * *", periodic_id="jobs_retry_stalled")
@app.task(
    name="linli.jobs.tasks.jobs_retry_stalled",
    queue="platform",
    pass_context=True,
    queueing_lock="jobs_retry_stalled",
)
async def jobs_retry_stalled(context: JobContext, timestamp: int) -> int:
    """Every minute: jobs left 'doing' by a worker whose heartbeat stopped go back to the
    queue, through procrastinate's own stalled-job API (its workers' heartbeats). Each
    handler may be run again safely. A stalled job whose twin already waits (the same
    queueing lock) is closed as failed instead, so the work is done once."""
    manager = context.app.job_manager
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        assert job.id is not None
        try:
            await manager.retry_job(job)
        except exceptions.UniqueViolation:
            await manager.finish_job_by_id_async(
                job_id=job.id, status=Status.FAILED, delete_job=False
            )
            logger.warning("stalled job %s closed: the same work is queued", job.call_string)
            continue
        logger.warning("stalled job %s retried", job.call_string)
        retried += 1
    return retried
