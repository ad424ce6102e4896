"""Orders from placing to pickup, and every refusal: nothing changes when one is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from linli.errors import Conflict, LinliError, NotFound, ValidationFailed
from tenants.points.models import Transaction
from tenants.shop.models import BatchItem, Order, Product
from tenants.shop.services import catalogue, orders
from tests.tenants.shop.conftest import balance, give_points, items, open_batch, shop_balance


def place(estate, batch, *lines, points=0, who="xu", slot=True):
    return orders.order_place(
        resident_id=estate[who].pk,
        batch_id=batch.pk,
        slot_id=batch.slots.first().pk if slot else None,
        lines=list(lines),
        points=points,
    )


def refused(expected, call, *args, **kwargs) -> LinliError:
    with pytest.raises(LinliError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == expected, caught.value
    return caught.value


def test_mr_xu_orders_greens_and_eggs_paying_part_in_points(estate, batch):
    # given 100 points earned volunteering
    give_points(estate["xu"], 100)
    greens, eggs = items(batch)
    # when he orders 2 斤 greens (600 fen, 50% → 3 points) and 1 box of eggs (2500, 20% → 5)
    order = place(estate, batch, (greens.pk, 2), (eggs.pk, 1), points=8)
    # then
    assert order.status == "placed"
    assert order.total_fen == 3100
    assert order.points_used == 8
    assert order.money_due_fen == 3100 - 800
    assert len(order.pickup_code) == 6
    assert set(order.pickup_code) <= set("ACDEFGHJKMNPQRTUVWXY34679")
    assert balance(estate["xu"]) == 92
    assert shop_balance(estate["shop"]) == 8
    greens.refresh_from_db()
    eggs.refresh_from_db()
    assert (greens.ordered, eggs.ordered) == (2, 1)
    assert [ln.points_allowed for ln in order.lines.order_by("id")] == [3, 5]


def test_more_points_than_the_share_allows_is_refused_and_nothing_changes(estate, batch):
    give_points(estate["xu"], 100)
    greens, _eggs = items(batch)
    refused("points_over_share", place, estate, batch, (greens.pk, 2), points=4)
    greens.refresh_from_db()
    assert greens.ordered == 0
    assert Order.objects.count() == 0
    assert balance(estate["xu"]) == 100


def test_more_points_than_the_balance_is_refused_and_nothing_changes(estate, batch):
    give_points(estate["xu"], 2)
    greens, _eggs = items(batch)
    refused("insufficient_points", place, estate, batch, (greens.pk, 2), points=3)
    greens.refresh_from_db()
    assert greens.ordered == 0
    assert Order.objects.count() == 0
    assert balance(estate["xu"]) == 2


def test_beyond_the_household_limit_counts_the_whole_household(estate, batch):
    greens, _eggs = items(batch)
    place(estate, batch, (greens.pk, 2))
    # his wife shares the flat: one more is fine, two more is not
    error = refused("limit_exceeded", place, estate, batch, (greens.pk, 2), who="wife")
    assert error.status == 409
    place(estate, batch, (greens.pk, 1), who="wife")
    refused("limit_exceeded", place, estate, batch, (greens.pk, 1), who="xu")
    # the neighbour's household has its own limit
    place(estate, batch, (greens.pk, 3), who="neighbour")
    greens.refresh_from_db()
    assert greens.ordered == 6


def test_beyond_what_is_left_is_out_of_stock(estate):
    batch = open_batch(estate, greens_total=4, per_household=None)
    greens, _eggs = items(batch)
    place(estate, batch, (greens.pk, 3))
    refused("out_of_stock", place, estate, batch, (greens.pk, 2), who="neighbour")
    place(estate, batch, (greens.pk, 1), who="neighbour")
    greens.refresh_from_db()
    assert greens.ordered == 4
    assert Order.objects.count() == 2


def test_after_the_cut_off_and_before_opening_orders_are_refused(estate):
    now = timezone.now()
    later = open_batch(
        estate, opens_at=now + timedelta(hours=1), closes_at=now + timedelta(hours=5)
    )
    greens, _eggs = items(later)
    refused("batch_not_open", place, estate, later, (greens.pk, 1))
    batch = open_batch(estate)
    greens, _eggs = items(batch)
    catalogue.batch_close(batch_id=batch.pk)
    error = refused("batch_closed", place, estate, batch, (greens.pk, 1))
    assert error.status == 409
    assert Order.objects.count() == 0


def test_bad_lines_and_slots_are_refused(estate, batch):
    greens, _eggs = items(batch)
    refused("slot_required", place, estate, batch, (greens.pk, 1), slot=False)
    refused("quantity_invalid", place, estate, batch, (greens.pk, 0))
    refused("item_not_found", place, estate, batch, (999_999, 1))
    refused("lines_invalid", place, estate, batch)
    with pytest.raises(ValidationFailed) as caught:
        orders.order_place(
            resident_id=estate["xu"].pk, batch_id=batch.pk, slot_id=999_999, lines=[(greens.pk, 1)]
        )
    assert caught.value.code == "slot_invalid"
    greens.refresh_from_db()
    assert greens.ordered == 0


def test_the_whole_flow_to_pickup_with_the_code_and_the_money(
    estate, batch, notices, django_capture_on_commit_callbacks
):
    give_points(estate["xu"], 10)
    greens, _eggs = items(batch)
    order = place(estate, batch, (greens.pk, 2), points=3)
    refused("batch_still_open", orders.order_ready, order_id=order.pk)
    # the cut-off passes: the batch closes, its placed orders are confirmed
    assert catalogue.batches_close_due(now=batch.closes_at + timedelta(seconds=1)) == 1
    order.refresh_from_db()
    assert order.status == "confirmed"
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_ready(order_id=order.pk)
    # wrong code, wrong money, no method: refused
    refused(
        "code_invalid",
        orders.order_pick_up,
        order_id=order.pk,
        code="AAAAAA",
        payment="cash",
        paid_fen=300,
    )
    refused("payment_required", orders.order_pick_up, order_id=order.pk, code=order.pickup_code)
    refused(
        "payment_mismatch",
        orders.order_pick_up,
        order_id=order.pk,
        code=order.pickup_code,
        payment="cash",
        paid_fen=299,
    )
    done = orders.order_pick_up(
        order_id=order.pk, code=order.pickup_code.lower(), payment="cash", paid_fen=300
    )
    assert (done.status, done.paid_fen, done.payment) == ("picked_up", 300, "cash")
    refused(
        "already_picked_up",
        orders.order_pick_up,
        order_id=order.pk,
        code=order.pickup_code,
        payment="cash",
        paid_fen=300,
    )
    assert balance(estate["xu"]) == 7
    [notice] = [n for n in notices if n.kind == "shop.order.ready"]
    assert notice.resident_id == estate["xu"].pk
    assert order.pickup_code in notice.body


def test_picking_up_before_ready_is_refused(estate, batch):
    greens, _eggs = items(batch)
    order = place(estate, batch, (greens.pk, 1))
    refused("not_ready", orders.order_pick_up, order_id=order.pk, code=order.pickup_code)
    order.refresh_from_db()
    assert order.status == "placed"


def test_a_resident_cancels_before_the_cut_off_units_and_points_come_back(estate, batch):
    give_points(estate["xu"], 10)
    greens, _eggs = items(batch)
    order = place(estate, batch, (greens.pk, 3), points=4)
    cancelled = orders.order_cancel(order_id=order.pk, by_resident_id=estate["xu"].pk)
    assert cancelled.status == "cancelled"
    greens.refresh_from_db()
    assert greens.ordered == 0
    assert balance(estate["xu"]) == 10
    assert shop_balance(estate["shop"]) == 0
    # cancelled twice: refused, no second refund
    refused("transition_not_allowed", orders.order_cancel, order_id=order.pk)
    assert Transaction.objects.filter(kind="refund").count() == 1
    # a cancelled order frees the household's limit too
    place(estate, batch, (greens.pk, 3))


def test_a_resident_cannot_cancel_after_the_cut_off_or_someone_elses(estate, batch):
    greens, _eggs = items(batch)
    order = place(estate, batch, (greens.pk, 1))
    with pytest.raises(NotFound):
        orders.order_cancel(order_id=order.pk, by_resident_id=estate["neighbour"].pk)
    catalogue.batch_close(batch_id=batch.pk)
    refused(
        "transition_not_allowed",
        orders.order_cancel,
        order_id=order.pk,
        by_resident_id=estate["xu"].pk,
    )
    # the shop still can (the supplier fell short)
    assert orders.order_cancel(order_id=order.pk, reason="short").status == "cancelled"


def test_uncollected_orders_expire_after_the_pickup_day_and_grace(estate, batch):
    give_points(estate["xu"], 10)
    greens, _eggs = items(batch)
    order = place(estate, batch, (greens.pk, 2), points=3)
    catalogue.batch_close(batch_id=batch.pk)
    orders.order_ready(order_id=order.pk)
    order.refresh_from_db()
    # the end of the pickup day in the tenant's time, plus 24 hours of grace
    assert timezone.localtime(order.collect_by).date() == batch.pickup_on + timedelta(days=2)
    assert orders.orders_expire(now=order.collect_by - timedelta(seconds=1)) == 0
    assert orders.orders_expire(now=order.collect_by + timedelta(seconds=1)) == 1
    order.refresh_from_db()
    assert order.status == "expired"
    assert balance(estate["xu"]) == 10
    assert orders.orders_expire(now=order.collect_by + timedelta(days=1)) == 0
    assert Transaction.objects.filter(kind="refund").count() == 1
    refused("transition_not_allowed", orders.order_cancel, order_id=order.pk)


def test_daily_goods_come_off_the_shelf_and_go_back_when_uncollected(estate):
    give_points(estate["xu"], 50)
    soy = estate["soy"]
    order = orders.order_place(
        resident_id=estate["xu"].pk, shop_id=estate["shop"].pk, lines=[(soy.pk, 3)], points=36
    )
    assert (order.total_fen, order.money_due_fen, order.points_used) == (3600, 0, 36)
    soy.refresh_from_db()
    assert soy.stock == 7
    refused(
        "out_of_stock",
        orders.order_place,
        resident_id=estate["neighbour"].pk,
        shop_id=estate["shop"].pk,
        lines=[(soy.pk, 8)],
    )
    refused(
        "preorder_only",
        orders.order_place,
        resident_id=estate["neighbour"].pk,
        shop_id=estate["shop"].pk,
        lines=[(estate["greens"].pk, 1)],
    )
    orders.order_ready(order_id=order.pk)
    assert orders.orders_expire(now=order.collect_by + timedelta(minutes=1)) == 1
    soy.refresh_from_db()
    assert soy.stock == 10
    assert balance(estate["xu"]) == 50


def test_nothing_due_means_nothing_taken_at_pickup(estate):
    give_points(estate["xu"], 50)
    soy = estate["soy"]
    order = orders.order_place(
        resident_id=estate["xu"].pk, shop_id=estate["shop"].pk, lines=[(soy.pk, 1)], points=12
    )
    orders.order_ready(order_id=order.pk)
    refused(
        "payment_mismatch",
        orders.order_pick_up,
        order_id=order.pk,
        code=order.pickup_code,
        payment="cash",
        paid_fen=100,
    )
    assert orders.order_pick_up(order_id=order.pk, code=order.pickup_code).status == "picked_up"


def test_cancelling_a_batch_cancels_and_refunds_every_open_order(estate, batch):
    give_points(estate["xu"], 10)
    greens, eggs = items(batch)
    first = place(estate, batch, (greens.pk, 1), points=1)
    second = place(estate, batch, (eggs.pk, 1), who="neighbour")
    catalogue.batch_cancel(batch_id=batch.pk, reason="暴雨 菜未能送達")
    assert set(
        Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == {"cancelled"}
    assert balance(estate["xu"]) == 10
    assert BatchItem.objects.get(pk=greens.pk).ordered == 0
    with pytest.raises(Conflict):
        catalogue.batch_cancel(batch_id=batch.pk, reason="again")


def test_the_counter_finds_an_order_by_its_code(estate, batch):
    greens, _eggs = items(batch)
    order = place(estate, batch, (greens.pk, 1))
    found = orders.order_find_by_code(
        shop_id=estate["shop"].pk, code=f" {order.pickup_code.lower()} "
    )
    assert found.pk == order.pk
    with pytest.raises(NotFound):
        orders.order_find_by_code(shop_id=estate["shop"].pk, code="ZZZZZZ")


def test_points_are_refused_where_the_points_scheme_is_off(estate, batch, tenant):
    from django.db import connection

    give_points(estate["xu"], 10)
    connection.tenant._enabled_modules = frozenset({"community", "shop"})
    greens, _eggs = items(batch)
    refused("points_disabled", place, estate, batch, (greens.pk, 2), points=1)
    assert place(estate, batch, (greens.pk, 2)).points_used == 0


def test_catalogue_refusals(estate):
    refused(
        "zones_invalid",
        catalogue.shop_create,
        estate_id=estate["estate"].pk,
        name="x",
        zones=["bar"],
    )
    refused(
        "shop_exists",
        catalogue.shop_create,
        estate_id=estate["estate"].pk,
        name="萬象公館鄰家小店",
        zones=["parcels"],
    )
    refused(
        "estate_not_found", catalogue.shop_create, estate_id=999_999, name="y", zones=["parcels"]
    )
    refused(
        "product_exists",
        catalogue.product_create,
        shop_id=estate["shop"].pk,
        name="青菜",
        unit="斤",
        price_fen=1,
    )
    refused(
        "points_share_invalid",
        catalogue.product_create,
        shop_id=estate["shop"].pk,
        name="菜",
        unit="斤",
        price_fen=1,
        points_share=101,
    )
    refused(
        "price_invalid",
        catalogue.product_create,
        shop_id=estate["shop"].pk,
        name="菜",
        unit="斤",
        price_fen=-1,
    )
    refused("out_of_stock", catalogue.product_restock, product_id=estate["soy"].pk, delta=-11)
    refused("stock_not_tracked", catalogue.product_restock, product_id=estate["greens"].pk, delta=5)
    assert catalogue.product_restock(product_id=estate["soy"].pk, delta=5).stock == 15
    assert Product.objects.get(pk=estate["soy"].pk).stock == 15


def test_batch_refusals(estate):
    now = timezone.now()
    base = {
        "shop_id": estate["shop"].pk,
        "supplier_id": estate["coop"].pk,
        "title": "t",
        "opens_at": now,
        "closes_at": now + timedelta(days=1),
        "pickup_on": timezone.localdate() + timedelta(days=2),
        "items": [catalogue.ItemSpec(product_id=estate["greens"].pk)],
    }
    refused("window_invalid", catalogue.batch_create, **{**base, "closes_at": now})
    refused(
        "pickup_before_close",
        catalogue.batch_create,
        **{**base, "pickup_on": timezone.localdate() - timedelta(days=1)},
    )
    refused("item_duplicate", catalogue.batch_create, **{**base, "items": base["items"] * 2})
    refused(
        "product_not_found",
        catalogue.batch_create,
        **{**base, "items": [catalogue.ItemSpec(product_id=999_999)]},
    )
    refused("items_invalid", catalogue.batch_create, **{**base, "items": []})
    refused(
        "slot_invalid",
        catalogue.batch_create,
        **{**base, "slots": [catalogue.SlotSpec(starts_at=now, ends_at=now + timedelta(hours=1))]},
    )
    from tenants.shop.models import PreorderBatch

    assert PreorderBatch.objects.count() == 0
