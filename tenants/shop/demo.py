"""The shop part of the demo city: a neighbourhood shop in every estate, the villages' weekly
pre-order batches for a season (13 weeks) with their orders, some paid partly in points the
volunteers earned, parcels on the shelves, and partner services with bookings. Bulk inserts;
the ledger's own triggers check every points transaction.

The data is reproducible from the seed, but not the secrets: QR tokens come from the models'
random default and pickup codes from ``pickup_code`` (the secrets module), as in production,
so no two demo tenants share them."""

from __future__ import annotations

import random
from datetime import time, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from linli import clock
from tenants.community.models import Estate, Organisation, Resident
from tenants.shop.models import (
    BatchItem,
    Booking,
    Order,
    OrderLine,
    Parcel,
    PartnerService,
    PickupSlot,
    PreorderBatch,
    Product,
    ServiceSlot,
    Shop,
    Supplier,
    pickup_code,
)

PRODUCE = (
    ("青菜", "斤", 300, 50),
    ("土鸡蛋", "盒", 2500, 20),
    ("砂糖橘", "斤", 600, 30),
    ("红薯", "斤", 250, 50),
    ("豆腐", "块", 300, 0),
    ("六堡茶", "盒", 8800, 10),
)
DAILY_GOODS = (
    ("酱油", "瓶", 1200, 100),
    ("大米", "袋", 5900, 20),
    ("洗衣液", "瓶", 2990, 50),
    ("卫生纸", "提", 2490, 50),
)
CARRIERS = ("顺丰", "中通", "圆通", "韵达", "邮政", "京东")
SERVICES = (
    ("housekeeping", "家居清洁两小时", 8000, 30),
    ("elderly_care", "上门陪护半天", 6000, 25),
    ("education", "小学作业辅导", 5000, 20),
    ("medical", "上门量血压测血糖", 1000, 5),
    ("property", "水电小修", 3000, None),
)
SHAPES = {
    "small": {"weeks": 4, "orders_per_batch": 6, "parcels_per_shop": 40, "bookings": 20},
    "full": {"weeks": 13, "orders_per_batch": 12, "parcels_per_shop": 180, "bookings": 3000},
}


def _set(model: Any, column: str, sql_type: str, rows: list[tuple[int, Any]]) -> None:
    """One UPDATE for many rows (``bulk_update`` builds a CASE per row: far too slow here)."""
    if not rows:
        return
    ids, values = zip(*rows, strict=True)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" t SET "{column}" = v.value '
            f"FROM unnest(%s::bigint[], %s::{sql_type}[]) AS v(id, value) WHERE t.id = v.id",
            [list(ids), list(values)],
        )


def _open_code(taken: set[tuple[int, str]], shop_id: int) -> str:
    """A random pickup code not yet held by another open order (or waiting parcel) of the
    shop: the database allows each only once."""
    while True:
        code = pickup_code()
        if (shop_id, code) not in taken:
            taken.add((shop_id, code))
            return code


