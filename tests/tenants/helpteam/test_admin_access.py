"""The help team's admin lists what the signed-in user's actor may see, by the same rules as
the API and the resident pages: a building leader sees their building's requests only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from linli.registry.services import module_set_enabled
from tenants.community.roles import role_assign
from tenants.helpteam.models import HelpRequest
from tenants.helpteam.services import request_create
from tests.conftest import host_of
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory, UserFactory


def _ask(resident, what: str):
    start = timezone.now() + timedelta(hours=3)
    return request_create(
        requester_id=resident.pk,
        category="plumbing",
        description=what,
        window_start=start,
        window_end=start + timedelta(hours=1),
    )


def _staff(username: str, *, resident=None) -> None:
    user: Any = UserFactory(username=username, password="leader-pass")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="helpteam", codename__startswith="view_")
    )
    if resident is not None:
        resident.user = user
        resident.save(update_fields=["user"])


def _login(tenant, username: str) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username=username, password="leader-pass")
    return client


def test_a_building_leader_lists_and_counts_only_their_buildings_requests(tenant):
    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    with tenant_context(tenant):
        mine, other = UnitFactory(), UnitFactory()
        _ask(ResidentFactory(household=HouseholdFactory(unit=mine)), "本樓漏水")
        _ask(ResidentFactory(household=HouseholdFactory(unit=other)), "別樓漏水")
        leader = ResidentFactory(household=HouseholdFactory(unit=mine))
        role_assign(
            resident_id=leader.pk, role="building_leader", scope="building",
            place_id=mine.building_id,
        )  # fmt: skip
        _staff("leader-h", resident=leader)
        _staff("nobody-h")
    with tenant_context(tenant):
        ours = HelpRequest.objects.get(description="本樓漏水")
        theirs = HelpRequest.objects.get(description="別樓漏水")
    client = _login(tenant, "leader-h")
    listed = client.get("/admin/helpteam/helprequest/").content.decode()
    assert f"/admin/helpteam/helprequest/{ours.pk}/change/" in listed
    assert f"/admin/helpteam/helprequest/{theirs.pk}/change/" not in listed
    assert client.get(f"/admin/helpteam/helprequest/{ours.pk}/change/").status_code == 200
    # another building's request: "doesn't exist", the same as a missing one
    assert client.get(f"/admin/helpteam/helprequest/{theirs.pk}/change/").status_code == 302
    board = client.get("/admin/helpteam/helprequest/dashboard/").content.decode()
    assert mine.building.name in board and other.building.name not in board
    # a staff user who leads nothing does not get the leaders' view
    nobody = _login(tenant, "nobody-h")
    assert nobody.get("/admin/helpteam/helprequest/dashboard/").status_code == 403
    assert (
        f"/admin/helpteam/helprequest/{ours.pk}/change/"
        not in nobody.get("/admin/helpteam/helprequest/").content.decode()
    )


def test_the_admin_shows_why_a_request_was_recorded_done_early_and_does_not_edit_it(tenant):
    from tenants.helpteam.access import the_district
    from tenants.helpteam.models import Volunteer
    from tenants.helpteam.services import request_claim, request_done
    from tests.conftest import ADMIN_PASSWORD

    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    with tenant_context(tenant):
        unit = UnitFactory()
        r = _ask(ResidentFactory(household=HouseholdFactory(unit=unit)), "早到")
        volunteer = ResidentFactory(household=HouseholdFactory(unit=unit))
        Volunteer.objects.create(resident=volunteer)
        request_claim(request_id=r.pk, volunteer_resident_id=volunteer.pk)
        request_done(
            request_id=r.pk,
            volunteer_resident_id=volunteer.pk,
            actor=the_district(),
            early_reason="住戶要求提早",
        )
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    page = client.get(f"/admin/helpteam/helprequest/{r.pk}/change/").content.decode()
    assert "Recorded done early because" in page
    assert "住戶要求提早" in page
    assert 'name="done_early_reason"' not in page  # shown, not editable
