"""Jobs of the platform itself. Module apps keep theirs in their own ``tasks.py``."""

from __future__ import annotations

from django.contrib.auth.models import Group

from linli.jobs.decorators import tenant_task


@tenant_task(queue="default")
def group_ensure(*, name: str) -> int:
    """Make sure a staff permission group exists in the job's tenant; returns its id.

    Small on purpose: it is how the job round trip (defer in one process, run
    inside the right tenant in a worker) is proven end to end.
    """
    group, _created = Group.objects.get_or_create(name=name)
    return group.pk
