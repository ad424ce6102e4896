"""Sending residents' messages: a job right after they are stored, and a sweep every minute
for messages held through quiet hours, retries, and anything a lost job left."""

from __future__ import annotations

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task, tenant_task
from linli.registry.context import within


@tenant_task(queue="notices")
def messages_send() -> int:
    from tenants.notices.services import messages_send as send

    return send()


@app.periodic(cron="* * * * *", periodic_id="notices_sweep_everywhere")
@platform_task(queue="platform")
def notices_sweep_everywhere(*, timestamp: int | None = None) -> int:
    from django.utils import timezone

    from linli.registry.selectors import tenant_schemas_serving
    from tenants.notices.models import Message
    from tenants.notices.services import messages_send as send

    sent = 0
    for tenant in tenant_schemas_serving():
        with within(tenant):
            due = Message.objects.filter(status="pending", send_after__lte=timezone.now())
            if due.exists():
                sent += send()
    return sent
