"""Jobs carry their tenant: a real worker runs them inside it, and refuses them without one.

These tests commit (a worker runs on its own connections and cannot see a test
transaction), so they clean up after themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django_tenants.utils import tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from linli.db.access import tenant_db
from linli.jobs.decorators import NO_TENANT
from linli.jobs.tasks import group_ensure
from linli.jobs.worker import run_worker
from linli.registry.models import Tenant

GROUP = "Building leaders (job test)"


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            tenant_db().set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE procrastinate_jobs CASCADE")
                for schema in ("alpha", "beta"):
                    cursor.execute(f"DELETE FROM {schema}.auth_group WHERE name = %s", [GROUP])


def _run_worker_until_idle() -> None:
    run_worker(wait=False, install_signal_handlers=False, listen_notify=False)


def _group_exists(slug: str) -> bool:
    with tenant_context(Tenant.objects.get(schema_name=slug)):
        return Group.objects.filter(name=GROUP).exists()


def test_job_runs_inside_the_tenant_it_was_deferred_for(committed):
    # given
    alpha = Tenant.objects.get(schema_name="alpha")
    job_id = group_ensure.defer(tenant=alpha, name=GROUP)
    job = ProcrastinateJob.objects.get(id=job_id)
    assert job.args == {"tenant_schema": "alpha", "name": GROUP}
    # when: a real worker picks it up
    _run_worker_until_idle()
    # then: it ran, in alpha, and only in alpha
    assert ProcrastinateJob.objects.get(id=job_id).status == "succeeded"
    assert _group_exists("alpha")
    assert not _group_exists("beta")


def test_job_without_a_tenant_is_refused_and_touches_nothing(committed, caplog):
    # given: someone defers the raw task, bypassing the tenant-aware API
    job_id = group_ensure.task.defer(name=GROUP)
    # when
    _run_worker_until_idle()
    # then
    assert ProcrastinateJob.objects.get(id=job_id).status == "failed"
    assert NO_TENANT in caplog.text
    assert not _group_exists("alpha")
    assert not _group_exists("beta")


def test_job_for_a_suspended_tenant_does_not_run(committed):
    alpha = Tenant.objects.get(schema_name="alpha")
    job_id = group_ensure.defer(tenant=alpha, name=GROUP)
    Tenant.objects.filter(pk=alpha.pk).update(status=Tenant.Status.SUSPENDED)
    try:
        _run_worker_until_idle()
    finally:
        Tenant.objects.filter(pk=alpha.pk).update(status=Tenant.Status.ACTIVE)
    assert ProcrastinateJob.objects.get(id=job_id).status == "failed"
    assert not _group_exists("alpha")
