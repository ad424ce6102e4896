"""Webhooks to a real HTTP receiver on loopback: signed, retried, ordered per object, logged;
SSRF refused. (Disabling an endpoint that keeps failing: test_disabling.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from linli.errors import ValidationFailed
from tenants.events import services
from tenants.events.delivery import deliveries_run
from tenants.events.http import check_url
from tenants.events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from tenants.events.services import event_record

ROOT = Path(__file__).resolve().parents[3]


def readme_verify() -> Any:
    """The verification helper exactly as the README gives it to integrators."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.S)
    assert block, "the README lost its verification code"
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)  # noqa: S102 - our own README's snippet, under test
    return scope["verify"]


class Receiver:
    """A loopback HTTP server that answers from a script of status codes."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.fail_for: dict[int, int] = {}  # event id -> how many attempts answer 500
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                event_id = json.loads(body)["id"]
                if receiver.fail_for.get(event_id):
                    receiver.fail_for[event_id] -= 1
                    code = 500
                else:
                    code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                if code in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/linli"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.LINLI_WEBHOOK_ALLOW = ["127.0.0.1/32"]
    running = Receiver()
    try:
        yield running
    finally:
        running.stop()


def endpoint(url: str, *types: str, personal: bool = False) -> WebhookEndpoint:
    return services.endpoint_create(
        url=url,
        event_types=list(types),
        modules=["community", "deliberation", "helpteam", "points", "shop"],
        personal_data=personal,
    )


def erased(resident_id: int) -> Event:
    return event_record(
        type="resident.erased", object_id=resident_id, payload={"resident_id": resident_id}
    )


def linli_signature_ok(secret: str, header: str, body: bytes) -> bool:
    """The deprecated ``Linli-Signature``: ``t=<time>,v1=<hex HMAC of "<t>." + body>``."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    signed = f"{parts['t']}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def test_deliveries_arrive_signed_and_the_readme_code_checks_them(in_tenant, receiver):
    hook = endpoint(receiver.url)
    event = erased(7)
    assert deliveries_run() == 1
    [got] = receiver.received
    body, headers = got["body"], got["headers"]
    assert json.loads(body)["id"] == event.pk
    assert json.loads(body)["type"] == "resident.erased"
    assert headers["Linli-Event-Id"] == str(event.pk)
    verify = readme_verify()
    assert verify(hook.secret, headers, body) is True
    tampered = body.replace(b'"resident_id":7', b'"resident_id":8')
    assert tampered != body
    assert verify(hook.secret, headers, tampered) is False
    assert verify("whsec_b3RoZXI=", headers, body) is False
    stale = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 3600)}
    assert verify(hook.secret, stale, body) is False
    assert linli_signature_ok(hook.secret, headers["Linli-Signature"], body)  # deprecated
    delivery = Delivery.objects.get(event=event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


def test_a_500_is_retried_after_the_backoff_and_every_attempt_is_logged(in_tenant, receiver):
    endpoint(receiver.url)
    receiver.script = [500, 503]
    event = erased(1)
    now = timezone.now()
    assert deliveries_run(now=now) == 0
    delivery = Delivery.objects.get(event=event)
    assert delivery.status == "pending"
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    assert deliveries_run(now=now + timedelta(seconds=10)) == 0  # not due yet
    assert len(receiver.received) == 1
    assert deliveries_run(now=now + timedelta(seconds=31)) == 0  # 503
    assert deliveries_run(now=now + timedelta(minutes=5)) == 1  # 200
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    codes = list(
        DeliveryAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)
    )
    assert codes == [500, 503, 200]
    assert {r["headers"]["Linli-Event-Id"] for r in receiver.received} == {str(event.pk)}
    assert [r["headers"]["Linli-Delivery-Attempt"] for r in receiver.received] == ["1", "2", "3"]


