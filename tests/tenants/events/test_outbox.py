"""The outbox over real, committed transactions: the feed never skips an event that commits
late, and a worker killed mid-delivery leaves the delivery to be sent again.

These tests commit, in a tenant of their own that is dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.models import Tenant
from linli.registry.services import tenant_create, tenant_delete
from tenants.events import services
from tenants.events.delivery import deliveries_run
from tenants.events.models import Delivery, DeliveryAttempt
from tenants.events.selectors import events_feed
from tenants.events.services import event_record
from tests.tenants.events.test_webhooks import Receiver

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def outbox_tenant(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        tenant = tenant_create(slug="outbox_test", name="Outbox", status="active")
        try:
            yield tenant
        finally:
            connection.close()
            tenant_delete(slug="outbox_test")


def erased(resident_id: int):
    return event_record(
        type="resident.erased", object_id=resident_id, payload={"resident_id": resident_id}
    )


def feed_ids(tenant: Tenant) -> list[int]:
    """What a reader on a connection of its own sees."""
    seen: list[int] = []

    def read() -> None:
        try:
            with tenant_context(tenant):
                seen.extend(e.pk for e in events_feed(modules={"community"}))
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return seen


def test_the_feed_waits_for_an_earlier_transaction_instead_of_skipping_it(outbox_tenant):
    first_written = threading.Event()
    release = threading.Event()
    ids: dict[str, int] = {}

    def slow_writer() -> None:
        try:
            with tenant_context(outbox_tenant), transaction.atomic():
                ids["slow"] = erased(1).pk
                first_written.set()
                release.wait(10)
        finally:
            connection.close()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert first_written.wait(10)
    with tenant_context(outbox_tenant), transaction.atomic():
        ids["quick"] = erased(2).pk  # a later id, committed first
    assert ids["quick"] > ids["slow"]
    # the quick event is committed, but an older transaction is still open: not yet shown
    assert feed_ids(outbox_tenant) == []
    release.set()
    slow.join()
    # The feed waits for every older transaction on the server, so another session's
    # open transaction (a parallel test run) delays it too: wait for it, boundedly.
    deadline = time.monotonic() + 60
    shown = feed_ids(outbox_tenant)
    while shown != [ids["slow"], ids["quick"]] and time.monotonic() < deadline:
        time.sleep(0.5)
        shown = feed_ids(outbox_tenant)
    assert shown == [ids["slow"], ids["quick"]]


def _database_url() -> str:
    db = connection.settings_dict
    host = quote(str(db["HOST"]), safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(str(db['PASSWORD']), safe='')}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{host}{port}/{db['NAME']}"


WORKER = """
import sys
from linli.registry.models import Tenant
from linli.registry.context import within
from tenants.events.delivery import deliveries_run
with within(Tenant.objects.get(schema_name="outbox_test")):
    deliveries_run()
"""


def test_a_worker_killed_mid_delivery_leaves_it_to_be_sent_again(outbox_tenant, settings):
    settings.LINLI_WEBHOOK_ALLOW = ["127.0.0.1/32"]
    receiver = Receiver()
    hang = threading.Event()
    original = receiver.server.RequestHandlerClass.do_POST

    def first_hangs(handler) -> None:
        if not receiver.received:
            handler.rfile.read(int(handler.headers["Content-Length"]))
            receiver.received.append({"headers": dict(handler.headers), "body": b""})
            hang.wait(30)  # never answers: the worker is killed while waiting
            return
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = first_hangs
    try:
        with tenant_context(outbox_tenant):
            with transaction.atomic():
                services.endpoint_create(
                    url=receiver.url, event_types=[], modules=["community"], personal_data=False
                )
            with transaction.atomic():
                event = erased(42)
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "LINLI_WEBHOOK_ALLOW": "127.0.0.1/32",
            "PYTHONPATH": f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
            "DJANGO_SETTINGS_MODULE": "linli.settings",
        }
        worker = subprocess.Popen(
            [sys.executable, "-c", "import django; django.setup()\n" + WORKER],
            env=env,
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline:
            if worker.poll() is not None:
                pytest.fail(f"worker ended early: {worker.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        assert receiver.received, "the worker never sent"
        worker.kill()  # mid-delivery: the request is out, no answer recorded
        worker.wait(10)
        hang.set()
        with tenant_context(outbox_tenant):
            delivery = Delivery.objects.get(event_id=event.pk)
            assert (delivery.status, delivery.attempts) == ("pending", 0)
            assert delivery.locked_until is not None  # leased by the dead worker
            assert deliveries_run() == 0  # the lease still holds
            assert deliveries_run(now=timezone.now() + timedelta(minutes=2)) == 1
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempts) == ("succeeded", 1)
            assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1
        ids = {r["headers"]["Linli-Event-Id"] for r in receiver.received}
        assert ids == {str(event.pk)} and len(receiver.received) == 2  # at least once
    finally:
        hang.set()
        receiver.stop()
