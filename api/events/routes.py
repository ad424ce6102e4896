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

from api.acting import actor
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
from tenants.events import access, services
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
    return access.sees_personal_fields(actor(request))


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
    access.may_integrate(actor(request))
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


@webhooks.get(
    "/webhooks",
    response={200: EndpointPage, **READ_ERRORS},
    summary="List webhook endpoints",
    operation_id="webhooks_list",
)
def webhooks_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    access.may_integrate(actor(request))
    rows, next_cursor = paginate(WebhookEndpoint.objects.all(), params)
    return page(rows, next_cursor)


@webhooks.post(
    "/webhooks",
    response={201: EndpointCreatedOut, **WRITE_ERRORS},
    summary="Add a webhook endpoint (the answer carries its signing secret)",
    operation_id="webhooks_create",
)
def webhooks_create(request: HttpRequest, body: EndpointIn) -> Status[WebhookEndpoint]:
    access.may_integrate(actor(request))
    endpoint = services.endpoint_create(
        url=body.url,
        event_types=body.event_types,
        modules=sorted(_readable_modules(request) | {"community"}),
        personal_data=_personal(request),
        description=body.description,
    )
    return Status(201, endpoint)


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
def webhooks_get(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    access.may_integrate(actor(request))
    return _endpoint(endpoint_id)


@webhooks.patch(
    "/webhooks/{endpoint_id}",
    response={200: EndpointOut, **WRITE_ERRORS},
    summary="Change a webhook endpoint (turning it on again resets its failures)",
    operation_id="webhooks_update",
)
def webhooks_update(request: HttpRequest, endpoint_id: int, body: EndpointPatch) -> WebhookEndpoint:
    access.may_integrate(actor(request))
    return services.endpoint_update(endpoint_id=endpoint_id, **body.dict())


@webhooks.delete(
    "/webhooks/{endpoint_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a webhook endpoint",
    operation_id="webhooks_delete",
)
def webhooks_delete(request: HttpRequest, endpoint_id: int) -> Status[None]:
    access.may_integrate(actor(request))
    services.endpoint_delete(endpoint_id=endpoint_id)
    return Status(204, None)


@webhooks.post(
    "/webhooks/{endpoint_id}/roll-secret",
    response={200: EndpointCreatedOut, **WRITE_ERRORS},
    summary="Replace the signing secret",
    operation_id="webhooks_roll_secret",
)
def webhooks_roll_secret(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    access.may_integrate(actor(request))
    return services.endpoint_roll_secret(endpoint_id=endpoint_id)


@webhooks.get(
    "/webhooks/{endpoint_id}/deliveries",
    response={200: DeliveryPage, **READ_ERRORS},
    summary="The delivery log of an endpoint, every attempt included",
    operation_id="webhooks_deliveries",
)
def webhooks_deliveries(
    request: HttpRequest, endpoint_id: int, params: Query[PageParams], status: str | None = None
) -> dict[str, Any]:
    access.may_integrate(actor(request))
    rows = (
        Delivery.objects.filter(endpoint=_endpoint(endpoint_id))
        .select_related("event")
        .prefetch_related(Prefetch("log", queryset=DeliveryAttempt.objects.order_by("id")))
    )
    if status:
        rows = rows.filter(status=status)
    found, next_cursor = paginate(rows, params)
    return page(found, next_cursor)


@webhooks.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    response={200: DeliveryOut, **WRITE_ERRORS},
    summary="Send a delivery again",
    operation_id="webhooks_redeliver",
)
def webhooks_redeliver(request: HttpRequest, delivery_id: int) -> Delivery:
    access.may_integrate(actor(request))
    services.delivery_redeliver(delivery_id=delivery_id)
    return Delivery.objects.select_related("event").prefetch_related("log").get(pk=delivery_id)
