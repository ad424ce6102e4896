"""Reads: the lists' filters, packing lists, recipient suggestions, and the shop's reports
(one query each). Who sees which rows is ``access``'s: every list here narrows a queryset
an access rule gave."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from linli import clock
from tenants.community.models import Household
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
)

OPEN = (Order.Status.PLACED, Order.Status.CONFIRMED, Order.Status.READY)


# --- lists ---------------------------------------------------------------------------------------


def shop_list(shops: QuerySet[Shop], *, estate_id: int | None = None) -> QuerySet[Shop]:
    return shops if estate_id is None else shops.filter(estate_id=estate_id)


def product_list(
    products: QuerySet[Product], *, shop_id: int | None = None, active: bool | None = None
) -> QuerySet[Product]:
    if shop_id is not None:
        products = products.filter(shop_id=shop_id)
    if active is not None:
        products = products.filter(active=active)
    return products


def batches_with_contents(batches: QuerySet[PreorderBatch]) -> QuerySet[PreorderBatch]:
    """With what a batch shows: its supplier, items (and their products) and pickup slots."""
    return batches.select_related("supplier").prefetch_related(
        Prefetch("items", queryset=BatchItem.objects.select_related("product").order_by("id")),
        "slots",
    )


def batch_state(batch: PreorderBatch) -> str:
    """upcoming, open, closed or cancelled, now."""
    now = timezone.now()
    if batch.cancelled_at is not None:
        return "cancelled"
    if batch.closed_at is not None or now >= batch.closes_at:
        return "closed"
    return "open" if now >= batch.opens_at else "upcoming"


def batch_shown(batch: PreorderBatch) -> PreorderBatch:
    """The batch again, fresh, with its shop and what it shows."""
    return (
        batches_with_contents(PreorderBatch.objects.filter(pk=batch.pk))
        .select_related("shop")
        .get()
    )


def batches_open_now(batches: QuerySet[PreorderBatch]) -> QuerySet[PreorderBatch]:
    now = timezone.now()
    return batches.filter(
        opens_at__lte=now, closes_at__gt=now, closed_at__isnull=True, cancelled_at__isnull=True
    )


def batch_list(
    batches: QuerySet[PreorderBatch], *, shop_id: int | None = None, open_now: bool = False
) -> QuerySet[PreorderBatch]:
    if shop_id is not None:
        batches = batches.filter(shop_id=shop_id)
    if open_now:
        batches = batches_open_now(batches)
    return batches_with_contents(batches)


def orders_with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id"))
    )


def order_shown(order: Order) -> Order:
    """The order again, fresh, with its lines, shop and pickup slot."""
    return orders_with_lines(Order.objects.filter(pk=order.pk)).select_related("shop", "slot").get()


def order_list(
    orders: QuerySet[Order],
    *,
    status: str | None = None,
    shop_id: int | None = None,
    batch_id: int | None = None,
    resident_id: int | None = None,
) -> QuerySet[Order]:
    if status:
        orders = orders.filter(status=status)
    if shop_id is not None:
        orders = orders.filter(shop_id=shop_id)
    if batch_id is not None:
        orders = orders.filter(batch_id=batch_id)
    if resident_id is not None:
        orders = orders.filter(resident_id=resident_id)
    return orders_with_lines(orders)


def orders_open(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Still to collect, soonest deadline first (the resident's home page)."""
    return orders.filter(status__in=OPEN).select_related("shop").order_by("collect_by")


def parcel_list(
    parcels: QuerySet[Parcel],
    *,
    status: str | None = None,
    shop_id: int | None = None,
    for_household: int | None = None,
    due_back: bool = False,
) -> QuerySet[Parcel]:
    if due_back:  # still waiting after the tenant's parcel_return_days: to send back
        from tenants.shop.services.common import shop_settings

        days = shop_settings().parcel_return_days
        parcels = parcels.filter(
            status=Parcel.Status.WAITING, arrived_at__lte=timezone.now() - timedelta(days=days)
        )
    if status:
        parcels = parcels.filter(status=status)
    if shop_id is not None:
        parcels = parcels.filter(shop_id=shop_id)
    if for_household is not None:
        parcels = parcels.filter(household_id=for_household)
    return parcels


