"""An endpoint is turned off by time, not by a burst: only after failing every attempt for a
day. Nothing is dropped meanwhile: what it misses is held and sent when it is back on, or
expired after the hold window, and any event can be sent to it again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from tenants.events import services
from tenants.events.delivery import DISABLE_AFTER, deliveries_run
from tenants.events.models import Delivery, Event, WebhookEndpoint
from tenants.events.services import HOLD_FOR, event_record
from tenants.events.tasks import webhook_disabled_tell
from tests.tenants.events.test_webhooks import endpoint, erased, receiver  # noqa: F401


def fail_for(hook: WebhookEndpoint, span: timedelta, *, start) -> None:
    """Attempt whatever is due every 30 minutes over ``span`` (the receiver fails)."""
    at = start
    while at <= start + span:
        deliveries_run(now=at)
        at += timedelta(minutes=30)


def test_a_burst_of_failures_does_not_turn_an_endpoint_off(in_tenant, receiver):  # noqa: F811
    hook = endpoint(receiver.url)
    receiver.script = [500] * 30
    for n in range(30):
        erased(100 + n)  # distinct objects: nothing waits on ordering
    deliveries_run()
    hook.refresh_from_db()
    assert hook.active is True
    assert hook.consecutive_failures == 30 and hook.failing_since is not None
    assert Delivery.objects.filter(status="pending").count() == 30


def test_a_success_starts_the_failing_clock_again(in_tenant, receiver):  # noqa: F811
    hook = endpoint(receiver.url)
    receiver.script = [500, 200]
    erased(1)
    start = timezone.now()
    deliveries_run(now=start)
    deliveries_run(now=start + timedelta(minutes=1))
    hook.refresh_from_db()
    assert (hook.consecutive_failures, hook.failing_since) == (0, None)


def test_failing_for_a_day_turns_it_off_and_a_job_tells_the_admins(
    in_tenant,
    receiver,  # noqa: F811
):
    get_user_model().objects.filter(is_superuser=True).update(email="admin@alpha.example")
    hook = endpoint(receiver.url)
    receiver.script = [500] * 100
    event = erased(1)
    start = event.occurred_at
    fail_for(hook, DISABLE_AFTER - timedelta(hours=1), start=start)
    hook.refresh_from_db()
    assert hook.active is True  # 23 hours of failures: still on
    fail_for(hook, timedelta(hours=3), start=start + DISABLE_AFTER - timedelta(minutes=30))
    hook.refresh_from_db()
    assert hook.active is False
    assert "every attempt failed for 24 hours" in hook.disabled_reason
    # the admins are told by a job written with the change, not after it
    [job] = ProcrastinateJob.objects.filter(task_name=webhook_disabled_tell.name)
    assert job.args == {"tenant_schema": "alpha", "endpoint_id": hook.pk}
    assert webhook_disabled_tell.func(endpoint_id=hook.pk) == 1
    [message] = mail.outbox
    assert message.to == ["admin@alpha.example"] and hook.url in message.body


def test_what_an_endpoint_misses_while_off_is_held_then_sent_when_it_is_back(
    in_tenant,
    receiver,  # noqa: F811
):
    hook = endpoint(receiver.url)
    receiver.script = [500]
    before = erased(1)
    deliveries_run()
    WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False, disabled_at=timezone.now())
    # when: events happen while it is off
    during = [erased(n) for n in (2, 3, 4)]
    # then: each has its delivery, held (nothing is sent)
    held = Delivery.objects.filter(event__in=during)
    assert sorted(held.values_list("status", flat=True)) == ["pending"] * 3
    assert set(held.values_list("retry_until", flat=True)) == {None}
    assert deliveries_run(now=timezone.now() + timedelta(hours=2)) == 0
    assert len(receiver.received) == 1
    # when: it is turned on again, everything it missed goes out, with a new day of retries
    services.endpoint_update(endpoint_id=hook.pk, active=True)
    assert deliveries_run() == 4
    sent = sorted(e["id"] for e in receiver.events())  # different objects: in parallel
    assert sent == sorted([before.pk, before.pk] + [e.pk for e in during])
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_paused_endpoint_holds_too(in_tenant, receiver):  # noqa: F811
    hook = endpoint(receiver.url)
    services.endpoint_update(endpoint_id=hook.pk, active=False)
    event = erased(5)
    assert deliveries_run() == 0
    services.endpoint_update(endpoint_id=hook.pk, active=True)
    assert deliveries_run() == 1
    assert [e["id"] for e in receiver.events()] == [event.pk]


def test_held_past_the_window_they_expire_and_can_still_be_sent_again(
    in_tenant,
    receiver,  # noqa: F811
):
    hook = endpoint(receiver.url)
    services.endpoint_update(endpoint_id=hook.pk, active=False)
    old, recent = erased(1), erased(2)
    Event.objects.filter(pk=old.pk).update(
        occurred_at=timezone.now() - HOLD_FOR - timedelta(hours=1)
    )
    services.endpoint_update(endpoint_id=hook.pk, active=True)
    expired = Delivery.objects.get(event=old)
    assert (expired.status, expired.last_error) == ("expired", services.HELD_TOO_LONG)
    assert deliveries_run() == 1
    assert [e["id"] for e in receiver.events()] == [recent.pk]
    services.delivery_redeliver(delivery_id=expired.pk)
    assert deliveries_run() == 1
    assert [e["id"] for e in receiver.events()] == [recent.pk, old.pk]


def test_the_sweep_expires_what_a_disabled_endpoint_held_too_long(in_tenant, receiver):  # noqa: F811
    hook = endpoint(receiver.url)
    services.endpoint_update(endpoint_id=hook.pk, active=False)
    event = erased(1)
    Event.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - HOLD_FOR * 2)
    assert services.deliveries_expire_held() == 1
    assert Delivery.objects.get(event=event).status == "expired"


def test_any_event_can_be_sent_to_an_endpoint_made_after_it(in_tenant, receiver):  # noqa: F811
    event = erased(7)
    parcel = event_record(
        type="parcel.arrived",
        object_id=1,
        payload={"id": 1, "shop_id": 1, "household_id": 1, "carrier": "順豐",
                 "status": "waiting", "reminders_sent": 0},
    )  # fmt: skip
    hook = services.endpoint_create(
        url=receiver.url, event_types=[], modules=["community"], personal_data=False
    )
    assert not Delivery.objects.exists()
    delivery = services.event_redeliver(event_id=event.pk, endpoint_id=hook.pk)
    assert delivery.status == "pending"
    assert deliveries_run() == 1
    assert [e["id"] for e in receiver.events()] == [event.pk]
    # an event of a module the endpoint may not see is not found, as if it did not exist
    with pytest.raises(services.NotFound):
        services.event_redeliver(event_id=parcel.pk, endpoint_id=hook.pk)
