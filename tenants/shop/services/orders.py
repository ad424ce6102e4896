"""Orders: placed → confirmed → ready → picked up | cancelled | expired.

No overselling: placing an order locks the batch items (or products) it takes
from, in id order, checks the limits and moves the counters under those locks;
check constraints back the counters up. Points are redeemed in the same
transaction as the order, and refunded under the order's row lock with an
idempotency key of the order's own, so a cancel racing an expiry refunds once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli import clock
from linli.errors import Conflict, NotFound, ValidationFailed
from linli.notify import Notice, notify
from tenants.audit.services import audit_record
from tenants.shop.events import order_event
from tenants.shop.models import BatchItem, Order, OrderLine, PickupSlot, PreorderBatch, Product
from tenants.shop.services.common import (
    BatchClosed,
    LimitExceeded,
    OutOfStock,
    active_resident,
    active_shop,
    code_matches,
    points_enabled,
    quantity,
    shop_settings,
)
from tenants.shop.settings import ShopSettings

Status = Order.Status
OPEN = (Status.PLACED, Status.CONFIRMED, Status.READY)
MAX_LINES = 50


class PointsOverShare(ValidationFailed):
    code = "points_over_share"


def _merge(lines: list[tuple[int, int]], *, field: str) -> dict[int, int]:
    if not lines or len(lines) > MAX_LINES:
        raise ValidationFailed(
            _("An order has 1 to 50 lines."), code="lines_invalid", field="lines"
        )
    merged: dict[int, int] = {}
    for n, (target, qty) in enumerate(lines):
        merged[target] = merged.get(target, 0) + quantity(qty, field=f"lines/{n}/quantity")
    return merged


def _at(lines: list[tuple[int, int]]) -> dict[int, int]:
    """Where in the body each item or product first appears, for the answer's pointer."""
    first: dict[int, int] = {}
    for n, (target, _qty) in enumerate(lines):
        first.setdefault(target, n)
    return first


def _points(requested: Any) -> int:
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        raise ValidationFailed(
            _("Points are a whole number, zero or more."), code="points_invalid", field="points"
        )
    return requested


def _batch_open(batch: PreorderBatch, now: datetime) -> None:
    if batch.cancelled_at is not None or batch.closed_at is not None or now >= batch.closes_at:
        raise BatchClosed(_("Orders for this batch have closed."))
    if now < batch.opens_at:
        raise Conflict(_("Orders for this batch have not opened yet."), code="batch_not_open")


def _collect_by_batch(batch: PreorderBatch, settings: ShopSettings) -> datetime:
    _start, end = clock.day_bounds(batch.pickup_on)  # the end of the local pickup day
    return end + timedelta(hours=settings.pickup_grace_hours)


def _household_taken(item: BatchItem, resident: Any) -> int:
    orders = Order.objects.filter(status__in=[*OPEN, Status.PICKED_UP])
    if resident.household_id is not None:
        orders = orders.filter(household_id=resident.household_id)
    else:
        orders = orders.filter(resident_id=resident.pk)
    taken = OrderLine.objects.filter(batch_item=item, order__in=orders).aggregate(n=Sum("quantity"))
    return int(taken["n"] or 0)