def parcels_waiting(parcels: QuerySet[Parcel]) -> QuerySet[Parcel]:
    return parcels.filter(status=Parcel.Status.WAITING).select_related("shop")


def parcel_waiting_with_code(*, shop_id: int, code: str) -> Parcel | None:
    """The parcel waiting at this shop under this pickup code (one at most), with what the
    counter shows of its household."""
    return (
        Parcel.objects.filter(shop_id=shop_id, status=Parcel.Status.WAITING, pickup_code=code)
        .select_related("household__unit__building__estate")
        .first()
        if code
        else None
    )


def service_list(
    services: QuerySet[PartnerService], *, category: str | None = None
) -> QuerySet[PartnerService]:
    services = services.select_related("organisation")
    return services.filter(category=category) if category else services


def service_slots_coming(service: PartnerService, *, limit: int = 200) -> list[ServiceSlot]:
    return list(ServiceSlot.objects.filter(service=service, starts_at__gt=timezone.now())[:limit])


def booking_list(
    bookings: QuerySet[Booking], *, status: str | None = None, service_id: int | None = None
) -> QuerySet[Booking]:
    if status:
        bookings = bookings.filter(status=status)
    if service_id is not None:
        bookings = bookings.filter(service_id=service_id)
    return bookings


def household_label(household: Household) -> str:
    unit = household.unit
    return f"{unit.building.estate.name} {unit.building.name} {unit.name} {household.flat_number}"


# --- packing list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackingOrder:
    order: Order
    household: str
    lines: list[tuple[str, str, int]]  # product, unit, quantity


@dataclass(frozen=True)
class PackingSlot:
    label: str
    slot_id: int | None
    orders: list[PackingOrder]
    totals: list[tuple[str, str, int]]


def packing_list(*, batch: PreorderBatch) -> list[PackingSlot]:
    """Open orders of a batch grouped by pickup slot, each with its lines and the slot's
    totals per product: what the shop packs into bags. Three queries whatever the size."""
    orders = list(
        Order.objects.filter(batch=batch, status__in=OPEN)
        .select_related("resident", "household__unit__building__estate", "slot")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id"))
        )
        .order_by("slot__starts_at", "household_id", "id")
    )
    groups: dict[int | None, PackingSlot] = {}
    for order in orders:
        slot = order.slot
        label = clock.span(slot.starts_at, slot.ends_at) if slot else "-"
        group = groups.setdefault(order.slot_id, PackingSlot(label, order.slot_id, [], []))
        group.orders.append(
            PackingOrder(
                order=order,
                household=household_label(order.household) if order.household else "",
                lines=[(ln.product.name, ln.product.unit, ln.quantity) for ln in order.lines.all()],
            )
        )
    for group in groups.values():
        sums: dict[tuple[str, str], int] = {}
        for packed in group.orders:
            for name, unit, qty in packed.lines:
                sums[(name, unit)] = sums.get((name, unit), 0) + qty
        group.totals.extend((name, unit, qty) for (name, unit), qty in sorted(sums.items()))
    return list(groups.values())


def packing_list_csv(*, batch: PreorderBatch, names: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["slot", "order", "pickup_code", "household", "resident", "product", "unit", "quantity",
         "money_due_fen", "points_used", "status"]
    )  # fmt: skip
    from tenants.community.phones import mask_name

    for group in packing_list(batch=batch):
        for packed in group.orders:
            order = packed.order
            name = order.resident.display_name
            for product, unit, qty in packed.lines:
                writer.writerow(
                    [group.label, order.pk, order.pickup_code, packed.household,
                     name if names else mask_name(name), product, unit, qty,
                     order.money_due_fen, order.points_used, order.status]
                )  # fmt: skip
    return out.getvalue()


# --- parcels ------------------------------------------------------------------------------------


