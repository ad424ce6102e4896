"""Orders: a resident places and follows their own; those who run the shop confirm, pack,
hand over and cancel its orders at the counter. Who sees and does what is
``tenants.shop.access``'s."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from api.acting import actor
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.shop.schemas import CancelIn, CodeIn, OrderIn, OrderOut, OrderPage, PickUpIn
from linli.errors import ValidationFailed
from tenants.shop import access, selectors
from tenants.shop.models import Order
from tenants.shop.services import orders

router = Router()


def _at_the_counter(request: HttpRequest, order_id: int) -> Order:
    order = access.access_order(actor=actor(request), order_id=order_id)
    access.may_run_counter(actor(request), order)
    return order


def _lines(body: OrderIn) -> list[tuple[int, int]]:
    """Batch orders name batch items, shop orders name products."""
    if body.batch_id is not None:
        if any(line.item_id is None or line.product_id is not None for line in body.lines):
            raise ValidationFailed(
                _("Batch orders name batch items (item_id)."), code="lines_invalid", field="lines"
            )
        return [(line.item_id, line.quantity) for line in body.lines]  # type: ignore[misc]
    if any(line.product_id is None or line.item_id is not None for line in body.lines):
        raise ValidationFailed(
            _("Shop orders name products (product_id)."), code="lines_invalid", field="lines"
        )
    return [(line.product_id, line.quantity) for line in body.lines]  # type: ignore[misc]


@router.get(
    "/orders",
    response={200: OrderPage, **READ_ERRORS},
    summary="List orders (a resident's own; a shop's for its operators)",
    operation_id="shop_orders_list",
)
def orders_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Order.Status | None = None,
    shop_id: int | None = None,
    batch_id: int | None = None,
    resident_id: int | None = None,
) -> dict[str, Any]:
    rows = selectors.order_list(
        access.orders_visible(actor(request)),
        status=status,
        shop_id=shop_id,
        batch_id=batch_id,
        resident_id=resident_id,
    )
    return page(*paginate(rows, params))


@router.post(
    "/orders",
    response={201: OrderOut, **WRITE_ERRORS},
    summary="Place an order (from a batch or a shop's daily goods)",
    operation_id="shop_orders_create",
)
def orders_create(request: HttpRequest, body: OrderIn) -> Status[Order]:
    orderer = access.named_resident(actor(request), body.resident_id)
    lines = _lines(body)
    order = orders.order_place(
        resident_id=orderer.resident_id,  # type: ignore[arg-type]
        lines=lines,
        batch_id=body.batch_id,
        shop_id=body.shop_id,
        slot_id=body.slot_id,
        points=body.points,
    )
    return Status(201, selectors.order_shown(order))


@router.get(
    "/orders/{order_id}",
    response={200: OrderOut, **READ_ERRORS},
    summary="An order",
    operation_id="shop_orders_get",
)
def orders_get(request: HttpRequest, order_id: int) -> Order:
    return selectors.order_shown(access.access_order(actor=actor(request), order_id=order_id))


@router.post(
    "/orders/{order_id}/confirm",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Confirm an order",
    operation_id="shop_orders_confirm",
)
def orders_confirm(request: HttpRequest, order_id: int) -> Order:
    order = _at_the_counter(request, order_id)
    return selectors.order_shown(orders.order_confirm(order_id=order.pk))


@router.post(
    "/orders/{order_id}/ready",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Mark an order packed and ready (the resident is told)",
    operation_id="shop_orders_ready",
)
def orders_ready(request: HttpRequest, order_id: int) -> Order:
    order = _at_the_counter(request, order_id)
    return selectors.order_shown(orders.order_ready(order_id=order.pk))


@router.post(
    "/orders/{order_id}/pick-up",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Hand an order over: check the code, record the money taken",
    operation_id="shop_orders_pick_up",
)
def orders_pick_up(request: HttpRequest, order_id: int, body: PickUpIn) -> Order:
    order = _at_the_counter(request, order_id)
    picked_up = orders.order_pick_up(
        order_id=order.pk, code=body.code, payment=body.payment, paid_fen=body.paid_fen
    )
    return selectors.order_shown(picked_up)


@router.post(
    "/orders/{order_id}/cancel",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Cancel an order (units back on sale, points refunded)",
    operation_id="shop_orders_cancel",
)
def orders_cancel(request: HttpRequest, order_id: int, body: CancelIn) -> Order:
    order = access.access_order(actor=actor(request), order_id=order_id)
    by_resident_id = access.may_cancel_order(actor(request), order)
    cancelled = orders.order_cancel(
        order_id=order.pk, reason=body.reason, by_resident_id=by_resident_id
    )
    return selectors.order_shown(cancelled)


@router.post(
    "/shops/{shop_id}/orders/lookup",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Find the open order a pickup code belongs to (at the counter)",
    operation_id="shop_orders_lookup",
)
def orders_lookup(request: HttpRequest, shop_id: int, body: CodeIn) -> Order:
    shop = access.access_shop(actor=actor(request), shop_id=shop_id)
    access.may_run_shop(actor(request), shop)
    return selectors.order_shown(orders.order_find_by_code(shop_id=shop.pk, code=body.code))