@transaction.atomic
def order_place(
    *,
    resident_id: int,
    lines: list[tuple[int, int]],
    batch_id: int | None = None,
    shop_id: int | None = None,
    slot_id: int | None = None,
    points: int = 0,
) -> Order:
    """A resident orders from a pre-order batch (``lines`` are batch item ids) or a shop's
    daily goods (``lines`` are product ids), paying up to the allowed share in points."""
    now = timezone.now()
    settings = shop_settings()
    resident = active_resident(resident_id)
    points = _points(points)
    if (batch_id is None) == (shop_id is None):
        raise ValidationFailed(
            _("Order from a batch or from a shop."), code="order_source_invalid", field="batch_id"
        )
    if batch_id is not None:
        taken, shop, batch, slot = _take_from_batch(
            batch_id, slot_id, _merge(lines, field="lines"), resident, now, settings, _at(lines)
        )
        collect_by = _collect_by_batch(batch, settings)
    else:
        assert shop_id is not None
        shop = active_shop(shop_id)
        batch, slot = None, None
        if slot_id is not None:
            raise ValidationFailed(
                _("Pickup slots belong to batches."), code="slot_invalid", field="slot_id"
            )
        taken = _take_from_stock(shop.pk, _merge(lines, field="lines"), settings, _at(lines))
        collect_by = now + timedelta(days=settings.hold_days)
    fen_per_point = settings.fen_per_point
    total = sum(line.total_fen for line in taken)
    allowed = sum(line.points_allowed for line in taken)
    if points > allowed:
        raise PointsOverShare(
            _("At most %(allowed)s points can be used on this order.") % {"allowed": allowed},
            field="points",
        )
    if points and not points_enabled():
        raise ValidationFailed(
            _("This tenant does not run the points scheme."),
            code="points_disabled",
            field="points",
        )
    order = _create_with_code(
        shop=shop,
        batch=batch,
        slot=slot,
        resident=resident,
        household_id=resident.household_id,
        total_fen=total,
        points_used=points,
        money_due_fen=total - points * fen_per_point,
        collect_by=collect_by,
    )
    for line in taken:
        line.order = order
    OrderLine.objects.bulk_create(taken)
    if points:
        from tenants.points.services import account_for_shop, points_redeem

        redemption = points_redeem(
            resident_id=resident.pk,
            amount=points,
            to_account_id=account_for_shop(shop_id=shop.pk, name=shop.name).pk,
            idempotency_key=f"shop.order:{order.pk}:redeem",
            memo=_("Order %(id)s at %(shop)s") % {"id": order.pk, "shop": shop.name},
        )
        order.points_redemption_id = redemption.pk
        order.save(update_fields=["points_redemption_id"])
    audit_record(action="shop.order.placed", obj=order)
    order_event("placed", order)
    return order


def _take_from_batch(
    batch_id: int,
    slot_id: int | None,
    wanted: dict[int, int],
    resident: Any,
    now: datetime,
    settings: ShopSettings,
    at: dict[int, int],
) -> tuple[list[OrderLine], Any, PreorderBatch, PickupSlot | None]:
    batch = PreorderBatch.objects.select_related("shop").filter(pk=batch_id).first()
    if batch is None:
        raise ValidationFailed(
            _("No batch %(id)s.") % {"id": batch_id}, code="batch_not_found", field="batch_id"
        )
    _batch_open(batch, now)
    if not batch.shop.active:
        raise Conflict(_("This shop is closed."), code="shop_inactive")
    slot = None
    slots = list(batch.slots.all())
    if slot_id is not None:
        slot = next((s for s in slots if s.pk == slot_id), None)
        if slot is None:
            raise ValidationFailed(
                _("No pickup slot %(id)s in this batch.") % {"id": slot_id},
                code="slot_invalid",
                field="slot_id",
            )
    elif slots:
        raise ValidationFailed(_("Choose a pickup slot."), code="slot_required", field="slot_id")
    items = list(
        BatchItem.objects.select_for_update()
        .filter(batch=batch, pk__in=wanted)
        .select_related("product")
        .order_by("pk")
    )
    found = {item.pk: item for item in items}
    taken = []
    for item_id, qty in wanted.items():
        item = found.get(item_id)
        if item is None:
            raise ValidationFailed(
                _("No item %(id)s in this batch.") % {"id": item_id},
                code="item_not_found",
                field=f"lines/{at[item_id]}/item_id",
            )
        if item.limit_total is not None and item.ordered + qty > item.limit_total:
            raise OutOfStock(
                _("Only %(left)s of %(name)s are left.")
                % {"left": item.limit_total - item.ordered, "name": item.product.name},
                field=f"lines/{at[item_id]}/quantity",
            )
        if item.limit_per_household is not None:
            already = _household_taken(item, resident)
            if already + qty > item.limit_per_household:
                raise LimitExceeded(
                    _("Each household may order %(limit)s of %(name)s; you have %(had)s.")
                    % {
                        "limit": item.limit_per_household,
                        "name": item.product.name,
                        "had": already,
                    },
                    field=f"lines/{at[item_id]}/quantity",
                )
        BatchItem.objects.filter(pk=item.pk).update(ordered=F("ordered") + qty)
        taken.append(
            _line(item.product, qty, item.price_fen, item.points_share, settings, batch_item=item)
        )
    return taken, batch.shop, batch, slot