def recipient_suggestions(*, query: str, limit: int = 10) -> list[Household]:
    """Households a parcel's label may mean: by a resident's name, the last digits of a
    phone, or the flat number (most likely first). Two queries."""
    from tenants.community.models import Resident

    query = (query or "").strip()
    if not query:
        return []
    digits = "".join(ch for ch in query if ch.isdigit())
    residents = Resident.objects.filter(erased_at__isnull=True, household__isnull=False)
    match = Q(display_name__icontains=query)
    if len(digits) >= 4 and len(digits) == len(query.replace(" ", "").lstrip("+")):
        match |= Q(phone__endswith=digits)
    household_ids = list(
        residents.filter(match)
        .order_by("household_id")
        .values_list("household_id", flat=True)
        .distinct()[:limit]
    )
    if len(household_ids) < limit:
        household_ids += list(
            Household.objects.filter(flat_number__iexact=query)
            .exclude(pk__in=household_ids)
            .values_list("pk", flat=True)[: limit - len(household_ids)]
        )
    found = Household.objects.select_related("unit__building__estate").in_bulk(household_ids)
    return [found[pk] for pk in household_ids if pk in found]


def parcels_daily(*, shop_id: int, day: date) -> dict[str, Any]:
    """One day at one shop's parcel shelf: arrived, picked up, returned, still waiting, and
    those waiting long enough to remind or send back. One query."""
    from tenants.shop.services.common import shop_settings

    settings = shop_settings()
    remind: Any = timedelta(days=settings.parcel_remind_days)
    back: Any = timedelta(days=settings.parcel_return_days)
    start, end = clock.day_bounds(day)  # a local day (23 or 25 hours when clocks change)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              count(*) FILTER (WHERE arrived_at >= %(start)s AND arrived_at < %(end)s),
              count(*) FILTER (WHERE picked_up_at >= %(start)s AND picked_up_at < %(end)s),
              count(*) FILTER (WHERE returned_at >= %(start)s AND returned_at < %(end)s),
              count(*) FILTER (WHERE arrived_at < %(end)s
                               AND coalesce(picked_up_at, returned_at, 'infinity') >= %(end)s),
              count(*) FILTER (WHERE arrived_at < %(end)s - %(remind)s
                               AND coalesce(picked_up_at, returned_at, 'infinity') >= %(end)s),
              count(*) FILTER (WHERE arrived_at < %(end)s - %(back)s
                               AND coalesce(picked_up_at, returned_at, 'infinity') >= %(end)s)
            FROM shop_parcel WHERE shop_id = %(shop)s
            """,
            {
                "start": start,
                "end": end,
                "shop": shop_id,
                "remind": remind,
                "back": back,
            },
        )
        arrived, picked_up, returned, waiting, to_remind, to_return = cursor.fetchone()
    return {
        "shop_id": shop_id,
        "day": day,
        "arrived": arrived,
        "picked_up": picked_up,
        "returned": returned,
        "waiting_at_close": waiting,
        "waiting_over_remind_days": to_remind,
        "waiting_over_return_days": to_return,
    }


def parcel_turnaround(*, month: date) -> list[dict[str, Any]]:
    """Per shop, parcels that arrived in ``month``: counts and hours to pickup (mean, median,
    90th percentile). One query."""
    start, end = _month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id, s.name, count(p.id),
                   count(p.picked_up_at), count(p.returned_at),
                   avg(extract(epoch FROM p.picked_up_at - p.arrived_at) / 3600),
                   percentile_cont(0.5) WITHIN GROUP (
                     ORDER BY extract(epoch FROM p.picked_up_at - p.arrived_at) / 3600),
                   percentile_cont(0.9) WITHIN GROUP (
                     ORDER BY extract(epoch FROM p.picked_up_at - p.arrived_at) / 3600)
            FROM shop_shop s
            JOIN shop_parcel p ON p.shop_id = s.id AND p.arrived_at >= %s AND p.arrived_at < %s
            GROUP BY s.id, s.name ORDER BY s.name
            """,
            [start, end],
        )
        rows = cursor.fetchall()
    return [
        {
            "shop_id": shop_id,
            "shop": name,
            "arrived": arrived,
            "picked_up": picked,
            "returned": returned,
            "mean_hours": _round(mean),
            "median_hours": _round(median),
            "p90_hours": _round(p90),
        }
        for shop_id, name, arrived, picked, returned, mean, median, p90 in rows
    ]


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month holding ``month``, from its first local midnight to the next month's."""
    return clock.month_bounds(month)


