"""Recording events (inside the caller's transaction) and managing webhook endpoints."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.errors import NotFound, ValidationFailed
from tenants.audit.services import audit_record
from tenants.events.catalogue import CATALOGUE, Payload
from tenants.events.models import Delivery, Event, WebhookEndpoint

MAX_ENDPOINTS = 20
# A delivery is retried (with backoff) for a day from when it can first be sent.
RETRY_FOR = timedelta(hours=24)
# What an endpoint that is off misses is kept this long, to be sent when it is back.
HOLD_FOR = timedelta(days=7)
HELD_TOO_LONG = "held longer than 7 days while the endpoint was off"


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


def event_record(
    *,
    type: str,  # noqa: A002 - the event's type, as integrators see it
    object_id: int,
    payload: dict[str, Any],
    personal: dict[str, Any] | None = None,
) -> Event:
    """Write the event, and a delivery for each endpoint that wants it, in the caller's
    transaction: if that rolls back, neither exists. Delivery starts after commit. An
    endpoint that is off gets its delivery too, held until it is turned on again."""
    kind = CATALOGUE[type]
    checked: Payload = kind.schema.model_validate(payload)
    event = Event.objects.create(
        type=type,
        version=kind.version,
        module=kind.module,
        object_type=type.split(".", 1)[0],
        object_id=object_id,
        payload=_jsonable(checked.model_dump(mode="json")),
        personal=_jsonable(personal or {}),
    )
    # One statement: a delivery for every endpoint that wants this event; retried for a
    # day from now, or held (no window yet) while its endpoint is off.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_delivery
              (endpoint_id, event_id, object_key, status, attempts, next_attempt_at,
               retry_until, last_error, created_at)
            SELECT id, %(event)s, %(key)s, 'pending', 0, now(),
                   CASE WHEN active THEN now() + make_interval(secs => %(window)s) END,
                   '', now()
            FROM events_webhookendpoint
            WHERE %(module)s = ANY(modules)
              AND (cardinality(event_types) = 0 OR %(type)s = ANY(event_types))
            RETURNING retry_until IS NOT NULL
            """,
            {
                "event": event.pk,
                "key": f"{event.object_type}:{object_id}",
                "module": kind.module,
                "type": type,
                "window": RETRY_FOR.total_seconds(),
            },
        )
        if any(sendable for (sendable,) in cursor.fetchall()):
            transaction.on_commit(_kick_delivery)
    return event


def _kick_delivery() -> None:
    """Ask a worker to deliver now; the minutely sweep delivers anyway if this is lost."""
    from tenants.events.tasks import webhooks_deliver_soon

    webhooks_deliver_soon()


# --- endpoints -------------------------------------------------------------------------------


def _check_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(CATALOGUE))
    if unknown:
        raise ValidationFailed(
            _("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)},
            code="event_type_invalid",
            field="event_types",
        )
    return sorted(set(event_types))


@transaction.atomic
def endpoint_create(
    *,
    url: str,
    event_types: list[str],
    modules: list[str],
    personal_data: bool,
    description: str = "",
) -> WebhookEndpoint:
    from tenants.events.http import check_url

    check_url(url)
    if WebhookEndpoint.objects.count() >= MAX_ENDPOINTS:
        raise ValidationFailed(
            _("A tenant has at most %(max)s webhook endpoints.") % {"max": MAX_ENDPOINTS},
            code="too_many_endpoints",
        )
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=_check_types(event_types),
        modules=sorted(set(modules)),
        personal_data=personal_data,
        description=description.strip()[:200],
    )
    audit_record(action="webhook.created", obj=endpoint)
    return endpoint


