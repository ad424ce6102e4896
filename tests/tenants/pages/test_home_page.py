"""The resident home page and the module pages say the same about what a resident has."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from linli.registry.services import module_set_enabled
from tenants.helpteam.models import HelpRequest, Volunteer
from tests.factories import ResidentFactory
from tests.tenants.pages.test_help_and_topics_pages import signed_in


def test_a_confirmed_request_is_on_the_home_page_as_on_the_help_page(tenant, in_tenant):
    module_set_enabled(slug=tenant.schema_name, module="helpteam", enabled=True)
    parent = ResidentFactory(phone="+8613811112001")
    start = timezone.now() - timedelta(days=3)
    done = HelpRequest.objects.create(
        requester=parent,
        household=parent.household,
        category="child_pickup",
        description="接孩子放學",
        window_start=start,
        window_end=start + timedelta(hours=2),
        status="confirmed",
        claimed_by=Volunteer.objects.create(resident=ResidentFactory()),
        hours=2,
        claimed_at=start - timedelta(days=1),
        done_at=start + timedelta(hours=2),
        confirmed_at=start + timedelta(hours=3),
    )
    someone_else = ResidentFactory(phone="+8613811112002")
    HelpRequest.objects.create(
        requester=someone_else,
        household=someone_else.household,
        category="plumbing",
        description="廚房漏水",
        window_start=start,
        window_end=start + timedelta(hours=2),
    )
    client = signed_in(tenant, parent)

    home = client.get("/r/").content.decode()
    help_page = client.get("/r/help").content.decode()

    for page in (home, help_page):
        assert f'href="/r/help/{done.pk}"' in page
        assert "接孩子放學" in page
        assert "廚房漏水" not in page  # only their own
    assert "No requests yet." not in home


def test_a_request_page_is_headed_by_its_category_in_the_tenants_words(tenant, in_tenant):
    from tenants.helpteam.models import Skill

    module_set_enabled(slug=tenant.schema_name, module="helpteam", enabled=True)
    Skill.objects.create(code="child_pickup", name="接送孩子")
    parent = ResidentFactory(phone="+8613811112003")
    start = timezone.now() + timedelta(days=1)
    asked = HelpRequest.objects.create(
        requester=parent,
        household=parent.household,
        category="child_pickup",
        description="接孩子放學",
        window_start=start,
        window_end=start + timedelta(hours=2),
    )
    page = signed_in(tenant, parent).get(f"/r/help/{asked.pk}").content.decode()
    assert "<h1>接送孩子</h1>" in page
    assert "child_pickup" not in page
