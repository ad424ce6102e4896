"""Recording events (inside the caller's transaction) and managing webhook endpoints."""

from __future__ import annotations

import json
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
    transaction: if that rolls back, neither exists. Delivery starts after commit."""
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
    # One statement: a delivery for every active endpoint that wants this event.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_delivery
              (endpoint_id, event_id, object_key, status, attempts, next_attempt_at,
               last_error, created_at)
            SELECT id, %(event)s, %(key)s, 'pending', 0, now(), '', now()
            FROM events_webhookendpoint
            WHERE active AND %(module)s = ANY(modules)
              AND (cardinality(event_types) = 0 OR %(type)s = ANY(event_types))
            """,
            {
                "event": event.pk,
                "key": f"{event.object_type}:{object_id}",
                "module": kind.module,
                "type": type,
            },
        )
        if cursor.rowcount:
            transaction.on_commit(_kick_delivery)
    return event


def _kick_delivery() -> None:
    """Ask a worker to deliver now; the minutely sweep delivers anyway if this is lost."""
    from tenants.events.tasks import webhooks_deliver

    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return
    try:
        with transaction.atomic():  # a refused defer must not spoil a surrounding transaction
            webhooks_deliver.configure(
                tenant=tenant, queueing_lock=f"webhooks:{tenant.schema_name}"
            ).defer()
    except Exception:  # already queued (the queueing lock), or no queue: the sweep covers it
        return


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
    if active is not None:
        endpoint.active = active
        if active:  # turned back on: a fresh start
            endpoint.consecutive_failures, endpoint.disabled_at = 0, None
            endpoint.disabled_reason = ""
    endpoint.save()
    audit_record(action="webhook.updated", obj=endpoint)
    return endpoint


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
    """Send again now (after a fix on the receiver's side), whatever happened before."""
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(_("No delivery %(id)s.") % {"id": delivery_id}, code="delivery_not_found")
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.locked_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "locked_until"])
    audit_record(action="webhook.redelivered", obj=delivery)
    transaction.on_commit(_kick_delivery)
    return delivery
