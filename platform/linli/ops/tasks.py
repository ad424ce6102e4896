"""Jobs of the ops console: the daily snapshot of each tenant's active residents."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task
from linli.ops.models import TenantUsage

SNAPSHOT_UPSERT = """
INSERT INTO "public"."ops_usage" AS usage (
    tenant_id, day, module, requests, client_errors, server_errors, writes, residents
)
SELECT v.tenant_id, v.day, %s, 0, 0, 0, 0, v.residents
FROM unnest(%s::bigint[], %s::date[], %s::integer[]) AS v (tenant_id, day, residents)
WHERE EXISTS (SELECT 1 FROM "public"."registry_tenant" t WHERE t.id = v.tenant_id)
ON CONFLICT (tenant_id, day, module) DO UPDATE SET residents = EXCLUDED.residents
"""


def active_residents() -> int:
    """The current tenant's active residents (what the daily snapshot records)."""
    from tenants.community.models import Resident

    return Resident.objects.filter(status=Resident.Status.ACTIVE, erased_at__isnull=True).count()


def residents_snapshot(*, day: date | None = None) -> dict[str, int]:
    """Count each serving tenant's active residents (inside its schema) and store the
    counts as ``day``'s snapshot (today, UTC) with one statement; returns slug → count.
    Run again on the same day, it replaces that day's figures."""
    from linli.registry.context import within
    from linli.registry.models import Tenant

    day = day or timezone.now().date()
    serving = Tenant.objects.exclude(
        status__in=[Tenant.Status.SUSPENDED, Tenant.Status.CLOSED]
    ).order_by("schema_name")
    counts: dict[str, int] = {}
    ids: list[int] = []
    for tenant in serving:
        with within(tenant):
            counts[tenant.schema_name] = active_residents()
        ids.append(tenant.pk)
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                SNAPSHOT_UPSERT,
                [TenantUsage.TENANT_WIDE, ids, [day] * len(ids), list(counts.values())],
            )
    return counts


@app.periodic(cron="10 0 * * *", periodic_id="ops_residents_snapshot")
@platform_task(queue="platform")
def usage_residents_snapshot(*, timestamp: int | None = None) -> int:
    """Shortly after midnight (UTC): the day's snapshot of active residents per tenant, read
    by the ops console. Returns the number of tenants counted."""
    return len(residents_snapshot())
