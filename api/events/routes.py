"""Events and webhooks: a feed to catch up from, and endpoints that are told as it happens.

The feed shows the events of the modules the key may read (and the tenant runs);
personal fields only to keys holding ``personal_data:read``. Managing webhooks
needs ``webhooks:manage``; an endpoint receives what its creating key could read.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from api.acting import leaders_only
from api.auth import KeyAuth
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.events.schemas import (
    DeliveryOut,
    DeliveryPage,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPage,
    EndpointPatch,
    EventFilter,
    EventPage,
    EventTypeOut,
)
from api.pagination import PageParams, page, paginate
from api.scopes import MODULES, grants
from linli.errors import NotFound
from tenants.events import services
from tenants.events.catalogue import CATALOGUE
from tenants.events.delivery import event_body
from tenants.events.models import Delivery, DeliveryAttempt, WebhookEndpoint
from tenants.events.selectors import events_feed

router = Router(auth=KeyAuth(), tags=["events"])
webhooks = Router(auth=KeyAuth(scope="webhooks:manage"), tags=["events"])


def _readable_modules(request: HttpRequest) -> set[str]:
    held = request.scopes  # type: ignore[attr-defined]
    enabled = request.tenant.enabled_modules  # type: ignore[attr-defined]
    return {m for m in MODULES if m in enabled and grants(held, f"{m}:read")}


def _personal(request: HttpRequest) -> bool:
    return "personal_data:read" in request.scopes  # type: ignore[attr-defined]


@router.get(
    "/events",
    response={200: EventPage, **READ_ERRORS},
    summary="The events feed, oldest first (page with the cursor to catch up)",
    operation_id="events_list",
)
def events_list(
    request: HttpRequest,
    params: Query[PageParams],
    filters: Query[EventFilter],
) -> dict[str, Any]:
    leaders_only(request)
    feed = events_feed(
        modules=_readable_modules(request),
        types=filters.type,
        since=filters.since,
        until=filters.until,
    )
    rows, next_cursor = paginate(feed, params)
    personal = _personal(request)
    return page([event_body(e, personal=personal) for e in rows], next_cursor)


@router.get(
    "/events/types",
    response={200: list[EventTypeOut], **READ_ERRORS},
    summary="The catalogue of event types and their payload schemas",
    operation_id="events_types",
)
def events_types(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "type": t.name,
            "version": t.version,
            "module": t.module,
            "payload_schema": t.schema.model_json_schema(),
        }
        for t in CATALOGUE.values()
    ]


def _endpoint_out(e: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": e.pk,
        "url": e.url,
        "description": e.description,
        "event_types": e.event_types,
        "modules": e.modules,
        "personal_data": e.personal_data,
        "active": e.active,
        "consecutive_failures": e.consecutive_failures,
        "disabled_at": e.disabled_at,
        "disabled_reason": e.disabled_reason,
        "created_at": e.created_at,
    }


@webhooks.get(
    "/webhooks",
    response={200: EndpointPage, **READ_ERRORS},
    summary="List webhook endpoints",
    operation_id="webhooks_list",
)
def webhooks_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    leaders_only(request)
    rows, next_cursor = paginate(WebhookEndpoint.objects.all(), params)
    return page([_endpoint_out(e) for e in rows], next_cursor)


@webhooks.post(
    "/webhooks",
    response={201: EndpointCreatedOut, **WRITE_ERRORS},
    summary="Add a webhook endpoint (the answer carries its signing secret)",
    operation_id="webhooks_create",
)
def webhooks_create(request: HttpRequest, body: EndpointIn) -> Status[dict[str, Any]]:
    leaders_only(request)
    endpoint = services.endpoint_create(
        url=body.url,
        event_types=body.event_types,
        modules=sorted(_readable_modules(request) | {"community"}),
        personal_data=_personal(request),
        description=body.description,
    )
    return Status(201, {**_endpoint_out(endpoint), "secret": endpoint.secret})


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(
            _("No webhook endpoint %(id)s.") % {"id": endpoint_id}, code="endpoint_not_found"
        )
    return endpoint


@webhooks.get(
    "/webhooks/{endpoint_id}",
    response={200: EndpointOut, **READ_ERRORS},
    summary="A webhook endpoint",
    operation_id="webhooks_get",
)
def webhooks_get(request: HttpRequest, endpoint_id: int) -> dict[str, Any]:
    leaders_only(request)
    return _endpoint_out(_endpoint(endpoint_id))


@webhooks.patch(
    "/webhooks/{endpoint_id}",
    response={200: EndpointOut, **WRITE_ERRORS},
    summary="Change a webhook endpoint (turning it on again resets its failures)",
    operation_id="webhooks_update",
)
def webhooks_update(request: HttpRequest, endpoint_id: int, body: EndpointPatch) -> dict[str, Any]:
    leaders_only(request)
    return _endpoint_out(services.endpoint_update(endpoint_id=endpoint_id, **body.dict()))


@webhooks.delete(
    "/webhooks/{endpoint_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a webhook endpoint",
    operation_id="webhooks_delete",
)
def webhooks_delete(request: HttpRequest, endpoint_id: int) -> Status[None]:
    leaders_only(request)
    services.endpoint_delete(endpoint_id=endpoint_id)
    return Status(204, None)


@webhooks.post(
    "/webhooks/{endpoint_id}/roll-secret",
    response={200: EndpointCreatedOut, **WRITE_ERRORS},
    summary="Replace the signing secret",
    operation_id="webhooks_roll_secret",
)
def webhooks_roll_secret(request: HttpRequest, endpoint_id: int) -> dict[str, Any]:
    leaders_only(request)
    endpoint = services.endpoint_roll_secret(endpoint_id=endpoint_id)
    return {**_endpoint_out(endpoint), "secret": endpoint.secret}


def _delivery_out(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "event_id": d.event_id,
        "event_type": d.event.type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_status_code": d.last_status_code,
        "delivered_at": d.delivered_at,
        "log": [
            {
                "at": a.at,
                "status_code": a.status_code,
                "duration_ms": a.duration_ms,
                "error": a.error,
            }
            for a in d.log.all()
        ],
    }


@webhooks.get(
    "/webhooks/{endpoint_id}/deliveries",
    response={200: DeliveryPage, **READ_ERRORS},
    summary="The delivery log of an endpoint, every attempt included",
    operation_id="webhooks_deliveries",
)
def webhooks_deliveries(
    request: HttpRequest, endpoint_id: int, params: Query[PageParams], status: str | None = None
) -> dict[str, Any]:
    leaders_only(request)
    rows = (
        Delivery.objects.filter(endpoint=_endpoint(endpoint_id))
        .select_related("event")
        .prefetch_related(Prefetch("log", queryset=DeliveryAttempt.objects.order_by("id")))
    )
    if status:
        rows = rows.filter(status=status)
    found, next_cursor = paginate(rows, params)
    return page([_delivery_out(d) for d in found], next_cursor)


@webhooks.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    response={200: DeliveryOut, **WRITE_ERRORS},
    summary="Send a delivery again",
    operation_id="webhooks_redeliver",
)
def webhooks_redeliver(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    leaders_only(request)
    services.delivery_redeliver(delivery_id=delivery_id)
    delivery = Delivery.objects.select_related("event").prefetch_related("log").get(pk=delivery_id)
    return _delivery_out(delivery)
