"""Faults 2 and 3: `linli worker` rides out a database outage (before: it quit with status
0), exits non-zero when it truly cannot work, and a worker killed mid-job leaves no job
'doing' forever (before: nothing retried stalled jobs)."""

from __future__ import annotations

import signal
import threading
import time

from tests.faults.conftest import Deployment, wait_until
from tests.tenants.events.test_webhooks import Receiver

GROUP_JOB = """
from linli.jobs.tasks import group_ensure
from linli.registry.models import Tenant

result = group_ensure.defer(tenant=Tenant.objects.get(schema_name="faults"), name=%r)
"""


def beating(deployment: Deployment, since: float) -> bool:
    rows = deployment.pg.query(
        "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > to_timestamp(%s)",
        [since],
    )
    return rows[0][0] > 0


def job_status(deployment: Deployment, job_id: int) -> str:
    return deployment.pg.query("SELECT status FROM procrastinate_jobs WHERE id = %s", [job_id])[0][
        0
    ]


def test_the_worker_waits_out_a_database_outage_and_carries_on(processes, running_postgres):
    deployment = processes
    worker = deployment.start("worker", "worker")
    wait_until(
        "a heartbeat", lambda: beating(deployment, time.time() - 5), timeout=60, watch=[worker]
    )
    # when: PostgreSQL goes away for a few seconds
    running_postgres.stop("fast")
    time.sleep(4)
    assert worker.alive()  # before: "Side task ... failed ... stopping worker", status 0
    running_postgres.start()
    back = time.time()
    recovered = wait_until(
        "the worker to beat again", lambda: beating(deployment, back), timeout=60, watch=[worker]
    )
    # then: it takes jobs again
    job = deployment.script(GROUP_JOB % "after the outage")
    wait_until(
        "the job to run",
        lambda: job_status(deployment, job) == "succeeded",
        timeout=60,
        watch=[worker],
    )
    assert "reconnects" in worker.output()
    assert recovered < 35  # the reconnect backoff is at most 30 s
    # and a stop request still ends it cleanly
    assert worker.stop() == 0


def test_a_worker_that_cannot_work_exits_non_zero(processes, running_postgres):
    deployment = processes
    with running_postgres.connect(dbname="postgres") as conn:
        conn.execute("DROP DATABASE IF EXISTS unmigrated")
        conn.execute("CREATE DATABASE unmigrated")
    worker = deployment.start(
        "worker", "worker", env={"DATABASE_URL": running_postgres.url("unmigrated")}
    )
    status = worker.popen.wait(60)
    assert status != 0
    assert "linli: error:" in worker.output()


STALLED = """
from linli.jobs.tasks import jobs_retry_stalled
result = jobs_retry_stalled.defer(timestamp=0)
"""

DELIVER = """
from django.db import transaction
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.events.models import WebhookEndpoint
from tenants.events.services import endpoint_create, event_record

with within(Tenant.objects.get(schema_name="faults")):
    WebhookEndpoint.objects.all().delete()  # other tests' receivers are gone
    with transaction.atomic():
        endpoint_create(url=%r, event_types=["resident.erased"], modules=["community"],
                        personal_data=False)
    with transaction.atomic():
        result = event_record(type="resident.erased", object_id=4242,
                              payload={"resident_id": 4242}).pk
"""


def test_a_job_left_doing_by_a_killed_worker_runs_again(processes, running_postgres):
    deployment = processes
    receiver = Receiver()
    answer = threading.Event()
    original = receiver.server.RequestHandlerClass.do_POST

    def first_hangs(handler) -> None:
        if not receiver.received:
            handler.rfile.read(int(handler.headers["Content-Length"]))
            receiver.received.append({"headers": dict(handler.headers), "body": b""})
            answer.wait(30)  # no answer: the worker is killed while it waits
            return
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = first_hangs
    try:
        first = deployment.start("worker", "worker")
        event = deployment.script(DELIVER % receiver.url)
        wait_until("the first send", lambda: receiver.received, timeout=60, watch=[first])
        [(job, _status)] = [
            j for j in deployment.jobs("tenants.events.tasks.webhooks_deliver") if j[1] == "doing"
        ]
        first.popen.send_signal(signal.SIGKILL)  # killed mid-job
        first.popen.wait(10)
        answer.set()
        assert job_status(deployment, job) == "doing"
        # time passes: its heartbeat is old, and its delivery lease has run out
        running_postgres.query(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '10 minutes' "
            "RETURNING id"
        )
        running_postgres.query(
            "UPDATE faults.events_delivery SET locked_until = now() - interval '1 second' "
            "WHERE event_id = %s RETURNING id",
            [event],
        )
        second = deployment.start("worker", "worker")
        deployment.script(STALLED)  # what the minutely schedule defers
        # then: it runs again, or, when the same work already waits (its queueing lock),
        # it is closed and the waiting twin does the work
        wait_until(
            "the stalled job to leave 'doing'",
            lambda: job_status(deployment, job) in ("succeeded", "failed"),
            timeout=60,
            watch=[second],
        )
        wait_until("the event to be delivered", lambda: len(receiver.received) == 2, timeout=30)
        ids = {r["headers"]["webhook-id"] for r in receiver.received}
        assert ids == {f"evt_faults_{event}"}  # the same message, at least once
        delivered = deployment.pg.query(
            "SELECT status FROM faults.events_delivery WHERE event_id = %s", [event]
        )
        assert delivered == [("succeeded",)]
        tasks = deployment.jobs("tenants.events.tasks.webhooks_deliver")
        assert not [j for j in tasks if j[1] == "doing"]
        assert second.stop() == 0
    finally:
        answer.set()
        receiver.stop()
