"""Tasks that always carry their tenant.

``@tenant_task`` registers a procrastinate task whose job records the tenant's
schema; the worker looks the tenant up and runs the function inside it. A job
without a tenant, or for a tenant that no longer serves, fails instead of
running anywhere else. ``@platform_task`` is the loud escape hatch for work
that belongs to the platform (public schema) rather than to one tenant.

Both retry a job that failed because the database was out of reach (``DatabaseRetry``),
unless the task brings a retry strategy of its own: the handlers are written to be run
again (they claim their work with leases and ``SKIP LOCKED``, or look before they write),
so a retry, like the stalled-job sweep's, is safe.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import connection
from django_tenants.utils import schema_context
from procrastinate import jobs
from procrastinate.contrib.django import app
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from linli.errors import NoTenant
from linli.ops.health import database_unavailable
from linli.ops.sentry import job_scope
from linli.registry.context import within
from linli.registry.models import Tenant

TENANT_KWARG = "tenant_schema"
NO_TENANT = "This job names no tenant; tenant jobs must be deferred with one."
TENANT_GONE = "The job's tenant {schema!r} does not exist or is not serving."


class DatabaseRetry(BaseRetryStrategy):
    """Run again later, 5 s then doubling up to 5 minutes for ten attempts, when the job
    failed because the database was unavailable; any other failure is final."""

    max_attempts = 10

    def get_retry_decision(
        self, *, exception: BaseException, job: jobs.Job
    ) -> RetryDecision | None:
        if job.attempts >= self.max_attempts or not database_unavailable(exception):
            return None
        return RetryDecision(retry_in={"seconds": min(5 * 2**job.attempts, 300)})


DATABASE_RETRY = DatabaseRetry()


class TenantTask:
    """A deferrable task bound to one tenant per job."""

    def __init__(self, task: Any, func: Callable[..., Any]) -> None:
        self.task = task
        self.func = func
        self.name = task.name

    def defer(self, *, tenant: Tenant, **kwargs: Any) -> int:
        return int(self.task.defer(**{TENANT_KWARG: tenant.schema_name}, **kwargs))

    def configure(self, *, tenant: Tenant, **options: Any) -> Any:
        """Like procrastinate's ``configure`` (lock, queue, schedule...), for one tenant."""
        deferrer = self.task.configure(**options)
        return _BoundDeferrer(deferrer, tenant.schema_name)


class _BoundDeferrer:
    def __init__(self, deferrer: Any, schema: str) -> None:
        self.deferrer = deferrer
        self.schema = schema

    def defer(self, **kwargs: Any) -> int:
        return int(self.deferrer.defer(**{TENANT_KWARG: self.schema}, **kwargs))


def _release_connection() -> None:
    """Each job runs in a thread of its own: never leave a tenant's search path on a
    connection another job could pick up. (Called directly inside a transaction, as
    tests do, the caller's connection is left alone.)"""
    if not connection.in_atomic_block:
        connection.close()


def tenant_task(*, queue: str = "default", name: str | None = None, **options: Any) -> Any:
    def decorator(func: Callable[..., Any]) -> TenantTask:
        @functools.wraps(func)
        def run_in_tenant(**kwargs: Any) -> Any:
            schema = kwargs.pop(TENANT_KWARG, None)
            with job_scope(task=task_name, tenant=schema):  # Sentry tags and log context
                if not schema:
                    raise NoTenant(NO_TENANT)
                try:
                    with schema_context("public"):
                        tenant = Tenant.objects.filter(schema_name=schema).first()
                    if tenant is None or not tenant.is_serving:
                        raise NoTenant(TENANT_GONE.format(schema=schema))
                    with within(tenant):
                        return func(**kwargs)
                finally:
                    _release_connection()

        task_name = name or f"{func.__module__}.{func.__name__}"
        options.setdefault("retry", DATABASE_RETRY)
        task = app.task(name=task_name, queue=queue, **options)(run_in_tenant)
        return TenantTask(task, func)

    return decorator


def platform_task(*, queue: str = "platform", name: str | None = None, **options: Any) -> Any:
    """A job that runs in the public schema, on purpose. Use sparingly."""

    def decorator(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def run_in_public(**kwargs: Any) -> Any:
            try:
                with job_scope(task=task_name, tenant=None), schema_context("public"):
                    return func(**kwargs)
            finally:
                _release_connection()

        task_name = name or f"{func.__module__}.{func.__name__}"
        options.setdefault("retry", DATABASE_RETRY)
        return app.task(name=task_name, queue=queue, **options)(run_in_public)

    return decorator
