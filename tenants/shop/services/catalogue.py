"""Shops, suppliers, products and pre-order batches (with their items and pickup slots)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli import clock
from linli.errors import Conflict, NotFound, ValidationFailed
from linli.storage import stored_file_delete_on_commit
from linli.uploads import phone_photo, photo_name
from tenants.audit.services import audit_record
from tenants.community.models import Estate
from tenants.shop.events import batch_event
from tenants.shop.models import BatchItem, PickupSlot, PreorderBatch, Product, Shop, Supplier
from tenants.shop.services.common import OutOfStock, active_shop, fen, quantity, share, text

MAX_BATCH_ITEMS = 100
MAX_SLOTS = 24
MAX_WINDOW = timedelta(days=31)


@transaction.atomic
def shop_create(
    *,
    estate_id: int,
    name: str,
    zones: list[str],
    opening_hours: str = "",
    address: str = "",
) -> Shop:
    estate = Estate.objects.filter(pk=estate_id).first()
    if estate is None:
        raise ValidationFailed(
            _("No estate %(id)s.") % {"id": estate_id}, code="estate_not_found", field="estate_id"
        )
    name = text(name, field="name", limit=120)
    unknown = sorted(set(zones) - set(Shop.Zone.values))
    if unknown or not zones:
        raise ValidationFailed(
            _("Zones are any of: parcels, preorders, daily_goods."),
            code="zones_invalid",
            field="zones",
        )
    if Shop.objects.filter(name=name).exists():
        raise Conflict(_("A shop with this name exists."), code="shop_exists", field="name")
    shop = Shop.objects.create(
        estate=estate,
        name=name,
        zones=sorted(set(zones)),
        opening_hours=text(opening_hours, field="opening_hours", limit=120, required=False),
        address=text(address, field="address", limit=255, required=False),
    )
    audit_record(action="shop.created", obj=shop)
    return shop


@transaction.atomic
def shop_set_active(*, shop_id: int, active: bool) -> Shop:
    shop = Shop.objects.select_for_update().filter(pk=shop_id).first()
    if shop is None:
        raise NotFound(_("No shop %(id)s.") % {"id": shop_id}, code="shop_not_found")
    shop.active = active
    shop.save(update_fields=["active"])
    audit_record(action="shop.activated" if active else "shop.deactivated", obj=shop)
    return shop


@transaction.atomic
def supplier_create(
    *, name: str, kind: str, village: str = "", contact_name: str = "", contact_phone: str = ""
) -> Supplier:
    name = text(name, field="name", limit=120)
    if kind not in Supplier.Kind.values:
        raise ValidationFailed(
            _("A supplier is a cooperative, farm or company."), code="kind_invalid", field="kind"
        )
    if Supplier.objects.filter(name=name).exists():
        raise Conflict(_("A supplier with this name exists."), code="supplier_exists", field="name")
    supplier = Supplier.objects.create(
        name=name,
        kind=kind,
        village=text(village, field="village", limit=200, required=False),
        contact_name=text(contact_name, field="contact_name", limit=64, required=False),
        contact_phone=text(contact_phone, field="contact_phone", limit=20, required=False),
    )
    audit_record(action="shop.supplier.created", obj=supplier)
    return supplier


def _supplier(supplier_id: int | None) -> Supplier | None:
    if supplier_id is None:
        return None
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise ValidationFailed(
            _("No supplier %(id)s.") % {"id": supplier_id},
            code="supplier_not_found",
            field="supplier_id",
        )
    return supplier


@transaction.atomic
def product_create(
    *,
    shop_id: int,
    name: str,
    unit: str,
    price_fen: int,
    points_share: int = 0,
    stock: int | None = None,
    supplier_id: int | None = None,
) -> Product:
    shop = active_shop(shop_id)
    if stock is not None and (isinstance(stock, bool) or not 0 <= stock <= 1_000_000):
        raise ValidationFailed(
            _("Stock is a whole number from 0 to 1,000,000."), code="stock_invalid", field="stock"
        )
    product = Product(
        shop=shop,
        supplier=_supplier(supplier_id),
        name=text(name, field="name", limit=120),
        unit=text(unit, field="unit", limit=16),
        price_fen=fen(price_fen, field="price_fen"),
        points_share=share(points_share),
        stock=stock,
    )
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        raise Conflict(
            _("This shop already sells a product of this name and unit."),
            code="product_exists",
            field="name",
        ) from exc
    audit_record(action="shop.product.created", obj=product)
    return product


def _product_for_update(product_id: int) -> Product:
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No product %(id)s.") % {"id": product_id}, code="product_not_found")
    return product


@transaction.atomic
def product_update(
    *,
    product_id: int,
    price_fen: int | None = None,
    points_share: int | None = None,
    active: bool | None = None,
) -> Product:
    """Change the price, points share or availability (orders already placed keep theirs)."""
    product = _product_for_update(product_id)
    changes: dict[str, list[object]] = {}
    if price_fen is not None:
        changes["price_fen"] = [product.price_fen, fen(price_fen, field="price_fen")]
        product.price_fen = price_fen
    if points_share is not None:
        changes["points_share"] = [product.points_share, share(points_share)]
        product.points_share = points_share
    if active is not None:
        changes["active"] = [product.active, active]
        product.active = active
    product.save(update_fields=["price_fen", "points_share", "active"])
    audit_record(action="shop.product.updated", obj=product, changes=changes)
    return product


@transaction.atomic
def product_restock(*, product_id: int, delta: int) -> Product:
    """Units arrived (positive) or were written off (negative); never below zero."""
    product = _product_for_update(product_id)
    if product.stock is None:
        raise Conflict(_("This product's stock is not tracked."), code="stock_not_tracked")
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise ValidationFailed(
            _("Give a non-zero whole number of units."), code="delta_invalid", field="delta"
        )
    if product.stock + delta < 0:
        raise OutOfStock(
            _("Only %(stock)s units are on hand.") % {"stock": product.stock}, field="delta"
        )
    if product.stock + delta > 1_000_000:
        raise ValidationFailed(_("Too many units."), code="delta_invalid", field="delta")
    before = product.stock
    product.stock += delta
    product.save(update_fields=["stock"])
    audit_record(
        action="shop.product.restocked", obj=product, changes={"stock": [before, product.stock]}
    )
    return product


@transaction.atomic
def product_photo_set(*, product_id: int, content: bytes) -> Product:
    """A new photo for the product, phone-sized and stripped of its metadata; the one it
    replaces is deleted once this commits."""
    from django.core.files.base import ContentFile

    product = _product_for_update(product_id)
    phone_sized = phone_photo(content)
    replaced = product.photo.name
    name = photo_name(f"product-{product.pk}", "jpg")
    product.photo.save(name, ContentFile(phone_sized), save=False)
    product.save(update_fields=["photo"])
    stored_file_delete_on_commit(name=replaced)
    audit_record(action="shop.product.photo", obj=product)
    return product


# --- pre-order batches ---------------------------------------------------------------------


@transaction.atomic
def batch_photo_set(*, batch_id: int, content: bytes) -> PreorderBatch:
    """A photo for the batch's page and poster (the village's harvest), phone-sized and
    stripped of its metadata; the one it replaces is deleted once this commits."""
    from django.core.files.base import ContentFile

    batch = PreorderBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No batch %(id)s.") % {"id": batch_id}, code="batch_not_found")
    phone_sized = phone_photo(content)
    replaced = batch.photo.name
    batch.photo.save(photo_name(f"batch-{batch.pk}", "jpg"), ContentFile(phone_sized), save=False)
    batch.save(update_fields=["photo"])
    stored_file_delete_on_commit(name=replaced)
    audit_record(action="shop.batch.photo", obj=batch)
    return batch


@dataclass(frozen=True)
class ItemSpec:
    product_id: int
    limit_total: int | None = None
    limit_per_household: int | None = None
    price_fen: int | None = None  # the product's price when not given
    points_share: int | None = None


@dataclass(frozen=True)
class SlotSpec:
    starts_at: datetime
    ends_at: datetime


@transaction.atomic
def batch_create(
    *,
    shop_id: int,
    supplier_id: int,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    pickup_on: date,
    items: list[ItemSpec],
    slots: list[SlotSpec] = (),  # type: ignore[assignment]
) -> PreorderBatch:
    """A supplier's round of pre-orders at one shop, all or nothing."""
    shop = active_shop(shop_id)
    supplier = _supplier(supplier_id)
    assert supplier is not None
    title = text(title, field="title", limit=120)
    if closes_at <= opens_at:
        raise ValidationFailed(
            _("Orders must close after they open."), code="window_invalid", field="closes_at"
        )
    if closes_at - opens_at > MAX_WINDOW:
        raise ValidationFailed(
            _("An order window is at most 31 days."), code="window_too_long", field="closes_at"
        )
    if closes_at <= timezone.now():
        raise ValidationFailed(
            _("The order window is already over."), code="window_past", field="closes_at"
        )
    if pickup_on < clock.day_of(closes_at):
        raise ValidationFailed(
            _("The pickup day cannot come before orders close."),
            code="pickup_before_close",
            field="pickup_on",
        )
    if pickup_on > clock.day_of(closes_at) + timedelta(days=14):
        raise ValidationFailed(
            _("The pickup day is at most 14 days after orders close."),
            code="pickup_too_late",
            field="pickup_on",
        )
    if not items or len(items) > MAX_BATCH_ITEMS:
        raise ValidationFailed(
            _("A batch has 1 to 100 items."), code="items_invalid", field="items"
        )
    if len(slots) > MAX_SLOTS:
        raise ValidationFailed(
            _("A batch has at most 24 slots."), code="slots_invalid", field="slots"
        )
    product_ids = [item.product_id for item in items]
    if len(set(product_ids)) != len(product_ids):
        raise ValidationFailed(
            _("Each product appears once in a batch."), code="item_duplicate", field="items"
        )
    products = {p.pk: p for p in Product.objects.filter(pk__in=product_ids, shop=shop)}
    batch = PreorderBatch.objects.create(
        shop=shop,
        supplier=supplier,
        title=title,
        opens_at=opens_at,
        closes_at=closes_at,
        pickup_on=pickup_on,
    )
    rows = []
    for n, item in enumerate(items):
        product = products.get(item.product_id)
        if product is None or not product.active:
            raise ValidationFailed(
                _("No active product %(id)s at this shop.") % {"id": item.product_id},
                code="product_not_found",
                field=f"items/{n}/product_id",
            )
        for limit_name in ("limit_total", "limit_per_household"):
            limit = getattr(item, limit_name)
            if limit is not None:
                quantity(limit, field=f"items/{n}/{limit_name}")
        price = product.price_fen if item.price_fen is None else item.price_fen
        rows.append(
            BatchItem(
                batch=batch,
                product=product,
                price_fen=fen(price, field=f"items/{n}/price_fen"),
                points_share=share(
                    product.points_share if item.points_share is None else item.points_share,
                    field=f"items/{n}/points_share",
                ),
                limit_total=item.limit_total,
                limit_per_household=item.limit_per_household,
            )
        )
    BatchItem.objects.bulk_create(rows)
    pickup_day = pickup_on
    for n, slot in enumerate(slots):
        if slot.ends_at <= slot.starts_at:
            raise ValidationFailed(
                _("A slot must end after it starts."),
                code="slot_invalid",
                field=f"slots/{n}/ends_at",
            )
        if clock.day_of(slot.starts_at) != pickup_day:
            raise ValidationFailed(
                _("Pickup slots are on the pickup day."),
                code="slot_invalid",
                field=f"slots/{n}/starts_at",
            )
    PickupSlot.objects.bulk_create(
        PickupSlot(batch=batch, starts_at=s.starts_at, ends_at=s.ends_at) for s in slots
    )
    audit_record(action="shop.batch.created", obj=batch)
    if opens_at <= timezone.now():
        _announce_open(batch)
    return batch