@transaction.atomic
def shop_demo_build(*, scale: str, seed: int = 2022) -> dict[str, int]:
    shape = SHAPES[scale]
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    now = timezone.now()
    today = timezone.localdate()
    estates = list(Estate.objects.order_by("pk"))
    shops = Shop.objects.bulk_create(
        Shop(
            estate=e,
            name=f"{e.name}邻家小店",
            zones=["daily_goods", "parcels", "preorders"],
            opening_hours="08:00-20:00",
        )
        for e in estates
    )
    villages = list(Organisation.objects.filter(kind="cooperative").order_by("pk"))
    suppliers = Supplier.objects.bulk_create(
        Supplier(name=o.name, kind="cooperative", contact_name=o.contact_name) for o in villages
    ) or [Supplier.objects.create(name="大业村农业专业合作社", kind="cooperative")]
    products = Product.objects.bulk_create(
        [
            Product(
                shop=s,
                supplier=suppliers[n % len(suppliers)],
                name=name,
                unit=unit,
                price_fen=price,
                points_share=share,
            )
            for n, s in enumerate(shops)
            for name, unit, price, share in PRODUCE
        ]
        + [
            Product(
                shop=s,
                name=name,
                unit=unit,
                price_fen=price,
                points_share=share,
                stock=rng.randint(10, 60),
            )
            for s in shops
            for name, unit, price, share in DAILY_GOODS
        ]
    )
    produce_of: dict[int, list[Product]] = {}
    for p in products:
        if p.stock is None:
            produce_of.setdefault(p.shop_id, []).append(p)
    # A season of weekly batches: past weeks collected, this week open.
    batches: list[PreorderBatch] = []
    for s in shops:
        for week in range(shape["weeks"]):
            weeks_ago = shape["weeks"] - 1 - week
            # Orders open at 08:00 and close at 20:00 four days later, on the city's clock.
            first_day = today - timedelta(days=7 * weeks_ago + 3)
            opens = clock.at(first_day, time(8))
            closes = clock.at(first_day + timedelta(days=4), time(20))
            batches.append(
                PreorderBatch(
                    shop=s,
                    supplier=suppliers[(s.pk + week) % len(suppliers)],
                    title=f"第{week + 1}周 乡村直供",
                    opens_at=opens,
                    closes_at=closes,
                    opened_at=opens,
                    closed_at=None if weeks_ago == 0 else closes,
                    pickup_on=first_day + timedelta(days=5),
                )
            )
    PreorderBatch.objects.bulk_create(batches, batch_size=5000)
    items, slots = [], []
    for b in batches:
        for p in rng.sample(produce_of[b.shop_id], 4):
            items.append(
                BatchItem(
                    batch=b,
                    product=p,
                    price_fen=p.price_fen,
                    points_share=p.points_share,
                    limit_total=rng.choice([40, 60, 80]),
                    limit_per_household=5,
                )
            )
        slots += [  # the shop's wall clock: 09:00-12:00 and 17:00-20:00
            PickupSlot(
                batch=b,
                starts_at=clock.at(b.pickup_on, time(9)),
                ends_at=clock.at(b.pickup_on, time(12)),
            ),
            PickupSlot(
                batch=b,
                starts_at=clock.at(b.pickup_on, time(17)),
                ends_at=clock.at(b.pickup_on, time(20)),
            ),
        ]
    BatchItem.objects.bulk_create(items, batch_size=5000)
    PickupSlot.objects.bulk_create(slots, batch_size=5000)
    counts = _orders(rng, shape, shops, batches, items, slots, now)
    counts |= _parcels(rng, shape, shops, now)
    counts |= _services(rng, shape, now, today)
    with connection.cursor() as cursor:
        for table in ("shop_order", "shop_orderline", "shop_parcel", "shop_booking"):
            cursor.execute(f'ANALYZE "{table}"')
    return {"shops": len(shops), "batches": len(batches), **counts}


