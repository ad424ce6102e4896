from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from linli.errors import Conflict
from linli.registry.demo import demo_build
from tenants.community.models import Estate, Resident, Role, RoleAssignment


def test_the_small_demo_city_is_built_in_a_new_tenant(db):
    tenant, counts = demo_build(scale="small", slug="demo_small")
    assert counts["estates"] == 3
    assert counts["households"] == 3 * 2 * 2 * 4
    with tenant_context(tenant):
        assert Estate.objects.filter(name__in=["学府一号", "万象公馆"]).count() == 2
        assert Resident.objects.count() == counts["residents"] > 0
        leaders = RoleAssignment.objects.filter(role=Role.BUILDING_LEADER).count()
        assert leaders == counts["buildings"]
        assert not Resident.objects.exclude(phone=None).exclude(phone__startswith="+86").exists()
    assert (counts["help_teams"], counts["squads"], counts["activities"]) == (3, 4, 6)
    assert counts["points_awards"] > 0
    assert (counts["topics"], counts["meetings"]) == (18, 3)
    assert counts["contacts"] == 2 * counts["households"]
    assert (counts["shops"], counts["batches"], counts["parcels"]) == (3, 12, 120)
    assert counts["orders"] == 12 * 6 and counts["points_redemptions"] > 0
    with tenant_context(tenant):
        from tenants.points.selectors import ledger_verify
        from tenants.shop.models import BatchItem, Order, OrderLine, PreorderBatch

        assert ledger_verify() == []
        # the current week's batches are open, and their counters match their orders
        assert PreorderBatch.objects.filter(closed_at=None).count() == 3
        for item in BatchItem.objects.all():
            kept = OrderLine.objects.filter(batch_item=item).exclude(order__status="cancelled")
            assert item.ordered == sum(line.quantity for line in kept)
        paid = Order.objects.exclude(points_used=0)
        assert paid.count() == counts["points_redemptions"]
    assert sorted(tenant.enabled_modules) == [
        "community",
        "deliberation",
        "helpteam",
        "points",
        "shop",
    ]


def test_the_demo_refuses_a_tenant_that_has_data(db):
    demo_build(scale="small", slug="demo_twice")
    with pytest.raises(Conflict) as err:
        demo_build(scale="small", slug="demo_twice")
    assert err.value.code == "demo_not_empty"


def _demo_secrets(tenant) -> dict[str, list[str]]:
    """Every QR token and open pickup code the demo gave the tenant, by kind."""
    from tenants.helpteam.models import Activity, HelpRequest
    from tenants.shop.models import Order, Parcel, PreorderBatch, Shop

    with tenant_context(tenant):
        return {
            "help request QR token": list(HelpRequest.objects.values_list("qr_token", flat=True)),
            "activity QR token": list(Activity.objects.values_list("qr_token", flat=True)),
            "shop QR token": list(Shop.objects.values_list("qr_token", flat=True)),
            "batch QR token": list(PreorderBatch.objects.values_list("qr_token", flat=True)),
            "order pickup code": list(
                Order.objects.filter(status="placed").values_list("pickup_code", flat=True)
            ),
            "parcel pickup code": list(
                Parcel.objects.filter(status="waiting").values_list("pickup_code", flat=True)
            ),
        }


def _demo_city(tenant) -> dict[str, list[object]]:
    from tenants.shop.models import Order

    with tenant_context(tenant):
        return {
            "residents": list(Resident.objects.order_by("pk").values_list("display_name", "phone")),
            "orders": list(Order.objects.order_by("pk").values_list("status", "total_fen")),
        }


def test_two_demo_tenants_share_the_city_but_none_of_its_secrets(db):
    # given: two demo tenants built at the same scale
    one, _counts = demo_build(scale="small", slug="demo_one")
    two, _counts = demo_build(scale="small", slug="demo_two")
    # then: the same reproducible city ...
    assert _demo_city(one) == _demo_city(two)
    # ... with its own QR tokens and pickup codes
    ours, theirs = _demo_secrets(one), _demo_secrets(two)
    for kind, tokens in ours.items():
        assert tokens, kind
        assert set(tokens).isdisjoint(theirs[kind]), kind
        assert len(set(tokens)) == len(tokens), kind
    # the QR tokens are the models' own random ones, not a numbered demo pattern
    assert all(
        len(token) >= 16 for kind, tokens in ours.items() if "QR" in kind for token in tokens
    )
