"""Sending residents' messages: a job right after they are stored, and a sweep every minute
that asks for one in each tenant with messages due (held through quiet hours, retries,
anything a lost job left).

A tenant's messages are sent by one job at a time (its lock), within a time budget, on the
``notices`` queue, which never shares worker slots with webhook delivery; a run that left
messages due queues the next one behind the other tenants'.
"""

from __future__ import annotations

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task, tenant_task
from linli.registry.context import within


@tenant_task(queue="notices")
def messages_send() -> int:
    from django.utils import timezone

    from tenants.notices.models import Message
    from tenants.notices.services import kick_sending
    from tenants.notices.services import messages_send as send

    sent = send()
    due = Message.objects.filter(status="pending", send_after__lte=timezone.now())
    if due.exists():
        kick_sending()
    return sent


@app.periodic(cron="* * * * *", periodic_id="notices_sweep_everywhere")
@platform_task(queue="platform")
def notices_sweep_everywhere(*, timestamp: int | None = None) -> int:
    """Every minute: queue a sending job in each serving tenant with messages due; returns
    how many were queued."""
    from django.utils import timezone

    from linli.registry.selectors import tenant_schemas_serving
    from tenants.notices.models import Message
    from tenants.notices.services import kick_sending

    queued = 0
    for tenant in tenant_schemas_serving():
        with within(tenant):
            due = Message.objects.filter(status="pending", send_after__lte=timezone.now())
            if due.exists():
                queued += kick_sending()
    return queued