def _announce_open(batch: PreorderBatch) -> None:
    batch.opened_at = timezone.now()
    batch.save(update_fields=["opened_at"])
    batch_event("opened", batch)


def batches_open_due(*, now: datetime | None = None) -> int:
    """Announce batches whose order window has begun (the periodic job calls this)."""
    now = now or timezone.now()
    opened = 0
    due = PreorderBatch.objects.filter(
        opens_at__lte=now, opened_at__isnull=True, cancelled_at__isnull=True
    ).values_list("pk", flat=True)
    for batch_id in list(due):
        with transaction.atomic():
            batch = PreorderBatch.objects.select_for_update().get(pk=batch_id)
            if batch.opened_at is None:
                _announce_open(batch)
                opened += 1
    return opened


def batch_get(batch_id: int) -> PreorderBatch:
    batch = PreorderBatch.objects.select_related("shop", "supplier").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No batch %(id)s.") % {"id": batch_id}, code="batch_not_found")
    return batch


@transaction.atomic
def batch_close(*, batch_id: int, now: datetime | None = None) -> PreorderBatch:
    """Stop taking orders (at the cut-off, or early): placed orders become confirmed."""
    from tenants.shop.services.orders import confirm_placed_orders

    now = now or timezone.now()
    batch = PreorderBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No batch %(id)s.") % {"id": batch_id}, code="batch_not_found")
    if batch.cancelled_at is not None:
        raise Conflict(_("This batch was cancelled."), code="batch_cancelled")
    if batch.closed_at is not None:
        return batch
    batch.closed_at = now
    if batch.closes_at > now:
        batch.closes_at = max(now, batch.opens_at + timedelta(seconds=1))
    batch.save(update_fields=["closed_at", "closes_at"])
    confirmed = confirm_placed_orders(batch=batch, now=now)
    audit_record(action="shop.batch.closed", obj=batch, changes={"confirmed": [None, confirmed]})
    batch_event("closed", batch)
    return batch