def _endpoint_for_update(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(
            _("No webhook endpoint %(id)s.") % {"id": endpoint_id}, code="endpoint_not_found"
        )
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    endpoint_id: int,
    url: str | None = None,
    event_types: list[str] | None = None,
    active: bool | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    from tenants.events.http import check_url

    endpoint = _endpoint_for_update(endpoint_id)
    if url is not None:
        check_url(url)
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = _check_types(event_types)
    if description is not None:
        endpoint.description = description.strip()[:200]
    turned_on = active is True and not endpoint.active
    if active is not None:
        endpoint.active = active
        if active:  # turned back on: a fresh start
            endpoint.consecutive_failures, endpoint.disabled_at = 0, None
            endpoint.failing_since, endpoint.disabled_reason = None, ""
    endpoint.save()
    audit_record(action="webhook.updated", obj=endpoint)
    if turned_on:
        deliveries_release_held(endpoint_id=endpoint.pk)
    return endpoint


def deliveries_expire_held(*, endpoint_id: int | None = None) -> int:
    """Held deliveries whose event is older than the hold window are expired (kept in the
    log, and can be sent again on request)."""
    held = Delivery.objects.filter(
        status=Delivery.Status.PENDING,
        retry_until__isnull=True,
        event__occurred_at__lt=timezone.now() - HOLD_FOR,
    )
    if endpoint_id is not None:
        held = held.filter(endpoint_id=endpoint_id)
    return held.update(status=Delivery.Status.EXPIRED, last_error=HELD_TOO_LONG)


@transaction.atomic
def deliveries_release_held(*, endpoint_id: int) -> int:
    """An endpoint is on again: what it missed within the hold window, and what was still
    to be retried, goes out now, each with a new day of retries."""
    deliveries_expire_held(endpoint_id=endpoint_id)
    now = timezone.now()
    released = Delivery.objects.filter(
        endpoint_id=endpoint_id, status=Delivery.Status.PENDING
    ).update(next_attempt_at=now, retry_until=now + RETRY_FOR, locked_until=None)
    if released:
        transaction.on_commit(_kick_delivery)
    return released


@transaction.atomic
def endpoint_delete(*, endpoint_id: int) -> None:
    endpoint = _endpoint_for_update(endpoint_id)
    audit_record(action="webhook.deleted", obj=endpoint)
    endpoint.delete()


@transaction.atomic
def endpoint_roll_secret(*, endpoint_id: int) -> WebhookEndpoint:
    from tenants.events.models import webhook_secret

    endpoint = _endpoint_for_update(endpoint_id)
    endpoint.secret = webhook_secret()
    endpoint.save(update_fields=["secret"])
    audit_record(action="webhook.secret_rolled", obj=endpoint)
    return endpoint


@transaction.atomic
def delivery_redeliver(*, delivery_id: int) -> Delivery:
    """Send again now (after a fix on the receiver's side), whatever happened before
    (succeeded, failed, expired), with a new day of retries; held if the endpoint is off."""
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(_("No delivery %(id)s.") % {"id": delivery_id}, code="delivery_not_found")
    return _send_again(delivery)


def _send_again(delivery: Delivery) -> Delivery:
    now = timezone.now()
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = now
    delivery.retry_until = now + RETRY_FOR
    delivery.locked_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "retry_until", "locked_until"])
    audit_record(action="webhook.redelivered", obj=delivery)
    transaction.on_commit(_kick_delivery)
    return delivery


@transaction.atomic
def event_redeliver(*, event_id: int, endpoint_id: int) -> Delivery:
    """Send any event the endpoint may see to it now, also one it never had a delivery
    for (it was made later, or asked for other types then)."""
    endpoint = _endpoint_for_update(endpoint_id)
    event = Event.objects.filter(pk=event_id, module__in=endpoint.modules).first()
    if event is None:
        raise NotFound(_("No event %(id)s.") % {"id": event_id}, code="event_not_found")
    delivery, _created = Delivery.objects.select_for_update().get_or_create(
        endpoint=endpoint,
        event=event,
        defaults={"object_key": f"{event.object_type}:{event.object_id}"},
    )
    return _send_again(delivery)
