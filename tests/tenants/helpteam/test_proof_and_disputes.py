"""Proof of service, bulk hours, automatic confirmation and disputes, spaces, recognition."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from linli.errors import Conflict, ValidationFailed
from linli.registry.models import ModuleSetting
from linli.registry.services import module_set_enabled, module_settings_update
from tenants.community.actor import actor_for_resident
from tenants.helpteam.access import NotAllowed, the_district
from tenants.helpteam.models import HelpRequest, Space, Volunteer
from tenants.helpteam.selectors import leaderboard, open_requests_by_building, recognition
from tenants.helpteam.services import (
    activity_create,
    hours_record_bulk,
    request_check_in,
    request_check_out,
    request_claim,
    request_dispute,
    request_dispute_resolve,
    request_done,
    request_evidence_add,
    requests_auto_confirm,
)
from tenants.points.models import Account
from tests.factories import EstateFactory
from tests.photos import png
from tests.tenants.helpteam.conftest import ask

PNG = png()


def test_check_in_and_out_with_the_requests_code(street):
    r = ask(street["parent"])
    who = street["neighbour"].pk
    request_claim(request_id=r.pk, volunteer_resident_id=who)
    with pytest.raises(ValidationFailed) as err:
        request_check_in(request_id=r.pk, volunteer_resident_id=who, token="guessed")
    assert err.value.code == "code_invalid"
    request_check_in(request_id=r.pk, volunteer_resident_id=who, token=r.qr_token)
    done = request_check_out(request_id=r.pk, volunteer_resident_id=who, token=r.qr_token)
    assert done.status == "done"
    assert done.checked_in_at <= done.checked_out_at


def test_photo_evidence_is_checked_and_kept(street, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    r = ask(street["parent"])
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    with pytest.raises(ValidationFailed) as err:
        request_evidence_add(
            request_id=r.pk,
            volunteer_resident_id=street["neighbour"].pk,
            content=b"GIF89a not allowed",
        )
    assert err.value.code == "file_type_invalid"
    saved = request_evidence_add(
        request_id=r.pk, volunteer_resident_id=street["neighbour"].pk, content=PNG
    )
    assert saved.evidence.name.startswith(f"helpteam/evidence/request-{r.pk}-")
    assert saved.evidence.name.endswith(".png")
    assert (tmp_path / "alpha").is_dir()  # each tenant's files in a folder of its own


def test_leaders_enter_hours_in_bulk(tenant, street):
    module_set_enabled(slug="alpha", module="points", enabled=True)
    first, second = ask(street["parent"]), ask(street["parent"])
    for r in (first, second):
        request_claim(request_id=r.pk, volunteer_resident_id=street["far"].pk)
    hours_record_bulk(
        actor=the_district(), entries=[(first.pk, Decimal(1)), (second.pk, Decimal("0.5"))]
    )
    assert set(HelpRequest.objects.values_list("status", flat=True)) == {"confirmed"}
    assert Account.objects.get(resident=street["far"]).balance == 15


def test_unanswered_done_requests_confirm_themselves_and_a_dispute_can_undo_the_points(
    tenant, street
):
    module_set_enabled(slug="alpha", module="points", enabled=True)
    module_settings_update(
        slug="alpha", module="helpteam", settings={"auto_confirm_days": 3, "dispute_days": 7}
    )
    r = ask(street["parent"], length=2)
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    request_done(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    assert requests_auto_confirm() == 0  # not yet three days
    HelpRequest.objects.filter(pk=r.pk).update(done_at=timezone.now() - timedelta(days=4))
    assert requests_auto_confirm() == 1
    assert requests_auto_confirm() == 0
    confirmed = HelpRequest.objects.get(pk=r.pk)
    assert (confirmed.status, confirmed.auto_confirmed, confirmed.hours) == (
        "confirmed",
        True,
        Decimal("2.00"),
    )
    assert Account.objects.get(resident=street["neighbour"]).balance == 20
    with pytest.raises(NotAllowed) as refused:
        request_dispute(request_id=r.pk, actor=actor_for_resident(street["far"]), reason="x")
    assert refused.value.code == "not_requester"
    parent = actor_for_resident(street["parent"])
    request_dispute(request_id=r.pk, actor=parent, reason="nobody came")
    request_dispute_resolve(request_id=r.pk, actor=the_district(), upheld=True)
    assert Account.objects.get(resident=street["neighbour"]).balance == 0
    with pytest.raises(Conflict) as err:
        request_dispute_resolve(request_id=r.pk, actor=the_district(), upheld=False)
    assert err.value.code == "no_dispute"


def test_a_space_cannot_be_booked_twice(in_tenant):
    estate = EstateFactory()
    room = Space.objects.create(estate=estate, name="親鄰坊")
    start = timezone.now() + timedelta(days=1)
    activity_create(
        actor=the_district(),
        title="讀書會",
        estate_id=estate.pk,
        space_id=room.pk,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        capacity=10,
    )
    with pytest.raises(Conflict) as err:
        activity_create(
            actor=the_district(),
            title="手工課",
            estate_id=estate.pk,
            space_id=room.pk,
            starts_at=start + timedelta(hours=1),
            ends_at=start + timedelta(hours=3),
            capacity=10,
        )
    assert err.value.code == "space_booked"
    activity_create(
        actor=the_district(),
        title="手工課",
        estate_id=estate.pk,
        space_id=room.pk,
        starts_at=start + timedelta(hours=2),
        ends_at=start + timedelta(hours=3),
        capacity=10,
    )


def test_stars_and_the_monthly_leaderboard(tenant, street):
    for hours in ("2", "3"):
        r = ask(street["parent"], length=4)
        request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
        hours_record_bulk(actor=the_district(), entries=[(r.pk, Decimal(hours))])
    volunteer = Volunteer.objects.get(resident=street["neighbour"])
    stars = recognition(volunteer=volunteer, thresholds=[1, 5, 10])
    assert (stars.confirmed_hours, stars.services, stars.stars, stars.next_star_at) == (
        Decimal("5.00"),
        2,
        2,
        10,
    )
    board = leaderboard(month=timezone.localdate())
    assert [(line.rank, line.resident_id, line.hours) for line in board] == [
        (1, street["neighbour"].pk, Decimal("5.00"))
    ]
    estate_id = street["parent"].household.unit.building.estate_id
    assert leaderboard(month=timezone.localdate(), estate_id=estate_id)[0].services == 2


def test_the_leaders_queue_flags_old_unclaimed_requests(street):
    old = ask(street["parent"])
    ask(street["parent"])
    HelpRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    [queue] = open_requests_by_building(alert_hours=24)
    assert (queue.open_requests, queue.unclaimed_over_alert) == (2, 1)
    assert queue.oldest_hours >= 30


def test_helpteam_settings_are_validated(tenant):
    with pytest.raises(ValidationFailed) as err:
        module_settings_update(
            slug="alpha", module="helpteam", settings={"star_thresholds": [10, 5]}
        )
    assert err.value.field == "settings.star_thresholds"
    assert not ModuleSetting.objects.filter(module="helpteam").exists()


def test_the_admin_dashboard_shows_queues_chart_and_volunteers(tenant, street):
    from django.test import Client

    from linli.registry.services import module_set_enabled

    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    from django_tenants.utils import tenant_context

    from tests.conftest import ADMIN_PASSWORD, host_of

    old = ask(street["parent"])
    HelpRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    page = client.get("/admin/helpteam/helprequest/dashboard/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Unclaimed over 24 h" in body
    assert "<strong>1</strong>" in body
    assert "<svg" in body and "raised 1" in body
