"""The neighbourhood shop: catalogue, pre-order batches and their QR codes, orders, parcels,
partner services and bookings, reports.

A key without an acting resident is the shop's (or the district's) tool. Acting for
a resident, a key orders, books and collects for that resident; a resident who
operates a shop (shop operator or estate leader) also runs that shop's counter, and
a member of a partner organisation answers that partner's bookings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from api.acting import acting_resident, the_resident
from api.auth import Forbidden, KeyAuth
from api.errors import READ_ERRORS, WRITE_ERRORS
from api.pagination import PageParams, page, paginate
from api.shop.schemas import (
    ActiveIn,
    BatchIn,
    BatchOut,
    BatchPage,
    BookingIn,
    BookingOut,
    BookingPage,
    CancelIn,
    CodeIn,
    OrderIn,
    OrderOut,
    OrderPage,
    PackingSlotOut,
    ParcelDayOut,
    ParcelIn,
    ParcelOut,
    ParcelPage,
    ParcelPickUpIn,
    PickUpIn,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ReasonIn,
    RestockIn,
    SalesDayOut,
    SellThroughOut,
    ServiceIn,
    ServiceOut,
    ServicePage,
    ServiceSlotIn,
    ServiceSlotOut,
    SettlementOut,
    ShopIn,
    ShopOut,
    ShopPage,
    SuggestionOut,
    SupplierIn,
    SupplierOut,
    SupplierPage,
    TurnaroundOut,
)
from api.types import Day, Month
from linli.errors import NotFound, ValidationFailed
from linli.http import absolute_url
from tenants.community.phones import mask_name
from tenants.shop import access, qr, selectors
from tenants.shop.models import (
    BatchItem,
    Booking,
    Order,
    OrderLine,
    Parcel,
    PartnerService,
    PreorderBatch,
    Product,
    ServiceSlot,
    Shop,
    Supplier,
)
from tenants.shop.services import catalogue, orders, parcels, partners

router = Router(auth=KeyAuth("shop"), tags=["shop"])


# --- who may do what --------------------------------------------------------------------------


def _district_only(request: HttpRequest) -> None:
    """Setting up shops, suppliers and partners, and the district's reports."""
    acting = acting_resident(request)
    if acting is not None and not access.runs_everything(acting):
        raise Forbidden(_("Only the district sets this up."), code="not_for_residents")


def _operator_of(request: HttpRequest, shop_id: int) -> None:
    acting = acting_resident(request)
    if acting is not None and not access.operates(acting, shop_id):
        raise Forbidden(_("Only this shop's operators can do this."), code="not_shop_operator")


def _operated(request: HttpRequest) -> QuerySet[Shop] | None:
    """The shops the caller runs; None for a shop or district tool (every shop)."""
    acting = acting_resident(request)
    return None if acting is None else access.operated_shops(acting)


def _shop(shop_id: int) -> Shop:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        raise NotFound(_("No shop %(id)s.") % {"id": shop_id}, code="shop_not_found")
    return shop


def _link(request: HttpRequest, path: str) -> str:
    return absolute_url(request, path)


# --- shops and catalogue ----------------------------------------------------------------------


def _shop_out(request: HttpRequest, shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.pk,
        "estate_id": shop.estate_id,
        "name": shop.name,
        "zones": shop.zones,
        "opening_hours": shop.opening_hours,
        "address": shop.address,
        "active": shop.active,
        "link": _link(request, qr.shop_path(shop.qr_token)),
    }


@router.get(
    "/shops",
    response={200: ShopPage, **READ_ERRORS},
    summary="List shops",
    operation_id="shop_shops_list",
)
def shops_list(
    request: HttpRequest, params: Query[PageParams], estate_id: int | None = None
) -> dict[str, Any]:
    shops = Shop.objects.all()
    if estate_id is not None:
        shops = shops.filter(estate_id=estate_id)
    rows, next_cursor = paginate(shops, params)
    return page([_shop_out(request, s) for s in rows], next_cursor)


@router.post(
    "/shops",
    response={201: ShopOut, **WRITE_ERRORS},
    summary="Open a shop",
    operation_id="shop_shops_create",
)
def shops_create(request: HttpRequest, body: ShopIn) -> Status[dict[str, Any]]:
    _district_only(request)
    shop = catalogue.shop_create(**body.dict())
    return Status(201, _shop_out(request, shop))


@router.get(
    "/shops/{shop_id}",
    response={200: ShopOut, **READ_ERRORS},
    summary="A shop",
    operation_id="shop_shops_get",
)
def shops_get(request: HttpRequest, shop_id: int) -> dict[str, Any]:
    return _shop_out(request, _shop(shop_id))