def _orders(rng, shape, shops, batches, items, slots, now) -> dict[str, int]:  # type: ignore[no-untyped-def]
    residents_by_estate: dict[int, list[tuple[int, int]]] = {}
    for rid, hid, eid in Resident.objects.filter(household__isnull=False).values_list(
        "pk", "household_id", "household__unit__building__estate_id"
    ):
        residents_by_estate.setdefault(eid, []).append((rid, hid))
    items_of: dict[int, list[BatchItem]] = {}
    for item in items:
        items_of.setdefault(item.batch_id, []).append(item)
    slots_of: dict[int, list[PickupSlot]] = {}
    for slot in slots:
        slots_of.setdefault(slot.batch_id, []).append(slot)
    estate_of = {s.pk: s.estate_id for s in shops}
    balances = _point_balances()
    orders, lines_of, spend = [], [], []
    codes: set[tuple[int, str]] = set()
    for b in batches:
        people = residents_by_estate.get(estate_of[b.shop_id], [])
        is_open = b.closed_at is None
        for rid, hid in rng.sample(people, min(shape["orders_per_batch"], len(people))):
            picked = rng.sample(items_of[b.pk], rng.randint(1, 2))
            lines = []
            for item in picked:
                qty = rng.randint(1, 3)
                total = item.price_fen * qty
                lines.append(
                    OrderLine(
                        product_id=item.product_id,
                        batch_item=item,
                        quantity=qty,
                        unit_price_fen=item.price_fen,
                        total_fen=total,
                        points_allowed=(total * item.points_share // 100) // 100,
                    )
                )
                item.ordered += qty
            total = sum(ln.total_fen for ln in lines)
            allowed = sum(ln.points_allowed for ln in lines)
            points = min(allowed, balances.get(rid, 0))
            balances[rid] = balances.get(rid, 0) - points
            status = (
                "placed"
                if is_open
                else rng.choices(["picked_up", "expired", "cancelled"], [90, 5, 5])[0]
            )
            placed_at = min(b.opens_at + timedelta(hours=rng.randint(1, 90)), now)
            pickup = clock.at(b.pickup_on, time(10))
            due = total - points * 100
            orders.append(
                Order(
                    shop_id=b.shop_id,
                    batch=b,
                    slot=rng.choice(slots_of[b.pk]),
                    resident_id=rid,
                    placed_at=placed_at,
                    household_id=hid,
                    status=status,
                    total_fen=total,
                    points_used=points,
                    money_due_fen=due,
                    pickup_code=_open_code(codes, b.shop_id) if status == "placed" else "------",
                    collect_by=pickup + timedelta(days=1, hours=14),
                    payment=rng.choice(["cash", "terminal"])
                    if status == "picked_up" and due
                    else "",
                    paid_fen=due if status == "picked_up" else 0,
                    confirmed_at=None if is_open else b.closes_at,
                    ready_at=pickup - timedelta(hours=2) if status == "picked_up" else None,
                    picked_up_at=pickup + timedelta(minutes=rng.randint(0, 480))
                    if status == "picked_up"
                    else None,
                    ended_at=pickup + timedelta(days=2)
                    if status in ("expired", "cancelled")
                    else None,
                )
            )
            lines_of.append(lines)
            # Refunds are posted after every redemption, so refunded points are not spent
            # again here: the ledger never sees a balance below zero.
            spend.append((rid, points, b.shop_id, status in ("expired", "cancelled")))
            if status == "cancelled":
                for item, line in zip(picked, lines, strict=True):
                    item.ordered -= line.quantity
    placed = [o.placed_at for o in orders]
    Order.objects.bulk_create(orders, batch_size=5000)
    # placed_at is stamped on insert: give the history its real times
    _set(
        Order,
        "placed_at",
        "timestamptz",
        [(o.pk, at) for o, at in zip(orders, placed, strict=True)],
    )
    for o, at in zip(orders, placed, strict=True):
        o.placed_at = at
    all_lines = []
    for order, lines in zip(orders, lines_of, strict=True):
        for line in lines:
            line.order = order
            all_lines.append(line)
    OrderLine.objects.bulk_create(all_lines, batch_size=5000)
    _set(BatchItem, "ordered", "integer", [(i.pk, i.ordered) for i in items])
    redeemed = _redeem_history(orders, spend)
    return {"orders": len(orders), "order_lines": len(all_lines), "points_redemptions": redeemed}


def _point_balances() -> dict[int, int]:
    from tenants.points.models import Account

    return dict(
        Account.objects.filter(kind="resident", balance__gt=0).values_list("resident_id", "balance")
    )


def _redeem_history(orders: list[Order], spend: list[tuple[int, int, int, bool]]) -> int:
    """Points spent on the season's orders (and given back on cancelled or expired ones), as
    real ledger transactions with real postings."""
    from tenants.points.models import Account, Posting, Transaction

    paying = [
        (o, rid, pts, shop, back)
        for o, (rid, pts, shop, back) in zip(orders, spend, strict=True)
        if pts
    ]
    if not paying:
        return 0
    shop_ids = {shop for _o, _r, _p, shop, _b in paying}
    names = dict(Shop.objects.filter(pk__in=shop_ids).values_list("pk", "name"))
    Account.objects.bulk_create(
        Account(kind="shop", code=f"shop:{sid}", name=names[sid]) for sid in shop_ids
    )
    accounts = {a.code: a for a in Account.objects.filter(kind__in=["shop", "resident"])}
    # spent when ordered, given back when the order ended
    redemptions = Transaction.objects.bulk_create(
        (
            Transaction(
                kind="redeem",
                memo=f"Order {o.pk}",
                idempotency_key=f"shop.order:{o.pk}:redeem",
                request_hash="demo",
                created_at=o.placed_at,
            )
            for o, *_rest in paying
        ),
        batch_size=5000,
    )
    postings = []
    for (_o, rid, pts, shop, _back), tx in zip(paying, redemptions, strict=True):
        at = tx.created_at
        postings += [
            Posting(
                transaction=tx, account=accounts[f"resident:{rid}"], amount=-pts, created_at=at
            ),
            Posting(transaction=tx, account=accounts[f"shop:{shop}"], amount=pts, created_at=at),
        ]
    Posting.objects.bulk_create(postings, batch_size=5000)
    refunded = [(row, tx) for row, tx in zip(paying, redemptions, strict=True) if row[4]]
    refunds = Transaction.objects.bulk_create(
        (
            Transaction(
                kind="refund",
                memo=f"Order {row[0].pk}",
                refunds=tx,
                idempotency_key=f"shop.order:{row[0].pk}:refund",
                request_hash="demo",
                created_at=row[0].ended_at or row[0].placed_at,
            )
            for row, tx in refunded
        ),
        batch_size=5000,
    )
    postings = []
    for ((_o, rid, pts, shop, _b), _tx), refund in zip(refunded, refunds, strict=True):
        at = refund.created_at
        postings += [
            Posting(
                transaction=refund, account=accounts[f"shop:{shop}"], amount=-pts, created_at=at
            ),
            Posting(
                transaction=refund,
                account=accounts[f"resident:{rid}"],
                amount=pts,
                created_at=at,
            ),
        ]
    Posting.objects.bulk_create(postings, batch_size=5000)
    _set(
        Order,
        "points_redemption_id",
        "bigint",
        [(row[0].pk, tx.pk) for row, tx in zip(paying, redemptions, strict=True)],
    )
    _set(
        Order,
        "points_refund_id",
        "bigint",
        [(row[0].pk, refund.pk) for (row, _tx), refund in zip(refunded, refunds, strict=True)],
    )
    return len(redemptions)


def _parcels(
    rng: random.Random, shape: dict[str, int], shops: list[Shop], now: Any
) -> dict[str, int]:
    households_by_estate: dict[int, list[int]] = {}
    for hid, eid in Resident.objects.filter(household__isnull=False).values_list(
        "household_id", "household__unit__building__estate_id"
    ):
        households_by_estate.setdefault(eid, []).append(hid)
    parcels: list[Parcel] = []
    codes: set[tuple[int, str]] = set()
    for s in shops:
        homes = households_by_estate.get(s.estate_id) or []
        if not homes:
            continue
        for _n in range(shape["parcels_per_shop"]):
            arrived = now - timedelta(days=rng.randint(0, 89), hours=rng.randint(0, 10))
            age = (now - arrived).days
            status = (
                "waiting"
                if age < 2
                else rng.choices(["picked_up", "returned", "waiting"], [94, 3, 3])[0]
            )
            parcels.append(
                Parcel(
                    shop=s,
                    carrier=rng.choice(CARRIERS),
                    arrived_at=arrived,
                    tracking_number=f"DEMO{len(parcels):09d}",
                    household_id=rng.choice(homes),
                    shelf=f"{rng.choice('ABCD')}{rng.randint(1, 6)}",
                    status=status,
                    pickup_code=_open_code(codes, s.pk) if status == "waiting" else "------",
                    picked_up_at=arrived + timedelta(hours=rng.randint(2, 72))
                    if status == "picked_up"
                    else None,
                    returned_at=arrived + timedelta(days=14) if status == "returned" else None,
                    reminders_sent=min(age // 3, 4) if status != "picked_up" else 0,
                )
            )
    arrivals = [p.arrived_at for p in parcels]
    Parcel.objects.bulk_create(parcels, batch_size=5000)
    # arrived_at is stamped on insert: give the history its real arrival times.
    _set(
        Parcel,
        "arrived_at",
        "timestamptz",
        [(p.pk, at) for p, at in zip(parcels, arrivals, strict=True)],
    )
    return {"parcels": len(parcels)}


def _services(rng: random.Random, shape: dict[str, int], now: Any, today: Any) -> dict[str, int]:
    companies = list(Organisation.objects.exclude(kind="cooperative").order_by("pk")[:10])
    if not companies:
        return {"partner_services": 0, "bookings": 0}
    services = PartnerService.objects.bulk_create(
        PartnerService(
            organisation=companies[n % len(companies)],
            category=cat,
            title=title,
            price_fen=price,
            points_price=points,
        )
        for n, (cat, title, price, points) in enumerate(SERVICES)
    )
    slots = ServiceSlot.objects.bulk_create(
        ServiceSlot(
            service=s,
            starts_at=clock.at(today + timedelta(days=d), time(h)),
            ends_at=clock.at(today + timedelta(days=d), time(h + 2)),
            capacity=4,
        )
        for s in services
        for d in range(-60, 15)
        for h in (9, 14)  # the partner's morning and afternoon visits, local time
    )
    residents = list(Resident.objects.values_list("pk", flat=True)[:5000])
    bookings: list[Booking] = []
    used: set[tuple[int, int]] = set()
    for _n in range(shape["bookings"]):
        slot = rng.choice(slots)
        who = rng.choice(residents)
        if slot.booked >= slot.capacity or (slot.pk, who) in used:
            continue
        used.add((slot.pk, who))
        slot.booked += 1
        past = slot.starts_at < now
        service = next(s for s in services if s.pk == slot.service_id)
        bookings.append(
            Booking(
                service=service,
                slot=slot,
                resident_id=who,
                status=rng.choice(["completed", "completed", "declined"]) if past else "confirmed",
                pay_with="money",
                price_fen=service.price_fen or 0,
            )
        )
    for b in bookings:
        if b.status == "declined":
            b.slot.booked -= 1
    Booking.objects.bulk_create(bookings, batch_size=5000)
    _set(ServiceSlot, "booked", "integer", [(s.pk, s.booked) for s in slots])
    return {"partner_services": len(services), "bookings": len(bookings)}
