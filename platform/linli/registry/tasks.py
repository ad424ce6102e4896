"""Jobs of the tenant registry."""

from __future__ import annotations

from procrastinate.contrib.django import app

from linli.jobs.decorators import platform_task

# Pending claims checked per run: a cap, so one run stays short whatever the backlog.
RECHECK_BATCH = 100


@app.periodic(cron="*/15 * * * *", periodic_id="domain_claims_recheck")
@platform_task(queue="platform")
def domain_claims_recheck(*, timestamp: int | None = None) -> int:
    """Every 15 minutes: check pending custom domains again, least recently checked first,
    so a district that published its TXT record need not come back to press "check".
    Returns how many were verified."""
    from linli.registry.domains import claims_recheck

    return claims_recheck(limit=RECHECK_BATCH)