@router.post(
    "/shops/{shop_id}/active",
    response={200: ShopOut, **WRITE_ERRORS},
    summary="Open or close a shop",
    operation_id="shop_shops_set_active",
)
def shops_set_active(request: HttpRequest, shop_id: int, body: ActiveIn) -> dict[str, Any]:
    _district_only(request)
    return _shop_out(request, catalogue.shop_set_active(shop_id=shop_id, active=body.active))


def _qr(request: HttpRequest, path: str, kind: str, name: str) -> HttpResponse:
    link = _link(request, path)
    if kind == "svg":
        response = HttpResponse(qr.qr_svg(link), content_type="image/svg+xml")
    else:
        response = HttpResponse(qr.qr_png(link), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{name}.{kind}"'
    response["Cache-Control"] = "private, max-age=86400"
    return response


@router.get(
    "/shops/{shop_id}/qr.{kind}",
    response={200: None, **READ_ERRORS},
    summary="The shop's QR code (svg or png)",
    operation_id="shop_shops_qr",
)
def shops_qr(request: HttpRequest, shop_id: int, kind: str) -> HttpResponse:
    shop = _shop(shop_id)
    if kind not in ("svg", "png"):
        raise NotFound(_("QR codes come as svg or png."), code="format_not_found")
    return _qr(request, qr.shop_path(shop.qr_token), kind, f"shop-{shop.pk}")


@router.get(
    "/suppliers",
    response={200: SupplierPage, **READ_ERRORS},
    summary="List suppliers",
    operation_id="shop_suppliers_list",
)
def suppliers_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    rows, next_cursor = paginate(Supplier.objects.all(), params)
    return page([_supplier_out(s) for s in rows], next_cursor)


def _supplier_out(s: Supplier) -> dict[str, Any]:
    return {
        "id": s.pk,
        "name": s.name,
        "kind": s.kind,
        "village": s.village,
        "contact_name": s.contact_name,
        "contact_phone": s.contact_phone,
        "active": s.active,
    }


@router.post(
    "/suppliers",
    response={201: SupplierOut, **WRITE_ERRORS},
    summary="Add a supplier (village co-operative, farm, company)",
    operation_id="shop_suppliers_create",
)
def suppliers_create(request: HttpRequest, body: SupplierIn) -> Status[dict[str, Any]]:
    _district_only(request)
    return Status(201, _supplier_out(catalogue.supplier_create(**body.dict())))


def _product_out(p: Product) -> dict[str, Any]:
    return {
        "id": p.pk,
        "shop_id": p.shop_id,
        "supplier_id": p.supplier_id,
        "name": p.name,
        "unit": p.unit,
        "price_fen": p.price_fen,
        "points_share": p.points_share,
        "stock": p.stock,
        "photo_url": p.photo.url if p.photo else None,
        "active": p.active,
    }


@router.get(
    "/products",
    response={200: ProductPage, **READ_ERRORS},
    summary="List products",
    operation_id="shop_products_list",
)
def products_list(
    request: HttpRequest,
    params: Query[PageParams],
    shop_id: int | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    products = Product.objects.all()
    if shop_id is not None:
        products = products.filter(shop_id=shop_id)
    if active is not None:
        products = products.filter(active=active)
    rows, next_cursor = paginate(products, params)
    return page([_product_out(p) for p in rows], next_cursor)


@router.post(
    "/products",
    response={201: ProductOut, **WRITE_ERRORS},
    summary="Add a product",
    operation_id="shop_products_create",
)
def products_create(request: HttpRequest, body: ProductIn) -> Status[dict[str, Any]]:
    _operator_of(request, body.shop_id)
    return Status(201, _product_out(catalogue.product_create(**body.dict())))


def _product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No product %(id)s.") % {"id": product_id}, code="product_not_found")
    return product


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Change a product's price, points share or availability",
    operation_id="shop_products_update",
)
def products_update(request: HttpRequest, product_id: int, body: ProductPatch) -> dict[str, Any]:
    _operator_of(request, _product(product_id).shop_id)
    return _product_out(catalogue.product_update(product_id=product_id, **body.dict()))


@router.post(
    "/products/{product_id}/stock",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Record units arriving or written off",
    operation_id="shop_products_restock",
)
def products_restock(request: HttpRequest, product_id: int, body: RestockIn) -> dict[str, Any]:
    _operator_of(request, _product(product_id).shop_id)
    return _product_out(catalogue.product_restock(product_id=product_id, delta=body.delta))


@router.post(
    "/products/{product_id}/photo",
    response={200: ProductOut, **WRITE_ERRORS},
    summary="Set a product's photo (JPEG or PNG, at most 5 MB)",
    operation_id="shop_products_photo",
)
def products_photo(
    request: HttpRequest, product_id: int, photo: File[UploadedFile]
) -> dict[str, Any]:
    from linli.uploads import MAX_PHOTO_BYTES

    _operator_of(request, _product(product_id).shop_id)
    content = photo.read(MAX_PHOTO_BYTES + 1)
    return _product_out(catalogue.product_photo_set(product_id=product_id, content=content))


# --- batches ------------------------------------------------------------------------------------


def _batches() -> QuerySet[PreorderBatch]:
    return PreorderBatch.objects.select_related("supplier").prefetch_related(
        Prefetch("items", queryset=BatchItem.objects.select_related("product").order_by("id")),
        "slots",
    )


def _state(batch: PreorderBatch) -> str:
    now = timezone.now()
    if batch.cancelled_at is not None:
        return "cancelled"
    if batch.closed_at is not None or now >= batch.closes_at:
        return "closed"
    return "open" if now >= batch.opens_at else "upcoming"


def _batch_out(request: HttpRequest, b: PreorderBatch) -> dict[str, Any]:
    return {
        "id": b.pk,
        "shop_id": b.shop_id,
        "supplier_id": b.supplier_id,
        "supplier": b.supplier.name,
        "title": b.title,
        "opens_at": b.opens_at,
        "closes_at": b.closes_at,
        "pickup_on": b.pickup_on,
        "state": _state(b),
        "link": _link(request, qr.batch_path(b.qr_token)),
        "items": [
            {
                "id": i.pk,
                "product_id": i.product_id,
                "name": i.product.name,
                "unit": i.product.unit,
                "price_fen": i.price_fen,
                "points_share": i.points_share,
                "limit_total": i.limit_total,
                "limit_per_household": i.limit_per_household,
                "ordered": i.ordered,
                "left": None if i.limit_total is None else i.limit_total - i.ordered,
            }
            for i in b.items.all()
        ],
        "slots": [
            {"id": s.pk, "starts_at": s.starts_at, "ends_at": s.ends_at} for s in b.slots.all()
        ],
    }


def _batch(batch_id: int) -> PreorderBatch:
    batch = _batches().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No batch %(id)s.") % {"id": batch_id}, code="batch_not_found")
    return batch


@router.get(
    "/batches",
    response={200: BatchPage, **READ_ERRORS},
    summary="List pre-order batches",
    operation_id="shop_batches_list",
)
def batches_list(
    request: HttpRequest,
    params: Query[PageParams],
    shop_id: int | None = None,
    open_now: bool = False,
) -> dict[str, Any]:
    batches = _batches()
    if shop_id is not None:
        batches = batches.filter(shop_id=shop_id)
    if open_now:
        now = timezone.now()
        batches = batches.filter(
            opens_at__lte=now, closes_at__gt=now, closed_at__isnull=True, cancelled_at__isnull=True
        )
    rows, next_cursor = paginate(batches, params)
    return page([_batch_out(request, b) for b in rows], next_cursor)


@router.post(
    "/batches",
    response={201: BatchOut, **WRITE_ERRORS},
    summary="Open a pre-order batch",
    operation_id="shop_batches_create",
)
def batches_create(request: HttpRequest, body: BatchIn) -> Status[dict[str, Any]]:
    _operator_of(request, body.shop_id)
    batch = catalogue.batch_create(
        shop_id=body.shop_id,
        supplier_id=body.supplier_id,
        title=body.title,
        opens_at=body.opens_at,
        closes_at=body.closes_at,
        pickup_on=body.pickup_on,
        items=[catalogue.ItemSpec(**item.dict()) for item in body.items],
        slots=[catalogue.SlotSpec(**slot.dict()) for slot in body.slots],
    )
    return Status(201, _batch_out(request, _batch(batch.pk)))


@router.get(
    "/batches/by-code/{token}",
    response={200: BatchOut, **READ_ERRORS},
    summary="The batch a scanned QR code names",
    operation_id="shop_batches_by_code",
)
def batches_by_code(request: HttpRequest, token: str) -> dict[str, Any]:
    batch = _batches().filter(qr_token=token[:24]).first()
    if batch is None:
        raise NotFound(_("This code names no batch."), code="batch_not_found")
    return _batch_out(request, batch)


@router.get(
    "/batches/{batch_id}",
    response={200: BatchOut, **READ_ERRORS},
    summary="A pre-order batch",
    operation_id="shop_batches_get",
)
def batches_get(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(request, _batch(batch_id))


@router.get(
    "/batches/{batch_id}/qr.{kind}",
    response={200: None, **READ_ERRORS},
    summary="The batch's QR code (svg or png) for the poster",
    operation_id="shop_batches_qr",
)
def batches_qr(request: HttpRequest, batch_id: int, kind: str) -> HttpResponse:
    batch = _batch(batch_id)
    if kind not in ("svg", "png"):
        raise NotFound(_("QR codes come as svg or png."), code="format_not_found")
    return _qr(request, qr.batch_path(batch.qr_token), kind, f"batch-{batch.pk}")


@router.post(
    "/batches/{batch_id}/close",
    response={200: BatchOut, **WRITE_ERRORS},
    summary="Stop taking orders now (placed orders become confirmed)",
    operation_id="shop_batches_close",
)
def batches_close(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    _operator_of(request, _batch(batch_id).shop_id)
    catalogue.batch_close(batch_id=batch_id)
    return _batch_out(request, _batch(batch_id))


@router.post(
    "/batches/{batch_id}/cancel",
    response={200: BatchOut, **WRITE_ERRORS},
    summary="Cancel a batch: every open order is cancelled and refunded",
    operation_id="shop_batches_cancel",
)
def batches_cancel(request: HttpRequest, batch_id: int, body: ReasonIn) -> dict[str, Any]:
    _operator_of(request, _batch(batch_id).shop_id)
    catalogue.batch_cancel(batch_id=batch_id, reason=body.reason)
    return _batch_out(request, _batch(batch_id))


def _names(request: HttpRequest) -> bool:
    return "personal_data:read" in request.scopes  # type: ignore[attr-defined]


@router.get(
    "/batches/{batch_id}/packing-list",
    response={200: list[PackingSlotOut], **READ_ERRORS},
    summary="What to pack, per pickup slot",
    operation_id="shop_batches_packing_list",
)
def batches_packing_list(request: HttpRequest, batch_id: int) -> list[dict[str, Any]]:
    batch = _batch(batch_id)
    _operator_of(request, batch.shop_id)
    names = _names(request)
    return [
        {
            "slot": group.label,
            "slot_id": group.slot_id,
            "orders": [
                {
                    "order_id": p.order.pk,
                    "pickup_code": p.order.pickup_code,
                    "household": p.household,
                    "resident": p.order.resident.display_name
                    if names
                    else mask_name(p.order.resident.display_name),
                    "status": p.order.status,
                    "money_due_fen": p.order.money_due_fen,
                    "lines": p.lines,
                }
                for p in group.orders
            ],
            "totals": group.totals,
        }
        for group in selectors.packing_list(batch=batch)
    ]


@router.get(
    "/batches/{batch_id}/packing-list.csv",
    response={200: None, **READ_ERRORS},
    summary="The packing list as CSV",
    operation_id="shop_batches_packing_list_csv",
)
def batches_packing_list_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(batch_id)
    _operator_of(request, batch.shop_id)
    return _csv(
        selectors.packing_list_csv(batch=batch, names=_names(request)), f"packing-{batch.pk}"
    )


@router.get(
    "/batches/{batch_id}/sell-through",
    response={200: list[SellThroughOut], **READ_ERRORS},
    summary="Per item: available, ordered, collected, expired",
    operation_id="shop_batches_sell_through",
)
def batches_sell_through(request: HttpRequest, batch_id: int) -> list[dict[str, Any]]:
    batch = _batch(batch_id)
    _operator_of(request, batch.shop_id)
    return selectors.batch_sell_through(batch=batch)


def _csv(content: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# --- orders -------------------------------------------------------------------------------------


def _orders(request: HttpRequest) -> QuerySet[Order]:
    rows = Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id"))
    )
    acting = acting_resident(request)
    if acting is None:
        return rows
    return rows.filter(Q(resident_id=acting.pk) | Q(shop__in=access.operated_shops(acting)))


def _order_out(o: Order) -> dict[str, Any]:
    return {
        "id": o.pk,
        "shop_id": o.shop_id,
        "batch_id": o.batch_id,
        "slot_id": o.slot_id,
        "resident_id": o.resident_id,
        "status": o.status,
        "total_fen": o.total_fen,
        "points_used": o.points_used,
        "money_due_fen": o.money_due_fen,
        "pickup_code": o.pickup_code if o.status in orders.OPEN else None,
        "collect_by": o.collect_by,
        "payment": o.payment,
        "paid_fen": o.paid_fen,
        "placed_at": o.placed_at,
        "picked_up_at": o.picked_up_at,
        "lines": [
            {
                "product_id": ln.product_id,
                "item_id": ln.batch_item_id,
                "name": ln.product.name,
                "unit": ln.product.unit,
                "quantity": ln.quantity,
                "unit_price_fen": ln.unit_price_fen,
                "total_fen": ln.total_fen,
                "points_allowed": ln.points_allowed,
            }
            for ln in o.lines.all()
        ],
    }


def _order(request: HttpRequest, order_id: int) -> Order:
    order = _orders(request).filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("No order %(id)s.") % {"id": order_id}, code="order_not_found")
    return order


def _fresh_order(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _order_out(_order(request, order_id))


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
    rows = _orders(request)
    if status:
        rows = rows.filter(status=status)
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    if batch_id is not None:
        rows = rows.filter(batch_id=batch_id)
    if resident_id is not None:
        rows = rows.filter(resident_id=resident_id)
    found, next_cursor = paginate(rows, params)
    return page([_order_out(o) for o in found], next_cursor)


@router.post(
    "/orders",
    response={201: OrderOut, **WRITE_ERRORS},
    summary="Place an order (from a batch or a shop's daily goods)",
    operation_id="shop_orders_create",
)
def orders_create(request: HttpRequest, body: OrderIn) -> Status[dict[str, Any]]:
    resident = the_resident(request, body.resident_id, field="resident_id")
    if body.batch_id is not None:
        if any(line.item_id is None or line.product_id is not None for line in body.lines):
            raise ValidationFailed(
                _("Batch orders name batch items (item_id)."), code="lines_invalid", field="lines"
            )
        lines = [(line.item_id, line.quantity) for line in body.lines]
    else:
        if any(line.product_id is None or line.item_id is not None for line in body.lines):
            raise ValidationFailed(
                _("Shop orders name products (product_id)."), code="lines_invalid", field="lines"
            )
        lines = [(line.product_id, line.quantity) for line in body.lines]
    order = orders.order_place(
        resident_id=resident,
        lines=lines,  # type: ignore[arg-type]
        batch_id=body.batch_id,
        shop_id=body.shop_id,
        slot_id=body.slot_id,
        points=body.points,
    )
    return Status(
        201, _order_out(Order.objects.prefetch_related("lines__product").get(pk=order.pk))
    )


@router.get(
    "/orders/{order_id}",
    response={200: OrderOut, **READ_ERRORS},
    summary="An order",
    operation_id="shop_orders_get",
)
def orders_get(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _fresh_order(request, order_id)


def _counter(request: HttpRequest, order_id: int) -> Order:
    order = _order(request, order_id)
    _operator_of(request, order.shop_id)
    return order


@router.post(
    "/orders/{order_id}/confirm",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Confirm an order",
    operation_id="shop_orders_confirm",
)
def orders_confirm(request: HttpRequest, order_id: int) -> dict[str, Any]:
    _counter(request, order_id)
    orders.order_confirm(order_id=order_id)
    return _fresh_order(request, order_id)


@router.post(
    "/orders/{order_id}/ready",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Mark an order packed and ready (the resident is told)",
    operation_id="shop_orders_ready",
)
def orders_ready(request: HttpRequest, order_id: int) -> dict[str, Any]:
    _counter(request, order_id)
    orders.order_ready(order_id=order_id)
    return _fresh_order(request, order_id)


@router.post(
    "/orders/{order_id}/pick-up",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Hand an order over: check the code, record the money taken",
    operation_id="shop_orders_pick_up",
)
def orders_pick_up(request: HttpRequest, order_id: int, body: PickUpIn) -> dict[str, Any]:
    _counter(request, order_id)
    orders.order_pick_up(
        order_id=order_id, code=body.code, payment=body.payment, paid_fen=body.paid_fen
    )
    return _fresh_order(request, order_id)


@router.post(
    "/orders/{order_id}/cancel",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Cancel an order (units back on sale, points refunded)",
    operation_id="shop_orders_cancel",
)
def orders_cancel(request: HttpRequest, order_id: int, body: CancelIn) -> dict[str, Any]:
    order = _order(request, order_id)
    acting = acting_resident(request)
    as_operator = acting is None or access.operates(acting, order.shop_id)
    orders.order_cancel(
        order_id=order_id,
        reason=body.reason,
        by_resident_id=None if as_operator else acting.pk,
    )
    return _fresh_order(request, order_id)


@router.post(
    "/shops/{shop_id}/orders/lookup",
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Find the open order a pickup code belongs to (at the counter)",
    operation_id="shop_orders_lookup",
)
def orders_lookup(request: HttpRequest, shop_id: int, body: CodeIn) -> dict[str, Any]:
    _shop(shop_id)
    _operator_of(request, shop_id)
    order = orders.order_find_by_code(shop_id=shop_id, code=body.code)
    return _fresh_order(request, order.pk)


# --- parcels ------------------------------------------------------------------------------------


def _parcels(request: HttpRequest) -> QuerySet[Parcel]:
    acting = acting_resident(request)
    if acting is None:
        return Parcel.objects.all()
    mine = Q(household_id=acting.household_id) if acting.household_id else Q(pk__in=[])
    return Parcel.objects.filter(mine | Q(shop__in=access.operated_shops(acting)))


def _parcel_out(p: Parcel) -> dict[str, Any]:
    return {
        "id": p.pk,
        "shop_id": p.shop_id,
        "carrier": p.carrier,
        "tracking_number": p.tracking_number,
        "household_id": p.household_id,
        "shelf": p.shelf,
        "status": p.status,
        "pickup_code": p.pickup_code if p.status == Parcel.Status.WAITING else None,
        "arrived_at": p.arrived_at,
        "reminders_sent": p.reminders_sent,
        "picked_up_at": p.picked_up_at,
        "returned_at": p.returned_at,
    }


def _parcel(request: HttpRequest, parcel_id: int) -> Parcel:
    parcel = _parcels(request).filter(pk=parcel_id).first()
    if parcel is None:
        raise NotFound(_("No parcel %(id)s.") % {"id": parcel_id}, code="parcel_not_found")
    return parcel


@router.get(
    "/parcels",
    response={200: ParcelPage, **READ_ERRORS},
    summary="List parcels (a household's own; a shop's for its operators)",
    operation_id="shop_parcels_list",
)
def parcels_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Parcel.Status | None = None,
    shop_id: int | None = None,
    household_id: int | None = None,
    due_back: bool = False,
) -> dict[str, Any]:
    rows = _parcels(request)
    if due_back:  # still waiting after the tenant's parcel_return_days: to send back
        from datetime import timedelta

        from tenants.shop.services.common import shop_settings

        days = shop_settings().parcel_return_days
        rows = rows.filter(
            status=Parcel.Status.WAITING, arrived_at__lte=timezone.now() - timedelta(days=days)
        )
    if status:
        rows = rows.filter(status=status)
    if shop_id is not None:
        rows = rows.filter(shop_id=shop_id)
    if household_id is not None:
        rows = rows.filter(household_id=household_id)
    found, next_cursor = paginate(rows, params)
    return page([_parcel_out(p) for p in found], next_cursor)


@router.post(
    "/parcels",
    response={201: ParcelOut, **WRITE_ERRORS},
    summary="Log an arriving parcel (the household is told)",
    operation_id="shop_parcels_create",
)
def parcels_create(request: HttpRequest, body: ParcelIn) -> Status[dict[str, Any]]:
    _shop(body.shop_id)
    _operator_of(request, body.shop_id)
    return Status(201, _parcel_out(parcels.parcel_log(**body.dict())))


@router.get(
    "/parcels/recipients",
    response={200: list[SuggestionOut], **READ_ERRORS},
    summary="Households a parcel label may mean (name, phone's last digits, flat)",
    operation_id="shop_parcels_recipients",
)
def parcels_recipients(request: HttpRequest, q: str) -> list[dict[str, Any]]:
    acting = acting_resident(request)
    if acting is not None and not access.operated_shops(acting).exists():
        raise Forbidden(_("Only shop operators look up recipients."), code="not_shop_operator")
    households = selectors.recipient_suggestions(query=q[:64].replace("\x00", ""))
    return [{"household_id": h.pk, "label": selectors.household_label(h)} for h in households]


@router.post(
    "/parcels/{parcel_id}/pick-up",
    response={200: ParcelOut, **WRITE_ERRORS},
    summary="Hand a parcel over against its code",
    operation_id="shop_parcels_pick_up",
)
def parcels_pick_up(request: HttpRequest, parcel_id: int, body: ParcelPickUpIn) -> dict[str, Any]:
    _operator_of(request, _parcel(request, parcel_id).shop_id)
    return _parcel_out(
        parcels.parcel_pick_up(parcel_id=parcel_id, code=body.code, resident_id=body.resident_id)
    )


@router.post(
    "/parcels/{parcel_id}/return",
    response={200: ParcelOut, **WRITE_ERRORS},
    summary="Send a parcel back to the carrier",
    operation_id="shop_parcels_return",
)
def parcels_return(request: HttpRequest, parcel_id: int) -> dict[str, Any]:
    _operator_of(request, _parcel(request, parcel_id).shop_id)
    return _parcel_out(parcels.parcel_return(parcel_id=parcel_id))


@router.get(
    "/parcels/daily",
    response={200: ParcelDayOut, **READ_ERRORS},
    summary="One day of a shop's parcels",
    operation_id="shop_parcels_daily",
)
def parcels_daily(request: HttpRequest, shop_id: int, day: Day) -> dict[str, Any]:
    _shop(shop_id)
    _operator_of(request, shop_id)
    return selectors.parcels_daily(shop_id=shop_id, day=day)


# --- partner services ---------------------------------------------------------------------------


def _service_out(s: PartnerService) -> dict[str, Any]:
    return {
        "id": s.pk,
        "organisation_id": s.organisation_id,
        "organisation": s.organisation.name,
        "shop_id": s.shop_id,
        "category": s.category,
        "title": s.title,
        "description": s.description,
        "price_fen": s.price_fen,
        "points_price": s.points_price,
        "active": s.active,
    }


@router.get(
    "/services",
    response={200: ServicePage, **READ_ERRORS},
    summary="List partner services",
    operation_id="shop_services_list",
)
def services_list(
    request: HttpRequest, params: Query[PageParams], category: str | None = None
) -> dict[str, Any]:
    rows = PartnerService.objects.select_related("organisation")
    if category:
        rows = rows.filter(category=category)
    found, next_cursor = paginate(rows, params)
    return page([_service_out(s) for s in found], next_cursor)


@router.post(
    "/services",
    response={201: ServiceOut, **WRITE_ERRORS},
    summary="Offer a partner's service",
    operation_id="shop_services_create",
)
def services_create(request: HttpRequest, body: ServiceIn) -> Status[dict[str, Any]]:
    _district_only(request)
    service = partners.service_create(**body.dict())
    return Status(201, _service_out(service))


def _service(service_id: int) -> PartnerService:
    service = PartnerService.objects.select_related("organisation").filter(pk=service_id).first()
    if service is None:
        raise NotFound(_("No service %(id)s.") % {"id": service_id}, code="service_not_found")
    return service


def _partner_of(request: HttpRequest, organisation_id: int) -> None:
    acting = acting_resident(request)
    if acting is not None and organisation_id not in access.partner_organisation_ids(acting):
        raise Forbidden(_("Only the partner can do this."), code="not_the_partner")


def _slot_out(s: ServiceSlot) -> dict[str, Any]:
    return {
        "id": s.pk,
        "service_id": s.service_id,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "booked": s.booked,
    }


@router.get(
    "/services/{service_id}/slots",
    response={200: list[ServiceSlotOut], **READ_ERRORS},
    summary="The service's coming slots",
    operation_id="shop_services_slots_list",
)
def services_slots_list(request: HttpRequest, service_id: int) -> list[dict[str, Any]]:
    service = _service(service_id)
    slots = ServiceSlot.objects.filter(service=service, starts_at__gt=timezone.now())[:200]
    return [_slot_out(s) for s in slots]


@router.post(
    "/services/{service_id}/slots",
    response={201: ServiceSlotOut, **WRITE_ERRORS},
    summary="Offer a slot",
    operation_id="shop_services_slots_create",
)
def services_slots_create(
    request: HttpRequest, service_id: int, body: ServiceSlotIn
) -> Status[dict[str, Any]]:
    _partner_of(request, _service(service_id).organisation_id)
    slot = partners.service_slot_create(service_id=service_id, **body.dict())
    return Status(201, _slot_out(slot))


def _bookings(request: HttpRequest) -> QuerySet[Booking]:
    acting = acting_resident(request)
    if acting is None:
        return Booking.objects.all()
    return Booking.objects.filter(
        Q(resident_id=acting.pk)
        | Q(service__organisation_id__in=access.partner_organisation_ids(acting))
    )


def _booking_out(b: Booking) -> dict[str, Any]:
    return {
        "id": b.pk,
        "service_id": b.service_id,
        "slot_id": b.slot_id,
        "resident_id": b.resident_id,
        "status": b.status,
        "pay_with": b.pay_with,
        "price_fen": b.price_fen,
        "points_paid": b.points_paid,
        "note": b.note,
        "reason": b.reason,
        "created_at": b.created_at,
    }


def _booking(request: HttpRequest, booking_id: int) -> Booking:
    booking = _bookings(request).select_related("service").filter(pk=booking_id).first()
    if booking is None:
        raise NotFound(_("No booking %(id)s.") % {"id": booking_id}, code="booking_not_found")
    return booking


@router.get(
    "/bookings",
    response={200: BookingPage, **READ_ERRORS},
    summary="List bookings (a resident's own; a partner's for its members)",
    operation_id="shop_bookings_list",
)
def bookings_list(
    request: HttpRequest,
    params: Query[PageParams],
    status: Booking.Status | None = None,
    service_id: int | None = None,
) -> dict[str, Any]:
    rows = _bookings(request)
    if status:
        rows = rows.filter(status=status)
    if service_id is not None:
        rows = rows.filter(service_id=service_id)
    found, next_cursor = paginate(rows, params)
    return page([_booking_out(b) for b in found], next_cursor)


@router.post(
    "/bookings",
    response={201: BookingOut, **WRITE_ERRORS},
    summary="Book a slot of a partner's service",
    operation_id="shop_bookings_create",
)
def bookings_create(request: HttpRequest, body: BookingIn) -> Status[dict[str, Any]]:
    resident = the_resident(request, body.resident_id, field="resident_id")
    booking = partners.booking_create(
        resident_id=resident, slot_id=body.slot_id, pay_with=body.pay_with, note=body.note
    )
    return Status(201, _booking_out(booking))


def _as_partner(request: HttpRequest, booking_id: int) -> None:
    _partner_of(request, _booking(request, booking_id).service.organisation_id)


@router.post(
    "/bookings/{booking_id}/confirm",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The partner confirms a booking",
    operation_id="shop_bookings_confirm",
)
def bookings_confirm(request: HttpRequest, booking_id: int) -> dict[str, Any]:
    _as_partner(request, booking_id)
    return _booking_out(partners.booking_confirm(booking_id=booking_id))


@router.post(
    "/bookings/{booking_id}/complete",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The partner records the service done",
    operation_id="shop_bookings_complete",
)
def bookings_complete(request: HttpRequest, booking_id: int) -> dict[str, Any]:
    _as_partner(request, booking_id)
    return _booking_out(partners.booking_complete(booking_id=booking_id))


@router.post(
    "/bookings/{booking_id}/decline",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The partner declines a booking (points refunded)",
    operation_id="shop_bookings_decline",
)
def bookings_decline(request: HttpRequest, booking_id: int, body: CancelIn) -> dict[str, Any]:
    _as_partner(request, booking_id)
    return _booking_out(partners.booking_decline(booking_id=booking_id, reason=body.reason))


@router.post(
    "/bookings/{booking_id}/cancel",
    response={200: BookingOut, **WRITE_ERRORS},
    summary="The resident cancels a booking (points refunded)",
    operation_id="shop_bookings_cancel",
)
def bookings_cancel(request: HttpRequest, booking_id: int, body: CancelIn) -> dict[str, Any]:
    booking = _booking(request, booking_id)
    acting = acting_resident(request)
    if acting is not None and booking.resident_id != acting.pk:
        raise Forbidden(_("Only the resident who booked cancels."), code="not_yourself")
    return _booking_out(
        partners.booking_cancel(
            booking_id=booking_id,
            by_resident_id=acting.pk if acting is not None else None,
            reason=body.reason,
        )
    )


# --- reports ------------------------------------------------------------------------------------


def _sales(request: HttpRequest, month: date, shop_id: int | None) -> list[dict[str, Any]]:
    if shop_id is None:
        _district_only(request)
    else:
        _operator_of(request, shop_id)
    return selectors.sales_daily(month=month, shop_id=shop_id)


@router.get(
    "/reports/sales",
    response={200: list[SalesDayOut], **READ_ERRORS},
    summary="Sales and points redeemed per shop per day of a month",
    operation_id="shop_reports_sales",
)
def reports_sales(
    request: HttpRequest, month: Month, shop_id: int | None = None
) -> list[dict[str, Any]]:
    return _sales(request, month, shop_id)


@router.get(
    "/reports/sales.csv",
    response={200: None, **READ_ERRORS},
    summary="Sales per shop per day, as CSV",
    operation_id="shop_reports_sales_csv",
)
def reports_sales_csv(
    request: HttpRequest, month: Month, shop_id: int | None = None
) -> HttpResponse:
    rows = _sales(request, month, shop_id)
    columns = [
        "day",
        "shop_id",
        "shop",
        "orders",
        "cash_fen",
        "terminal_fen",
        "points",
        "sales_fen",
    ]
    return _csv(selectors.as_csv(rows, columns), f"sales-{month:%Y-%m}")


@router.get(
    "/reports/parcels",
    response={200: list[TurnaroundOut], **READ_ERRORS},
    summary="Parcel turnaround per shop for a month",
    operation_id="shop_reports_parcels",
)
def reports_parcels(request: HttpRequest, month: Month) -> list[dict[str, Any]]:
    _district_only(request)
    return selectors.parcel_turnaround(month=month)


@router.get(
    "/reports/settlement",
    response={200: list[SettlementOut], **READ_ERRORS},
    summary="Money and points per partner for a month",
    operation_id="shop_reports_settlement",
)
def reports_settlement(request: HttpRequest, month: Month) -> list[dict[str, Any]]:
    _district_only(request)
    return selectors.partner_settlement(month=month)


@router.get(
    "/reports/settlement.csv",
    response={200: None, **READ_ERRORS},
    summary="Partner settlement for a month, as CSV",
    operation_id="shop_reports_settlement_csv",
)
def reports_settlement_csv(request: HttpRequest, month: Month) -> HttpResponse:
    _district_only(request)
    rows = selectors.partner_settlement(month=month)
    columns = [
        "organisation_id",
        "organisation",
        "completed",
        "money_fen",
        "points",
        "declined_or_cancelled",
    ]
    return _csv(selectors.as_csv(rows, columns), f"settlement-{month:%Y-%m}")
