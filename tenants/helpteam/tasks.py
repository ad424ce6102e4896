"""Help-team jobs: the best volunteers told of a new request; requests past their window
expire, every ten minutes; done requests confirm themselves, hourly."""

from __future__ import annotations

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task, tenant_task
from linli.registry.context import within


@app.periodic(cron="*/10 * * * *", periodic_id="help_requests_expire_everywhere")
@platform_task(queue="platform")
def help_requests_expire_everywhere(*, timestamp: int | None = None) -> int:
    from linli.registry.selectors import tenant_schemas_serving
    from tenants.helpteam.services import requests_expire

    expired = 0
    for tenant in tenant_schemas_serving():
        if "helpteam" in tenant.enabled_modules:
            with within(tenant):
                expired += requests_expire()
    return expired


@app.periodic(cron="15 * * * *", periodic_id="help_requests_auto_confirm_everywhere")
@platform_task(queue="platform")
def help_requests_auto_confirm_everywhere(*, timestamp: int | None = None) -> int:
    """Hourly: confirm done requests left unanswered, where the tenant turned this on."""
    from linli.registry.selectors import tenant_schemas_serving
    from tenants.helpteam.services import requests_auto_confirm

    confirmed = 0
    for tenant in tenant_schemas_serving():
        if "helpteam" in tenant.enabled_modules:
            with within(tenant):
                confirmed += requests_auto_confirm()
    return confirmed


@tenant_task(queue="notices")
def help_request_suggest(*, help_request_id: int) -> int:
    """Right after a request is asked: tell its best volunteers (queued in the asking
    transaction, so a request is never left untold, nor told twice)."""
    from tenants.helpteam.services import request_suggest

    return request_suggest(request_id=help_request_id)