# --- sales, batches, partners -------------------------------------------------------------------


def sales_daily(*, month: date, shop_id: int | None = None) -> list[dict[str, Any]]:
    """Orders collected per shop per day of ``month`` (local days): count, money taken (cash
    and terminal), and points redeemed on them. One query."""
    start, end = _month_bounds(month)
    tz = timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT o.shop_id, s.name, (o.picked_up_at AT TIME ZONE %(tz)s)::date AS day,
                   count(*), coalesce(sum(o.paid_fen) FILTER (WHERE o.payment = 'cash'), 0),
                   coalesce(sum(o.paid_fen) FILTER (WHERE o.payment = 'terminal'), 0),
                   coalesce(sum(o.points_used), 0), coalesce(sum(o.total_fen), 0)
            FROM shop_order o JOIN shop_shop s ON s.id = o.shop_id
            WHERE o.status = 'picked_up' AND o.picked_up_at >= %(start)s
              AND o.picked_up_at < %(end)s AND (%(shop)s::bigint IS NULL OR o.shop_id = %(shop)s)
            GROUP BY o.shop_id, s.name, day ORDER BY day, s.name
            """,
            {"tz": tz, "start": start, "end": end, "shop": shop_id},
        )
        rows = cursor.fetchall()
    return [
        {
            "shop_id": sid,
            "shop": name,
            "day": day,
            "orders": orders,
            "cash_fen": cash,
            "terminal_fen": terminal,
            "points": points,
            "sales_fen": sales,
        }
        for sid, name, day, orders, cash, terminal, points, sales in rows
    ]


def batch_sell_through(*, batch: PreorderBatch) -> list[dict[str, Any]]:
    """Per item: units available, ordered (still open or collected), collected, expired."""
    active = Q(order_lines__order__status__in=[*OPEN, Order.Status.PICKED_UP])
    items = (
        BatchItem.objects.filter(batch=batch)
        .select_related("product")
        .annotate(
            open_or_collected=Sum("order_lines__quantity", filter=active, default=0),
            collected=Sum(
                "order_lines__quantity",
                filter=Q(order_lines__order__status=Order.Status.PICKED_UP),
                default=0,
            ),
            expired=Sum(
                "order_lines__quantity",
                filter=Q(order_lines__order__status=Order.Status.EXPIRED),
                default=0,
            ),
            orders=Count("order_lines", filter=active),
        )
        .order_by("pk")
    )
    return [
        {
            "item_id": item.pk,
            "product": item.product.name,
            "unit": item.product.unit,
            "available": item.limit_total,
            "ordered": item.open_or_collected,
            "collected": item.collected,
            "expired": item.expired,
            "orders": item.orders,
            "sell_through": (
                round(item.open_or_collected / item.limit_total, 3) if item.limit_total else None
            ),
        }
        for item in items
    ]


def partner_settlement(*, month: date) -> list[dict[str, Any]]:
    """Per partner organisation, bookings of slots in ``month``: completed ones, money the
    partner collected, points it received net of refunds. One query."""
    start, end = _month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT o.id, o.name,
                   count(*) FILTER (WHERE b.status = 'completed'),
                   coalesce(sum(b.price_fen) FILTER (WHERE b.status = 'completed'), 0),
                   coalesce(sum(b.points_paid) FILTER (WHERE b.points_refund_id IS NULL), 0),
                   count(*) FILTER (WHERE b.status IN ('declined', 'cancelled'))
            FROM shop_booking b
            JOIN shop_serviceslot sl ON sl.id = b.slot_id
            JOIN shop_partnerservice ps ON ps.id = b.service_id
            JOIN community_organisation o ON o.id = ps.organisation_id
            WHERE sl.starts_at >= %s AND sl.starts_at < %s
            GROUP BY o.id, o.name ORDER BY o.name
            """,
            [start, end],
        )
        rows = cursor.fetchall()
    return [
        {
            "organisation_id": oid,
            "organisation": name,
            "completed": completed,
            "money_fen": money,
            "points": points,
            "declined_or_cancelled": dropped,
        }
        for oid, name, completed, money, points, dropped in rows
    ]


def as_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return out.getvalue()
