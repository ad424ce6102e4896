"""The admin home: a tenant's key figures and charts, as each viewer's roles allow, and the menu."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from linli.registry.demo import demo_build
from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import ResidentFactory, UserFactory


def _figures(html: str) -> dict[str, int]:
    """The key figures on the page, by label."""
    found = re.findall(
        r'<p class="text-subtle">([^<]+)</p>\s*<p class="[^"]*" data-figure="\d+">(\d+)</p>', html
    )
    return {label: int(value) for label, value in found}


def _charts(html: str) -> list[dict[str, Any]]:
    import html as entities

    return [json.loads(entities.unescape(raw)) for raw in re.findall(r'data-value="([^"]+)"', html)]


@pytest.fixture
def city(db: None) -> Tenant:
    tenant, _counts = demo_build(scale="small", slug="cenxi")
    return tenant


def _login(tenant: Tenant, username: str, password: str) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username=username, password=password)
    return client


def test_district_admin_sees_the_tenants_key_figures_and_charts(city: Tenant) -> None:
    with tenant_context(city):
        from tenants.community.models import Resident
        from tenants.deliberation.models import Topic
        from tenants.helpteam.models import HelpRequest
        from tenants.shop.models import Order

        residents = Resident.objects.filter(status="active", erased_at__isnull=True).count()
        unfinished = ["open", "claimed", "in_progress"]
        open_help = HelpRequest.objects.filter(status__in=unfinished).count()
        pending = Order.objects.filter(status__in=["placed", "confirmed", "ready"]).count()
        topics = {s: Topic.objects.filter(status=s).count() for s in ["raised", "decided"]}
    assert residents > 0

    page = _login(city, "admin", "linli-demo").get("/admin/")
    assert page.status_code == 200
    html = page.content.decode()
    figures = _figures(html)
    assert figures["Residents"] == residents
    assert figures["Open help requests"] == open_help
    assert figures["Pending orders"] == pending
    assert "Points issued this month" in figures
    charts = _charts(html)
    by_title = {chart["datasets"][0]["label"]: chart for chart in charts}
    topic_chart = by_title["Topics"]
    counts = dict(zip(topic_chart["labels"], topic_chart["datasets"][0]["data"], strict=True))
    assert counts["Raised"] == topics["raised"] and counts["Decided"] == topics["decided"]
    # The menu leads to the district's settings pages.
    for link in ["/admin/modules/", "/admin/staff/", "/admin/domains/"]:
        assert f'href="{link}"' in html


def test_a_module_turned_off_leaves_the_dashboard(city: Tenant) -> None:
    module_set_enabled(slug="cenxi", module="shop", enabled=False)
    module_set_enabled(slug="cenxi", module="points", enabled=False)
    html = _login(city, "admin", "linli-demo").get("/admin/").content.decode()
    figures = _figures(html)
    assert "Pending orders" not in figures
    assert "Points issued this month" not in figures
    assert "Open help requests" in figures
    assert "/admin/shop/" not in html


def test_a_leader_sees_only_the_residents_they_lead(tenant: Tenant) -> None:
    from tenants.community.roles import role_assign

    with tenant_context(tenant):
        led = ResidentFactory.create_batch(3)
        building = led[0].household.unit.building
        for resident in led[1:]:
            resident.household.unit.building = building
            resident.household.unit.save()
        ResidentFactory.create_batch(2)  # elsewhere
        user = UserFactory(username="leader-li")
        leader = led[0]
        leader.user = user
        leader.save()
        role_assign(
            resident_id=leader.pk, role="building_leader", scope="building", place_id=building.pk
        )
    html = _login(tenant, "leader-li", "leader-password").get("/admin/").content.decode()
    figures = _figures(html)
    assert figures == {"Residents": 3}
    assert _charts(html) == []
    assert 'href="/admin/modules/"' not in html  # superusers only


def test_dashboards_do_not_count_another_tenants_residents(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_context(tenant):
        ResidentFactory.create_batch(4)
    with tenant_context(other_tenant):
        ResidentFactory.create_batch(1)
    alpha = _login(tenant, "admin-alpha", ADMIN_PASSWORD).get("/admin/").content.decode()
    beta = _login(other_tenant, "admin-beta", ADMIN_PASSWORD).get("/admin/").content.decode()
    assert _figures(alpha)["Residents"] == 4
    assert _figures(beta)["Residents"] == 1


def test_platform_home_counts_tenants_by_status(db: None) -> None:
    from django.contrib.auth import get_user_model

    from linli.registry.services import tenant_suspend

    tenant_suspend(slug="beta")
    get_user_model().objects.create_user(
        username="ops", password="ops-password-1", is_staff=True, is_superuser=True
    )
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="ops", password="ops-password-1")
    html = client.get("/admin/").content.decode()
    figures = _figures(html)
    assert figures["Tenants"] == Tenant.objects.count()
    assert figures["Suspended"] == 1
    assert 'href="/admin/registry/tenant/"' in html
