"""The pickup code: the order's from the moment it is placed (the resident can keep it and
show it), told again when the order is ready, and taken at the counter only then."""

from __future__ import annotations

import pytest

from linli.errors import Conflict
from tenants.notices.models import Message
from tenants.shop.models import Order
from tenants.shop.services import orders


def test_the_code_is_the_orders_from_placing_and_counts_only_once_ready(estate):
    xu, shop = estate["xu"], estate["shop"]
    order = orders.order_place(resident_id=xu.pk, shop_id=shop.pk, lines=[(estate["soy"].pk, 1)])
    code = order.pickup_code
    assert len(code) == 6

    # placed: the counter cannot hand it over yet, even with the right code
    with pytest.raises(Conflict) as early:
        orders.order_pick_up(order_id=order.pk, code=code, payment="cash", paid_fen=0)
    assert early.value.code == "not_ready"
    assert Order.objects.get(pk=order.pk).status == "placed"
    assert orders.order_find_by_code(shop_id=shop.pk, code=code.lower()).pk == order.pk

    orders.order_ready(order_id=order.pk)
    told = Message.objects.filter(resident=xu, kind="shop.order.ready").get()
    assert code in told.body
    assert Order.objects.get(pk=order.pk).pickup_code == code  # the same code, not a new one

    picked = orders.order_pick_up(order_id=order.pk, code=code, payment="cash", paid_fen=1200)
    assert picked.status == "picked_up"