def _take_from_stock(
    shop_id: int, wanted: dict[int, int], settings: ShopSettings, at: dict[int, int]
) -> list[OrderLine]:
    products = {
        p.pk: p
        for p in Product.objects.select_for_update()
        .filter(shop_id=shop_id, pk__in=wanted)
        .order_by("pk")
    }
    taken = []
    for product_id, qty in wanted.items():
        product = products.get(product_id)
        if product is None or not product.active:
            raise ValidationFailed(
                _("No product %(id)s at this shop.") % {"id": product_id},
                code="product_not_found",
                field=f"lines/{at[product_id]}/product_id",
            )
        if product.stock is None:
            raise ValidationFailed(
                _("%(name)s is sold through pre-orders only.") % {"name": product.name},
                code="preorder_only",
                field=f"lines/{at[product_id]}/product_id",
            )
        if product.stock < qty:
            raise OutOfStock(
                _("Only %(left)s of %(name)s are left.")
                % {"left": product.stock, "name": product.name},
                field=f"lines/{at[product_id]}/quantity",
            )
        Product.objects.filter(pk=product.pk).update(stock=F("stock") - qty)
        taken.append(_line(product, qty, product.price_fen, product.points_share, settings))
    return taken


def _line(
    product: Product,
    qty: int,
    price: int,
    share: int,
    settings: ShopSettings,
    *,
    batch_item: BatchItem | None = None,
) -> OrderLine:
    total = price * qty
    allowed = (total * share // 100) // settings.fen_per_point
    return OrderLine(
        product=product,
        batch_item=batch_item,
        quantity=qty,
        unit_price_fen=price,
        total_fen=total,
        points_allowed=allowed,
    )


def _create_with_code(**fields: Any) -> Order:
    """Insert with a pickup code no other open order at the shop has (retrying a clash)."""
    for _attempt in range(8):
        try:
            with transaction.atomic():
                return Order.objects.create(**fields)
        except IntegrityError as exc:
            if "shop_order_open_code_unique" not in str(exc):
                raise
    raise Conflict(_("Please try again."), code="busy")  # pragma: no cover - 25^6 codes


# --- transitions -----------------------------------------------------------------------------


def _order_for_update(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("No order %(id)s.") % {"id": order_id}, code="order_not_found")
    return order


def _move(order: Order, allowed: tuple[str, ...], to: str) -> None:
    if order.status == Status.PICKED_UP and to == Status.PICKED_UP:
        raise Conflict(_("This order was already picked up."), code="already_picked_up")
    if order.status not in allowed:
        raise Conflict(
            _("A %(status)s order cannot become %(to)s.")
            % {"status": order.get_status_display(), "to": Status(to).label},
            code="transition_not_allowed",
        )
    order.status = to


def confirm_placed_orders(*, batch: PreorderBatch, now: datetime) -> int:
    return Order.objects.filter(batch=batch, status=Status.PLACED).update(
        status=Status.CONFIRMED, confirmed_at=now
    )


@transaction.atomic
def order_confirm(*, order_id: int) -> Order:
    order = _order_for_update(order_id)
    _move(order, (Status.PLACED,), Status.CONFIRMED)
    order.confirmed_at = timezone.now()
    order.save(update_fields=["status", "confirmed_at"])
    audit_record(action="shop.order.confirmed", obj=order)
    return order


@transaction.atomic
def order_ready(*, order_id: int) -> Order:
    """Packed and on the shelf: the resident is told, with the pickup code."""
    order = _order_for_update(order_id)
    if order.batch_id is not None and order.status == Status.PLACED:
        batch = PreorderBatch.objects.get(pk=order.batch_id)
        if batch.closed_at is None and timezone.now() < batch.closes_at:
            raise Conflict(_("Orders for this batch are still open."), code="batch_still_open")
    _move(order, (Status.PLACED, Status.CONFIRMED), Status.READY)
    now = timezone.now()
    order.ready_at = now
    order.confirmed_at = order.confirmed_at or now
    order.save(update_fields=["status", "ready_at", "confirmed_at"])
    audit_record(action="shop.order.ready", obj=order)
    order_event("ready", order)
    notify(
        [
            Notice(
                resident_id=order.resident_id,
                kind="shop.order.ready",
                subject=_("Your order is ready"),
                body=_("Order %(id)s is ready at the shop. Your pickup code is %(code)s.")
                % {"id": order.pk, "code": order.pickup_code},
                data={"order_id": str(order.pk)},
            )
        ]
    )
    return order


@transaction.atomic
def order_pick_up(*, order_id: int, code: str, payment: str = "", paid_fen: int = 0) -> Order:
    """The operator checks the code and takes the money due (cash or the shop's terminal)."""
    order = _order_for_update(order_id)
    if order.status == Status.PICKED_UP:
        raise Conflict(_("This order was already picked up."), code="already_picked_up")
    if order.status != Status.READY:
        raise Conflict(_("This order is not ready yet."), code="not_ready")
    if not code_matches(order.pickup_code, code):
        raise ValidationFailed(
            _("This is not the order's pickup code."), code="code_invalid", field="code"
        )
    if order.money_due_fen:
        if payment not in (Order.Payment.CASH, Order.Payment.TERMINAL):
            raise ValidationFailed(
                _("Record how the money was paid: cash or terminal."),
                code="payment_required",
                field="payment",
            )
        if paid_fen != order.money_due_fen:
            raise ValidationFailed(
                _("%(due)s fen are due.") % {"due": order.money_due_fen},
                code="payment_mismatch",
                field="paid_fen",
            )
    elif payment or paid_fen:
        raise ValidationFailed(
            _("Nothing is due on this order."), code="payment_mismatch", field="paid_fen"
        )
    order.status = Status.PICKED_UP
    order.payment, order.paid_fen = payment, paid_fen
    order.picked_up_at = timezone.now()
    order.save(update_fields=["status", "payment", "paid_fen", "picked_up_at"])
    audit_record(action="shop.order.picked_up", obj=order)
    order_event("picked_up", order)
    return order


@transaction.atomic
def order_cancel(*, order_id: int, reason: str = "", by_resident_id: int | None = None) -> Order:
    """A resident cancels while orders are still open; the shop cancels any open order.
    Units go back on sale and points are refunded, once."""
    order = _order_for_update(order_id)
    if by_resident_id is not None:
        if order.resident_id != by_resident_id:
            raise NotFound(_("No order %(id)s.") % {"id": order_id}, code="order_not_found")
        if order.status in OPEN and order.status != Status.PLACED:
            raise Conflict(
                _("The shop is already preparing this order; ask the shop to cancel it."),
                code="transition_not_allowed",
            )
        if order.batch_id is not None and order.status == Status.PLACED:
            batch = PreorderBatch.objects.get(pk=order.batch_id)
            if batch.closed_at is not None or timezone.now() >= batch.closes_at:
                raise BatchClosed(_("Orders for this batch have closed."))
    _move(order, OPEN, Status.CANCELLED)
    _release(order, restore_batch=True)
    _end(order, reason=(reason or "").strip()[:255])
    audit_record(action="shop.order.cancelled", obj=order)
    order_event("cancelled", order)
    return order


def _release(order: Order, *, restore_batch: bool) -> None:
    lines = list(order.lines.order_by("batch_item_id", "product_id"))
    for line in lines:
        if line.batch_item_id is not None:
            if restore_batch:
                BatchItem.objects.filter(pk=line.batch_item_id).update(
                    ordered=F("ordered") - line.quantity
                )
        else:
            Product.objects.filter(pk=line.product_id, stock__isnull=False).update(
                stock=F("stock") + line.quantity
            )


def _end(order: Order, *, reason: str) -> None:
    order.ended_at = timezone.now()
    order.end_reason = reason
    if order.points_redemption_id and order.points_refund_id is None:
        from tenants.points.services import points_refund

        refund = points_refund(
            redemption_id=order.points_redemption_id,
            amount=order.points_used,
            idempotency_key=f"shop.order:{order.pk}:refund",
            memo=_("Order %(id)s") % {"id": order.pk},
        )
        order.points_refund_id = refund.pk
    order.save(update_fields=["status", "ended_at", "end_reason", "points_refund_id"])


def orders_expire(*, now: datetime | None = None) -> int:
    """Orders not collected by their deadline expire: daily goods go back on the shelf and
    points are refunded. Each order in its own transaction."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status__in=OPEN, collect_by__lt=now).values_list("pk", flat=True)
    )
    expired = 0
    for order_id in due:
        with transaction.atomic():
            order = _order_for_update(order_id)
            if order.status not in OPEN or order.collect_by >= now:
                continue  # picked up or cancelled meanwhile
            order.status = Status.EXPIRED
            _release(order, restore_batch=False)
            _end(order, reason="not collected")
            audit_record(action="shop.order.expired", obj=order)
            order_event("expired", order)
            expired += 1
    return expired


def order_find_by_code(*, shop_id: int, code: str) -> Order:
    """The counter types the code the resident shows: their open order at this shop."""
    cleaned = (code or "").strip().upper()
    order = (
        Order.objects.filter(shop_id=shop_id, status__in=OPEN, pickup_code=cleaned).first()
        if cleaned
        else None
    )
    if order is None:
        raise NotFound(_("No open order with this code."), code="order_not_found")
    return order
