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
        assert Estate.objects.filter(name__in=["學府一號", "萬象公館"]).count() == 2
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
