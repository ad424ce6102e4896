"""The job worker around procrastinate's: what counts as the database being away, its slots
(webhooks apart), an honest exit status, and stalled jobs sent back to the queue.

The stalled-job tests commit (a worker runs on its own connections), so they clean up."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import InterfaceError, OperationalError, connection
from django_tenants.utils import tenant_context
from procrastinate import exceptions
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.jobs import Job

from linli.db.access import tenant_db
from linli.jobs import worker
from linli.jobs.decorators import DATABASE_RETRY
from linli.jobs.tasks import group_ensure, jobs_retry_stalled
from linli.jobs.worker import WEBHOOKS_QUEUE, WorkerFailed, run_worker, worker_slots
from linli.ops.health import database_unavailable
from linli.registry.models import Tenant

GROUP = "Stalled job test"


def _wrapped(cause: BaseException, outer: type[Exception]) -> Exception:
    try:
        raise outer("wrapped") from cause
    except outer as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.OperationalError("connection refused"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.errors.CannotConnectNow("the database system is starting up"),
        psycopg.errors.TooManyConnections("sorry, too many clients already"),
        psycopg.InterfaceError("the connection is closed"),
        InterfaceError("connection already closed"),
    ],
)
def test_the_database_going_away_is_unavailable(exc):
    assert database_unavailable(exc)
    assert database_unavailable(_wrapped(exc, OperationalError))
    assert database_unavailable(_wrapped(exc, exceptions.ConnectorException))


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.UndefinedTable('relation "procrastinate_jobs" does not exist'),
        psycopg.errors.UniqueViolation("duplicate key"),
        RuntimeError("a bug"),
    ],
)
def test_a_query_of_ours_failing_is_not_an_outage(exc):
    assert not database_unavailable(exc)
    assert not database_unavailable(_wrapped(exc, exceptions.ConnectorException))


def test_webhooks_get_slots_of_their_own_unless_queues_are_named():
    jobs, webhooks = worker_slots(queues=None, concurrency=3, webhook_concurrency=2)
    assert (webhooks.queues, webhooks.concurrency) == ([WEBHOOKS_QUEUE], 2)
    assert WEBHOOKS_QUEUE not in (jobs.queues or [])
    assert {"default", "notices", "platform"} <= set(jobs.queues or [])
    assert jobs.concurrency == 3
    [named] = worker_slots(queues=["smoke"], concurrency=2, webhook_concurrency=5)
    assert (named.queues, named.concurrency) == (["smoke"], 2)


def test_a_job_that_lost_the_database_is_retried_and_others_are_not():
    job = Job(id=1, queue="default", lock=None, queueing_lock=None, task_name="t", attempts=0)
    lost = _wrapped(psycopg.OperationalError("server closed the connection"), OperationalError)
    decision = DATABASE_RETRY.get_retry_decision(exception=lost, job=job)
    assert decision is not None
    assert DATABASE_RETRY.get_retry_decision(exception=ValueError("a bug"), job=job) is None
    tired = Job(id=1, queue="default", lock=None, queueing_lock=None, task_name="t", attempts=10)
    assert DATABASE_RETRY.get_retry_decision(exception=lost, job=tired) is None


def test_a_failure_that_is_not_the_database_ends_the_worker(monkeypatch):
    async def broken(**options):
        raise RuntimeError("not the database")

    monkeypatch.setattr(app, "run_worker_async", broken)
    with pytest.raises(RuntimeError, match="not the database"):
        run_worker(install_signal_handlers=False)


def test_a_side_task_failing_on_the_database_reconnects_then_another_failure_ends_it(
    monkeypatch, caplog
):
    """procrastinate stops a worker whose side task failed and returns normally; the first
    time (the database) it is started again, the second (a bug) the worker fails."""
    failures = [psycopg.OperationalError("connection lost"), KeyError("a bug")]
    calls: list[str] = []

    async def stops_itself(**options):
        calls.append(options["name"])
        if options["name"] != "jobs":
            import asyncio

            await asyncio.sleep(3600)  # the webhooks worker runs on until cancelled
        cause = failures.pop(0)
        logging.getLogger("procrastinate.worker.jobs").error(
            "Side task listener failed", extra={"action": "side_task_failed"}, exc_info=cause
        )

    monkeypatch.setattr(app, "run_worker_async", stops_itself)
    monkeypatch.setattr(worker, "RECONNECT_FIRST_SECONDS", 0.01)
    with caplog.at_level(logging.WARNING, "linli.jobs"), pytest.raises(WorkerFailed):
        run_worker(install_signal_handlers=False)
    assert calls.count("jobs") == 2
    assert "the job worker reconnects" in caplog.text


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            tenant_db().set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE")
                cursor.execute("DELETE FROM alpha.auth_group WHERE name = %s", [GROUP])


def _left_doing_by_a_dead_worker(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '10 minutes') RETURNING id"
        )
        (dead,) = cursor.fetchone()
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
            [dead, job_id],
        )


def test_a_job_left_doing_by_a_dead_worker_runs_again(committed):
    # given: a job a worker took, then died (its heartbeat stopped ten minutes ago)
    alpha = Tenant.objects.get(schema_name="alpha")
    job_id = group_ensure.defer(tenant=alpha, name=GROUP)
    _left_doing_by_a_dead_worker(job_id)
    # when: the minutely stalled-job sweep runs in a worker
    jobs_retry_stalled.defer(timestamp=0)
    run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
    # then: the job went back to the queue and ran, once more
    job = ProcrastinateJob.objects.get(id=job_id)
    assert (job.status, job.attempts) == ("succeeded", 2)
    with tenant_context(alpha):
        assert Group.objects.filter(name=GROUP).count() == 1


def test_a_stalled_job_whose_twin_already_waits_is_closed(committed):
    alpha = Tenant.objects.get(schema_name="alpha")
    lock = "group-ensure:alpha"
    stalled = group_ensure.configure(tenant=alpha, queueing_lock=lock).defer(name=GROUP)
    _left_doing_by_a_dead_worker(stalled)
    jobs_retry_stalled.defer(timestamp=0)  # taken before the twin (an earlier id)
    twin = group_ensure.configure(tenant=alpha, queueing_lock=lock).defer(name=GROUP)
    run_worker(wait=False, install_signal_handlers=False, listen_notify=False)
    statuses = dict(
        ProcrastinateJob.objects.filter(id__in=[stalled, twin]).values_list("id", "status")
    )
    assert statuses == {stalled: "failed", twin: "succeeded"}


def test_the_stalled_job_sweep_is_scheduled_every_minute():
    tasks = app.periodic_registry.periodic_tasks.values()
    periodic = {task.periodic_id: task.cron for task in tasks}
    assert periodic["jobs_retry_stalled"] == "* * * * *"
