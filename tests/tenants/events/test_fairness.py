"""Delivery runs are bounded and fair: a time budget per run, what it had no time for freed
at once, a lease longer than any claim, parallel sends with a cap per endpoint, one run per
tenant at a time, and a sweep that only queues runs, tenant by tenant."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from tenants.events import delivery as delivery_module
from tenants.events.delivery import (
    LEASE,
    PER_ENDPOINT,
    RUN_BUDGET,
    deliveries_run_bounded,
)
from tenants.events.http import DEADLINE_SECONDS
from tenants.events.models import Delivery
from tenants.events.tasks import webhooks_deliver, webhooks_sweep_everywhere
from tests.tenants.events.test_webhooks import Receiver, endpoint, erased, receiver  # noqa: F401


def slow(target, seconds):
    """Make the receiver take ``seconds`` per answer, and count the requests at once."""
    original = target.server.RequestHandlerClass.do_POST
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def do_post(handler) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(seconds)
        try:
            original(handler)
        finally:
            with lock:
                state["now"] -= 1

    target.server.RequestHandlerClass.do_POST = do_post
    target.concurrency = state


def test_the_lease_outlasts_the_longest_a_run_can_hold_a_claim():
    assert timedelta(seconds=DEADLINE_SECONDS) + RUN_BUDGET < LEASE


def test_a_run_keeps_to_its_budget_and_frees_what_it_had_no_time_for(in_tenant, receiver):  # noqa: F811
    endpoint(receiver.url)
    slow(receiver, 0.4)
    for n in range(20):
        erased(n)
    started = time.monotonic()
    run = deliveries_run_bounded(budget=timedelta(seconds=1))
    took = time.monotonic() - started
    assert took < 1 + DEADLINE_SECONDS
    assert 0 < run.delivered < 20 and run.more_due
    left = Delivery.objects.filter(status="pending")
    assert left.count() == 20 - run.delivered
    assert set(left.values_list("locked_until", flat=True)) == {None}  # free for the next run
    # at most PER_ENDPOINT requests to one endpoint at a time
    assert receiver.concurrency["most"] <= PER_ENDPOINT


def test_a_slow_receiver_shares_the_run_with_the_tenants_other_endpoints(in_tenant, receiver):  # noqa: F811
    fast = Receiver()
    try:
        endpoint(receiver.url)
        endpoint(fast.url)
        slow(receiver, 1.0)
        for n in range(12):
            erased(n)
        run = deliveries_run_bounded(budget=timedelta(seconds=2))
        assert len(fast.received) == 12  # all of the fast one's, in the same run
        assert len(receiver.received) < 12 and run.more_due
    finally:
        fast.stop()


def test_a_run_that_ran_out_of_time_queues_the_next_behind_other_tenants(
    in_tenant,
    receiver,  # noqa: F811
    monkeypatch,
):
    endpoint(receiver.url)
    slow(receiver, 0.3)
    for n in range(10):
        erased(n)
    bounded = delivery_module.deliveries_run_bounded
    monkeypatch.setattr(
        delivery_module,
        "deliveries_run_bounded",
        lambda: bounded(budget=timedelta(seconds=0.5)),  # a short budget, as if slow
    )
    webhooks_deliver.func()
    [job] = ProcrastinateJob.objects.filter(task_name=webhooks_deliver.name, status="todo")
    assert (job.lock, job.queueing_lock) == ("webhooks:alpha", "webhooks:alpha")
    assert job.queue_name == "webhooks"


def test_the_sweep_only_queues_a_run_per_tenant_with_something_due(in_tenant, receiver):  # noqa: F811
    endpoint(receiver.url)
    erased(1)
    erased(2)
    queued = webhooks_sweep_everywhere(timestamp=0)
    assert queued == 1
    assert receiver.received == []  # the sweep sends nothing itself
    jobs = ProcrastinateJob.objects.filter(task_name=webhooks_deliver.name)
    assert [(j.args, j.lock) for j in jobs] == [({"tenant_schema": "alpha"}, "webhooks:alpha")]
    # nothing due in the future: nothing queued
    Delivery.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))
    ProcrastinateJob.objects.all().delete()
    assert webhooks_sweep_everywhere(timestamp=0) == 0


def test_an_outcome_for_a_delivery_no_longer_ours_only_logs_the_attempt(in_tenant, receiver):  # noqa: F811
    from tenants.events.http import Outcome
    from tenants.events.services import delivery_redeliver

    endpoint(receiver.url)
    event = erased(1)
    [claimed] = delivery_module._claim(timezone.now(), 10)
    delivery_redeliver(delivery_id=claimed.pk)  # someone pressed "send again" meanwhile
    delivery_module._record(claimed.pk, Outcome(500, 10), timezone.now(), claimed.locked_until)
    row = Delivery.objects.get(event=event)
    assert (row.status, row.attempts, row.locked_until) == ("pending", 0, None)
    assert row.log.count() == 1  # the attempt is in the log all the same
