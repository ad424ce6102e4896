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
    with tenant_context(tenant):
        from tenants.points.selectors import ledger_verify

        assert ledger_verify() == []
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
