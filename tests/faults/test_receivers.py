"""Faults 5, 6 and 7, with real `linli worker` processes and receivers on loopback:

5. a receiver failing 20 times in a few seconds no longer turns its endpoint off, and the
   events recorded meanwhile all reach it once it recovers (before: disabled after 20
   failed attempts in 4.2 s; later events got no delivery and were never sent);
6. one tenant's slow receiver keeps neither another tenant's webhooks nor any notice
   waiting (before: one delivery at a time, no time budget, every queue on two slots);
7. two delivery runs at once never send one delivery twice (before: the 60 s lease was
   shorter than sending one claimed batch).
"""

from __future__ import annotations

import collections
import subprocess
import sys
import time

from tests.faults.conftest import Deployment, wait_until
from tests.tenants.events.test_webhooks import Receiver

SETUP = """
from django.db import transaction
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.events.models import WebhookEndpoint
from tenants.events.services import endpoint_create, event_record

with within(Tenant.objects.get(schema_name=%(tenant)r)):
    WebhookEndpoint.objects.all().delete()
    with transaction.atomic():
        hook = endpoint_create(url=%(url)r, event_types=["resident.erased"],
                               modules=["community"], personal_data=False)
    ids = []
    for n in range(%(events)d):
        with transaction.atomic():
            ids.append(event_record(type="resident.erased", object_id=%(first)d + n,
                                    payload={"resident_id": %(first)d + n}).pk)
result = {"endpoint": hook.pk, "events": ids}
"""

NOTICE = """
from django.db import transaction
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.community.models import Resident
from tenants.notices.services import message_store, preference_set

with within(Tenant.objects.get(schema_name="others")):
    resident = Resident.objects.create(display_name="鄰居")
    preference_set(resident_id=resident.pk, channels=["email"], email="n@example.org")
    with transaction.atomic():
        result = message_store(resident_id=resident.pk, kind="k", subject="s", body="b").pk
"""

MORE = """
from django.db import transaction
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.events.services import event_record

with within(Tenant.objects.get(schema_name="faults")), transaction.atomic():
    result = event_record(type="resident.erased", object_id=%(first)d,
                          payload={"resident_id": %(first)d}).pk
"""

KICK = """
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.events.tasks import webhooks_deliver_soon

with within(Tenant.objects.get(schema_name="faults")):
    result = webhooks_deliver_soon()
"""

RUN = """
from datetime import timedelta
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.events.delivery import deliveries_run

with within(Tenant.objects.get(schema_name="faults")):
    result = deliveries_run(budget=timedelta(seconds=%(budget)s))
"""


def events(deployment: Deployment, tenant: str, url: str, count: int, first: int) -> dict:
    return deployment.script(
        SETUP % {"tenant": tenant, "url": url, "events": count, "first": first}
    )


def statuses(deployment: Deployment, tenant: str) -> dict[str, int]:
    rows = deployment.pg.query(
        f"SELECT status, count(*) FROM {tenant}.events_delivery GROUP BY status"
    )
    return dict(rows)


def test_a_burst_of_failures_keeps_the_endpoint_and_loses_no_event(processes, running_postgres):
    deployment = processes
    receiver = Receiver()
    receiver.script = [500] * 20
    try:
        worker = deployment.start("worker", "worker")
        made = events(deployment, "faults", receiver.url, 20, 1000)
        wait_until("20 failed attempts", lambda: len(receiver.received) >= 20, timeout=60)
        wait_until(
            "the attempts to be recorded",
            lambda: (
                running_postgres.query(
                    "SELECT consecutive_failures FROM faults.events_webhookendpoint WHERE id = %s",
                    [made["endpoint"]],
                )[0][0]
                >= 20
            ),
            timeout=30,
        )
        [(active,)] = running_postgres.query(
            "SELECT active FROM faults.events_webhookendpoint WHERE id = %s", [made["endpoint"]]
        )
        assert active is True  # before: disabled here
        # an event while it fails still gets its delivery
        later = deployment.script(MORE % {"first": 2000})
        assert running_postgres.query(
            "SELECT count(*) FROM faults.events_delivery WHERE event_id = %s", [later]
        ) == [(1,)]
        # the receiver recovers and the retries come due (as after their backoff)
        running_postgres.query("UPDATE faults.events_delivery SET next_attempt_at = now()")
        deployment.script(KICK)
        wait_until(
            "every event to be delivered",
            lambda: statuses(deployment, "faults") == {"succeeded": 21},
            timeout=60,
            watch=[worker],
        )
        assert {r["headers"]["webhook-id"] for r in receiver.received} == {
            f"evt_faults_{e}" for e in [*made["events"], later]
        }
    finally:
        receiver.stop()


def test_a_slow_receiver_keeps_no_other_tenant_waiting(processes, running_postgres):
    deployment = processes
    slow, fast = Receiver(), Receiver()
    original = slow.server.RequestHandlerClass.do_POST

    def three_seconds(handler) -> None:
        time.sleep(3)
        original(handler)

    slow.server.RequestHandlerClass.do_POST = three_seconds
    try:
        worker = deployment.start("worker", "worker")
        events(deployment, "faults", slow.url, 30, 3000)  # 90 s of answers, one at a time
        wait_until("the slow receiver to be busy", lambda: slow.received, timeout=60)
        started = time.monotonic()
        # when: another tenant's event, and a notice to one of its residents
        events(deployment, "others", fast.url, 1, 4000)
        message = deployment.script(NOTICE)
        # then: both go out within seconds, while the slow tenant is still being served
        waited = wait_until("the other tenant's webhook", lambda: fast.received, timeout=30)
        sent = wait_until(
            "the notice",
            lambda: (
                running_postgres.query(
                    "SELECT status FROM others.notices_message WHERE id = %s", [message]
                )
                == [("sent",)]
            ),
            timeout=30,
            watch=[worker],
        )
        assert waited < 10 and sent < 10, (waited, sent)
        assert len(slow.received) < 30
        assert time.monotonic() - started < 30
    finally:
        worker.kill()
        slow.stop()
        fast.stop()


def test_two_delivery_runs_at_once_never_send_one_delivery_twice(processes, running_postgres):
    deployment = processes
    receiver = Receiver()
    original = receiver.server.RequestHandlerClass.do_POST

    def half_a_second(handler) -> None:
        time.sleep(0.5)
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = half_a_second
    try:
        made = events(deployment, "faults", receiver.url, 16, 5000)
        program = "import django; django.setup()\n"
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", program + RUN % {"budget": budget}],
                env={**deployment.env, "DJANGO_SETTINGS_MODULE": "linli.settings"},
                cwd=deployment.tmp,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for budget in (1, 20)  # one runs out of time and frees what it claimed
        ]
        for run in runs:
            run.wait(120)
        deployment.script(RUN % {"budget": 20})  # whatever is left, once more
        ids = collections.Counter(r["headers"]["webhook-id"] for r in receiver.received)
        assert set(ids) == {f"evt_faults_{e}" for e in made["events"]}
        assert max(ids.values()) == 1  # each delivery sent exactly once
        assert statuses(deployment, "faults") == {"succeeded": 16}
    finally:
        receiver.stop()
