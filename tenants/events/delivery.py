"""Delivering webhooks: at least once, in order per object, with backoff for 24 hours.

An endpoint that has failed every attempt for 24 hours (at least 10 attempts) is turned
off and the tenant's admins are told (by a job deferred in the same transaction).
Nothing is dropped: its
deliveries stay pending and new events still get theirs, held until it is turned on again
(then sent, with a fresh day of retries), or expired once older than the hold window
(``tenants.events.services.HOLD_FOR``, 7 days).

A run claims due deliveries with ``FOR UPDATE SKIP LOCKED`` and leases them in a short
transaction of its own, sends outside any transaction, then records the outcomes. It is
bounded: it starts no send after ``RUN_BUDGET``, each send ends within the HTTP deadline
(``tenants.events.http.DEADLINE_SECONDS``), and what it claimed but had no time for is
released at once, so the lease (``LEASE``) outlasts any claim and no other run sends the
same delivery meanwhile. Sends run in parallel (``SENDS_AT_ONCE``), at most
``PER_ENDPOINT`` at a time to one endpoint, and a round claims at most
``PER_ENDPOINT_CLAIM`` deliveries of one endpoint, so one slow receiver shares the run
with the tenant's others. One run per tenant at a time (the job's lock), in worker slots
of their own, so one tenant's slow receiver never holds up the others or the notices.

A worker that dies mid-send leaves the lease to run out and the next run sends again
(receivers de-duplicate by the event id). A delivery waits while an earlier one for the
same object to the same endpoint is pending, so each receiver sees an object's events in
the order they happened.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone, translation

from linli import clock
from tenants.events.http import (
    DEADLINE_SECONDS,
    SIGNATURE_HEADER,
    Outcome,
    post,
    sign,
    standard_headers,
)
from tenants.events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from tenants.events.services import RETRY_FOR

logger = logging.getLogger("linli.webhooks")

# A run starts no send after this; each send ends within the HTTP deadline; the lease is
# longer than both together, with room to spare.
RUN_BUDGET = timedelta(seconds=20)
LEASE = 2 * (RUN_BUDGET + timedelta(seconds=DEADLINE_SECONDS))
SENDS_AT_ONCE = 4
PER_ENDPOINT = 2
PER_ENDPOINT_CLAIM = 10
# Turned off after failing every attempt for a day, and at least as many attempts as one
# delivery's backoff makes in that day: a burst of failures, or two failures a day apart,
# is not a receiver that is gone.
DISABLE_AFTER = timedelta(hours=24)
DISABLE_MIN_ATTEMPTS = 10
BACKOFF = [timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 7200, 14400)]


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 30 s, 2 min, 10 min, 30 min, 1 h, 2 h,
    then every 4 h until the event is a day old."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def event_body(event: Event, *, personal: bool) -> dict[str, Any]:
    return {
        "id": event.pk,
        "type": event.type,
        "version": event.version,
        "occurred_at": clock.iso(event.occurred_at),
        "object": {"type": event.object_type, "id": event.object_id},
        "data": event.payload,
        "personal": event.personal if personal else None,
    }


_CLAIM = """
    WITH due AS (
      SELECT d.id, row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.event_id) AS nth
      FROM events_delivery d
      JOIN events_webhookendpoint e ON e.id = d.endpoint_id AND e.active
      WHERE d.status = 'pending' AND d.next_attempt_at <= %(now)s
        AND (d.locked_until IS NULL OR d.locked_until < %(now)s)
        AND NOT d.endpoint_id = ANY(%(busy)s)
        AND NOT EXISTS (
          SELECT 1 FROM events_delivery p
          WHERE p.endpoint_id = d.endpoint_id AND p.object_key = d.object_key
            AND p.status = 'pending' AND p.event_id < d.event_id)
    )
    SELECT d.id FROM events_delivery d
    WHERE d.id IN (SELECT id FROM due WHERE nth <= %(per_endpoint)s)
      AND d.status = 'pending' AND (d.locked_until IS NULL OR d.locked_until < %(now)s)
    ORDER BY d.event_id
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
"""


def _claim(now: datetime, limit: int, busy: Iterable[int] = ()) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries, at most ``PER_ENDPOINT_CLAIM`` per endpoint,
    none of the ``busy`` endpoints' (this run still holds some of theirs)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _CLAIM,
                {
                    "now": now,
                    "limit": limit,
                    "per_endpoint": PER_ENDPOINT_CLAIM,
                    "busy": list(busy),
                },
            )
            ids = [row[0] for row in cursor.fetchall()]
        Delivery.objects.filter(pk__in=ids).update(locked_until=now + LEASE)
    return list(
        Delivery.objects.filter(pk__in=ids).select_related("event", "endpoint").order_by("event_id")
    )


@dataclass
class Run:
    """What one run did: how many it delivered, and whether it stopped with work left."""

    delivered: int = 0
    more_due: bool = False


def deliveries_run(
    *, now: datetime | None = None, limit: int = 50, budget: timedelta = RUN_BUDGET
) -> int:
    """Send what is due for at most ``budget``; returns how many were delivered."""
    return deliveries_run_bounded(now=now, limit=limit, budget=budget).delivered


def deliveries_run_bounded(
    *, now: datetime | None = None, limit: int = 50, budget: timedelta = RUN_BUDGET
) -> Run:
    """Send what is due, ``SENDS_AT_ONCE`` in parallel and at most ``PER_ENDPOINT`` to one
    endpoint, each outcome recorded as it comes (here: the threads only speak HTTP), and
    more claimed for the endpoints that have run out, until nothing is due or the budget
    ends; then what was claimed and not sent is freed at once."""
    run = Run()
    ends = time.monotonic() + budget.total_seconds()
    language = translation.get_language()
    queues: dict[int, deque[Delivery]] = defaultdict(deque)
    flying: dict[Future[Outcome], tuple[Delivery, datetime]] = {}
    per_endpoint: Counter[int] = Counter()
    nothing_due = False

    schema = str(getattr(connection, "schema_name", "public"))  # the threads name no tenant

    def send(delivery: Delivery) -> Outcome:
        with translation.override(language):  # errors are logged in the run's language
            return _send(delivery, schema)

    with ThreadPoolExecutor(SENDS_AT_ONCE, thread_name_prefix="webhook") as pool:
        while True:
            in_time = time.monotonic() < ends
            # claim more when what is queued cannot fill the free threads (its endpoints
            # are at their cap): for the other endpoints
            ready = sum(
                min(len(queue), PER_ENDPOINT - per_endpoint[endpoint])
                for endpoint, queue in queues.items()
            )
            if in_time and not nothing_due and ready + len(flying) < SENDS_AT_ONCE:
                at = now or timezone.now()
                busy = [endpoint for endpoint, queue in queues.items() if queue]
                claimed = _claim(at, limit, busy)
                nothing_due = not claimed and not flying
                for delivery in claimed:
                    queues[delivery.endpoint_id].append(delivery)
                    delivery.claimed_at = at  # type: ignore[attr-defined]
            if in_time:
                for endpoint, queue in queues.items():
                    while queue and per_endpoint[endpoint] < PER_ENDPOINT:
                        if len(flying) >= SENDS_AT_ONCE:
                            break
                        delivery = queue.popleft()
                        per_endpoint[endpoint] += 1
                        flying[pool.submit(send, delivery)] = (delivery, delivery.claimed_at)  # type: ignore[attr-defined]
            if not flying:
                break
            done, _pending = wait(flying, return_when=FIRST_COMPLETED)
            for future in done:
                delivery, at = flying.pop(future)
                per_endpoint[delivery.endpoint_id] -= 1
                run.delivered += _record(delivery.pk, future.result(), at, delivery.locked_until)
            nothing_due = False if done else nothing_due
    unsent = [delivery.pk for queue in queues.values() for delivery in queue]
    if unsent:  # the budget ran out: free them for the next run now
        Delivery.objects.filter(pk__in=unsent, status=Delivery.Status.PENDING).update(
            locked_until=None
        )
    run.more_due = bool(unsent) or not nothing_due
    return run


def message_id(schema: str, event_id: int) -> str:
    """The Standard Webhooks ``webhook-id``: the same for every attempt and redelivery of an
    event, and unique across tenants (event ids are per tenant)."""
    return f"evt_{schema}_{event_id}"


def _send(delivery: Delivery, schema: str) -> Outcome:
    endpoint, event = delivery.endpoint, delivery.event
    body = json.dumps(
        event_body(event, personal=endpoint.personal_data),
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    timestamp = int(timezone.now().timestamp())
    return post(
        endpoint.url,
        body=body,
        headers={
            **standard_headers(
                secret=endpoint.secret,
                message_id=message_id(schema, event.pk),
                timestamp=timestamp,
                body=body,
            ),
            SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
            "Linli-Event-Id": str(event.pk),
            "Linli-Event-Type": event.type,
            "Linli-Delivery-Attempt": str(delivery.attempts + 1),
        },
    )


@transaction.atomic
def _record(delivery_id: int, outcome: Outcome, now: datetime, lease: datetime | None) -> int:
    delivery = Delivery.objects.select_for_update().select_related("event").get(pk=delivery_id)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        error=outcome.error,
    )
    if delivery.status != Delivery.Status.PENDING or delivery.locked_until != lease:
        # no longer ours (redelivered, or claimed again): the attempt is logged, the state
        # belongs to whoever holds it now
        return 1 if outcome.ok else 0
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.locked_until = None
    if outcome.ok:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.delivered_at = timezone.now()
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
    else:
        endpoint.consecutive_failures += 1
        endpoint.failing_since = endpoint.failing_since or now
        until = delivery.retry_until or delivery.event.occurred_at + RETRY_FOR
        if now >= until:
            delivery.status = Delivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
        if (
            endpoint.active
            and now - endpoint.failing_since >= DISABLE_AFTER
            and endpoint.consecutive_failures >= DISABLE_MIN_ATTEMPTS
        ):
            _disable(endpoint, outcome, now)
    delivery.save()
    endpoint.save(
        update_fields=[
            "consecutive_failures",
            "failing_since",
            "active",
            "disabled_at",
            "disabled_reason",
        ]
    )
    return 1 if outcome.ok else 0


def _disable(endpoint: WebhookEndpoint, outcome: Outcome, now: datetime) -> None:
    """Turn the endpoint off, and have the admins told by a job deferred in this same
    transaction: the endpoint is off and they hear of it, or neither."""
    from tenants.events.tasks import webhook_disabled_tell

    endpoint.active = False
    endpoint.disabled_at = now
    reason = outcome.error or f"HTTP {outcome.status_code}"
    endpoint.disabled_reason = (
        f"every attempt failed for {DISABLE_AFTER.total_seconds() / 3600:.0f} hours "
        f"({endpoint.consecutive_failures} attempts); last: {reason}"
    )[:255]
    logger.warning("webhook endpoint %s disabled: %s", endpoint.url, endpoint.disabled_reason)
    tenant = getattr(connection, "tenant", None)
    if tenant is not None:
        webhook_disabled_tell.defer(tenant=tenant, endpoint_id=endpoint.pk)


def disabled_endpoint_tell(*, endpoint_id: int) -> int:
    """Email the tenant's admins that an endpoint was turned off; how many were told."""
    from django.contrib.auth import get_user_model

    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, active=False).first()
    if endpoint is None:  # deleted, or already back on
        return 0
    admins = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not admins:
        return 0
    name = getattr(getattr(connection, "tenant", None), "name", "")
    send_mail(
        subject=f"[Linli] {name}: webhook endpoint disabled",
        message=(
            f"The webhook endpoint {endpoint.url} was disabled: {endpoint.disabled_reason}.\n"
            "Its deliveries, and those of events from now on, are held for 7 days: turn the "
            "endpoint back on in the admin or the API once the receiver is fixed, and they "
            "are sent. Older ones can be sent again from the delivery log."
        ),
        from_email=None,
        recipient_list=admins,
    )
    return len(admins)
