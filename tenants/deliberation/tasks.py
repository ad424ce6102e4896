"""Scheduled deliberation work: overdue topics and action items escalate, every morning."""

from __future__ import annotations

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task
from linli.registry.context import within


@app.periodic(cron="0 8 * * *", periodic_id="deliberation_escalate_everywhere")
@platform_task(queue="platform")
def deliberation_escalate_everywhere(*, timestamp: int | None = None) -> int:
    from linli.registry.selectors import tenant_schemas_serving
    from tenants.deliberation.services import overdue_escalate

    escalated = 0
    for tenant in tenant_schemas_serving():
        if "deliberation" in tenant.enabled_modules:
            with within(tenant):
                escalated += overdue_escalate()
    return escalated