def test_an_objects_events_arrive_in_order_even_when_the_first_fails(in_tenant, receiver):
    endpoint(receiver.url)
    first = erased(5)
    other = erased(6)  # another object: not held up
    second = event_record(type="resident.erased", object_id=5, payload={"resident_id": 5})
    receiver.fail_for = {first.pk: 1}  # the first attempt at the first event fails
    now = timezone.now()
    deliveries_run(now=now)
    # the first failed; the second for the same object waits; the other object went through
    assert sorted(e["id"] for e in receiver.events()) == [first.pk, other.pk]
    assert Delivery.objects.get(event=second).attempts == 0
    deliveries_run(now=now + timedelta(minutes=1))
    of_five = [e["id"] for e in receiver.events() if e["object"]["id"] == 5]
    assert of_five == [first.pk, first.pk, second.pk]


def test_redirects_are_not_followed_and_a_day_later_it_gives_up(in_tenant, receiver):
    endpoint(receiver.url)
    receiver.script = [302] * 10
    event = erased(3)
    start = event.occurred_at + timedelta(seconds=1)
    deliveries_run(now=start)
    delivery = Delivery.objects.get(event=event)
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert len(receiver.received) == 1  # the Location was not visited
    deliveries_run(now=start + timedelta(hours=25))
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    services.delivery_redeliver(delivery_id=delivery.pk)
    receiver.script = []
    assert deliveries_run() == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_the_outbox_writes_nothing_when_the_change_rolls_back(in_tenant, receiver):
    from django.db import transaction

    endpoint(receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        erased(9)
        raise RuntimeError("the service failed after recording")
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert deliveries_run() == 0
    assert receiver.received == []


def test_endpoints_get_only_what_they_asked_for_and_may_see(in_tenant, receiver):
    endpoint(receiver.url, "parcel.arrived")
    narrow = services.endpoint_create(
        url=receiver.url, event_types=[], modules=["community"], personal_data=False
    )
    erased(1)
    event_record(
        type="parcel.arrived",
        object_id=1,
        payload={"id": 1, "shop_id": 1, "household_id": 1, "carrier": "順豐", "status": "waiting",
                 "reminders_sent": 0},
        personal={"recipient_name": "徐先生"},
    )  # fmt: skip
    deliveries_run()
    by_endpoint = {
        e: sorted(Delivery.objects.filter(endpoint_id=e).values_list("event__type", flat=True))
        for e in WebhookEndpoint.objects.values_list("pk", flat=True)
    }
    assert by_endpoint[narrow.pk] == ["resident.erased"]
    parcel = next(e for e in receiver.events() if e["type"] == "parcel.arrived")
    assert parcel["personal"] is None  # made without personal_data:read


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/x",
        "http://[::1]/x",
        "http://0.0.0.0/x",
        "https://192.168.1.20/x",
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(in_tenant, url):
    with pytest.raises(ValidationFailed) as caught:
        check_url(url)
    assert caught.value.code == "url_not_public"
    with pytest.raises(ValidationFailed):
        endpoint(url)
    assert not WebhookEndpoint.objects.exists()


def test_bad_urls_are_refused(in_tenant):
    for url, code in [
        ("ftp://example.org/x", "url_invalid"),
        ("http://user:pw@example.org/x", "url_invalid"),
        ("http:///nohost", "url_invalid"),
        ("http://no-such-host.invalid/x", "url_unresolvable"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            check_url(url)
        assert caught.value.code == code, url


def test_an_address_that_turns_private_after_saving_is_refused_at_send(
    in_tenant, receiver, settings
):
    endpoint(receiver.url)
    settings.LINLI_WEBHOOK_ALLOW = []  # as if the name now resolved to loopback
    erased(1)
    assert deliveries_run() == 0
    assert receiver.received == []
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and "public addresses" in attempt.error


def test_a_committed_event_asks_a_worker_to_deliver_once(
    in_tenant, receiver, django_capture_on_commit_callbacks
):
    from procrastinate.contrib.django.models import ProcrastinateJob

    endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        erased(1)
        erased(2)
    jobs = ProcrastinateJob.objects.filter(task_name="tenants.events.tasks.webhooks_deliver")
    # one job queued for the tenant (the queueing lock folds the second request into it)
    assert [(j.args, j.queue_name) for j in jobs] == [({"tenant_schema": "alpha"}, "webhooks")]