def batches_close_due(*, now: datetime | None = None) -> int:
    """Close every batch whose cut-off has passed (the periodic job calls this)."""
    now = now or timezone.now()
    due = list(
        PreorderBatch.objects.filter(
            closes_at__lte=now, closed_at__isnull=True, cancelled_at__isnull=True
        ).values_list("pk", flat=True)
    )
    for batch_id in due:
        batch_close(batch_id=batch_id, now=now)
    return len(due)


@transaction.atomic
def batch_cancel(*, batch_id: int, reason: str) -> PreorderBatch:
    """The supplier cannot deliver: every open order is cancelled and its points refunded."""
    from tenants.shop.models import Order
    from tenants.shop.services.orders import order_cancel

    reason = text(reason, field="reason", limit=255)
    batch = PreorderBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No batch %(id)s.") % {"id": batch_id}, code="batch_not_found")
    if batch.cancelled_at is not None:
        raise Conflict(_("This batch was cancelled."), code="batch_cancelled")
    open_orders = Order.objects.filter(
        batch=batch, status__in=[Order.Status.PLACED, Order.Status.CONFIRMED, Order.Status.READY]
    ).values_list("pk", flat=True)
    for order_id in list(open_orders):
        order_cancel(order_id=order_id, reason=reason)
    batch.cancelled_at = timezone.now()
    batch.save(update_fields=["cancelled_at"])
    audit_record(action="shop.batch.cancelled", obj=batch)
    return batch
