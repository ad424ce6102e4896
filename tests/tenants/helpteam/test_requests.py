"""Help requests: the lifecycle, refused transitions, expiry, matching."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from linli.errors import Conflict, LinliError, ValidationFailed
from linli.notify import MemoryChannel
from linli.registry.services import module_set_enabled
from tenants.community.actor import actor_for_resident
from tenants.helpteam.access import NotAllowed, the_district
from tenants.helpteam.matching import suggestions
from tenants.helpteam.models import HelpRequest, Skill, Volunteer
from tenants.helpteam.services import (
    request_cancel,
    request_claim,
    request_confirm,
    request_create,
    request_done,
    request_feedback,
    request_start,
    request_suggest,
    requests_expire,
)
from tenants.points.models import Account
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory
from tests.tenants.helpteam.conftest import ask


def test_the_whole_lifecycle_awards_points_once(tenant, street):
    module_set_enabled(slug="alpha", module="points", enabled=True)
    r = ask(street["parent"])
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    request_start(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    request_done(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    parent = actor_for_resident(street["parent"])
    confirmed = request_confirm(request_id=r.pk, hours=Decimal("1.5"), actor=parent)
    again = request_confirm(request_id=r.pk, hours=Decimal("1.5"), actor=parent)
    assert (confirmed.status, again.points_transaction_id) == (
        "confirmed",
        confirmed.points_transaction_id,
    )
    assert Account.objects.get(resident=street["neighbour"]).balance == 15
    request_feedback(request_id=r.pk, actor=parent, rating=5, comment="謝謝鄰居")
    assert HelpRequest.objects.get(pk=r.pk).rating == 5


@pytest.mark.parametrize(
    ("step", "status", "code"),
    [
        (
            lambda r, s: request_claim(request_id=r.pk, volunteer_resident_id=s["parent"].pk),
            403,
            "not_a_volunteer",
        ),
        (
            lambda r, s: request_start(request_id=r.pk, volunteer_resident_id=s["neighbour"].pk),
            403,
            "not_your_claim",
        ),
        (
            lambda r, s: request_confirm(
                request_id=r.pk, hours=Decimal(1), actor=actor_for_resident(s["parent"])
            ),
            409,
            "not_done",
        ),
        (
            lambda r, s: request_feedback(
                request_id=r.pk, actor=actor_for_resident(s["parent"]), rating=4
            ),
            409,
            "not_confirmed",
        ),
    ],
)
def test_steps_out_of_order_are_refused(street, step, status, code):
    r = ask(street["parent"])
    with pytest.raises(LinliError) as err:
        step(r, street)
    assert (err.value.status, err.value.code) == (status, code)
    assert HelpRequest.objects.get(pk=r.pk).status == "open"


def test_claiming_your_own_request_or_while_paused_is_refused(street):
    r = ask(street["neighbour"])
    with pytest.raises(NotAllowed) as err:
        request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    assert err.value.code == "own_request"
    Volunteer.objects.filter(resident=street["far"]).update(status="paused")
    with pytest.raises(Conflict) as err:
        request_claim(request_id=r.pk, volunteer_resident_id=street["far"].pk)
    assert err.value.code == "volunteer_paused"


def test_a_second_claim_is_a_409(street):
    r = ask(street["parent"])
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    with pytest.raises(Conflict) as err:
        request_claim(request_id=r.pk, volunteer_resident_id=street["far"].pk)
    assert err.value.code == "already_claimed"


@pytest.mark.parametrize("hours", ["0", "-1", "24.5", "3"])
def test_hours_outside_the_day_or_the_window_are_refused(street, hours):
    r = ask(street["parent"], length=2)
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    request_done(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    with pytest.raises(ValidationFailed) as err:
        request_confirm(request_id=r.pk, hours=Decimal(hours), actor=the_district())
    assert err.value.code == "hours_invalid"
    assert HelpRequest.objects.get(pk=r.pk).status == "done"


def test_only_the_requester_or_a_leader_confirms_or_cancels(street):
    r = ask(street["parent"])
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    request_done(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    far = actor_for_resident(street["far"])
    with pytest.raises(NotAllowed) as err:
        request_confirm(request_id=r.pk, hours=Decimal(1), actor=far)
    assert err.value.code == "not_requester"
    with pytest.raises(NotAllowed) as err:
        request_cancel(request_id=r.pk, actor=far)
    assert err.value.code == "not_requester"
    with pytest.raises(NotAllowed) as err:  # the volunteer who did it
        request_confirm(
            request_id=r.pk, hours=Decimal(1), actor=actor_for_resident(street["neighbour"])
        )
    assert err.value.code == "own_service"
    assert request_confirm(request_id=r.pk, hours=Decimal(1), actor=the_district()).status == (
        "confirmed"
    )


def test_bad_windows_are_refused(street):
    now = timezone.now()
    for start, end, code in [
        (now + timedelta(hours=2), now + timedelta(hours=1), "window_invalid"),
        (now - timedelta(hours=3), now - timedelta(hours=1), "window_past"),
        (now, now + timedelta(days=15), "window_too_long"),
    ]:
        with pytest.raises(ValidationFailed) as err:
            request_create(
                requester_id=street["parent"].pk,
                category="x",
                description="y",
                window_start=start,
                window_end=end,
            )
        assert err.value.code == code


def test_requests_past_their_window_expire_and_the_job_is_safe_twice(street):
    open_one = ask(street["parent"], hours_from_now=1, length=1)
    claimed = ask(street["parent"], hours_from_now=1, length=1)
    request_claim(request_id=claimed.pk, volunteer_resident_id=street["neighbour"].pk)
    later = ask(street["parent"], hours_from_now=30)
    in_three_hours = timezone.now() + timedelta(hours=3)
    assert requests_expire(now=in_three_hours) == 2
    assert requests_expire(now=in_three_hours) == 0
    statuses = dict(HelpRequest.objects.values_list("pk", "status"))
    assert (statuses[open_one.pk], statuses[claimed.pk], statuses[later.pk]) == (
        "expired",
        "expired",
        "open",
    )


def test_matching_puts_skill_and_neighbours_first_and_says_why(street):
    pickup = Skill.objects.create(code="child_pickup", name="接送孩子")
    street["volunteers"][street["far"]].skills.add(pickup)
    building_mate = ResidentFactory(
        household=HouseholdFactory(
            unit=UnitFactory(building=street["parent"].household.unit.building)
        )
    )
    Volunteer.objects.create(resident=building_mate)
    r = ask(street["parent"])
    ranked = [(s.volunteer.resident_id, s.score, s.reasons) for s in suggestions(help_request=r)]
    assert ranked == [
        (street["neighbour"].pk, 3, ("same_unit", "open_claims:0")),
        (street["far"].pk, 3, ("skill", "open_claims:0")),
        (building_mate.pk, 2, ("same_building", "open_claims:0")),
    ]
    # a volunteer already busy with another claim drops below an equal one
    other = ask(ResidentFactory())
    request_claim(request_id=other.pk, volunteer_resident_id=street["neighbour"].pk)
    first = suggestions(help_request=r)[0]
    assert (first.volunteer.resident_id, first.reasons) == (
        street["far"].pk,
        ("skill", "open_claims:0"),
    )


def test_suggested_volunteers_are_told_after_commit(
    street, django_capture_on_commit_callbacks, settings
):
    from linli import notify

    settings.LINLI_NOTIFY_CHANNELS = ["linli.notify.MemoryChannel"]
    notify.channels.cache_clear()
    MemoryChannel.sent.clear()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            asked = ask(street["parent"])
        # Asking only queues the job, in the asking transaction: nobody is told yet.
        assert MemoryChannel.sent == []
        job = ProcrastinateJob.objects.get(task_name="tenants.helpteam.tasks.help_request_suggest")
        assert (job.args["help_request_id"], job.args["tenant_schema"], job.status) == (
            asked.pk,
            "alpha",
            "todo",
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert request_suggest(request_id=asked.pk) == 2
        told = sorted(n.resident_id for n in MemoryChannel.sent)
        assert told == sorted([street["neighbour"].pk, street["far"].pk])
        assert {n.kind for n in MemoryChannel.sent} == {"help_request.suggested"}
        assert {n.tenant for n in MemoryChannel.sent} == {"alpha"}
        # A second run (a retried or repeated job) tells nobody again.
        with django_capture_on_commit_callbacks(execute=True):
            assert request_suggest(request_id=asked.pk) == 0
        assert len(MemoryChannel.sent) == 2
    finally:
        notify.channels.cache_clear()


def test_suggestions_are_one_query_and_match_scoring_everyone(street, django_assert_num_queries):
    # 450 volunteers elsewhere, created first (lowest ids), then two near ones and a skilled
    # one: the best come last in id order and must still be found.
    pickup = Skill.objects.get_or_create(code="child_pickup", defaults={"name": "接送"})[0]
    for _ in range(450):
        Volunteer.objects.create(resident=ResidentFactory())
    near = ResidentFactory(household=HouseholdFactory(unit=street["parent"].household.unit))
    Volunteer.objects.create(resident=near)
    skilled = Volunteer.objects.create(resident=ResidentFactory())
    skilled.skills.add(pickup)
    r = HelpRequest.objects.select_related("household__unit__building").get(
        pk=ask(street["parent"]).pk
    )  # as the suggesting job and the API read it: with its place
    skilled.availability = {
        "mon": [[0, 24]],
        "tue": [[0, 24]],
        "wed": [[0, 24]],
        "thu": [[0, 24]],
        "fri": [[0, 24]],
        "sat": [[0, 24]],
        "sun": [[0, 24]],
    }
    skilled.save()
    with django_assert_num_queries(1):
        best = suggestions(help_request=r, limit=5)
    everyone = suggestions(help_request=r, limit=10_000)  # every candidate, scored
    assert len(everyone) > 450
    assert [(s.volunteer.pk, s.score, s.reasons) for s in best] == [
        (s.volunteer.pk, s.score, s.reasons) for s in everyone[:5]
    ]
    # the skilled one who is always available first (3 + 2), then the two in the same unit
    assert (best[0].volunteer.pk, best[0].score, best[0].reasons) == (
        skilled.pk,
        5,
        ("skill", "available", "open_claims:0"),
    )
    assert {near.pk, street["neighbour"].pk} <= {s.volunteer.resident_id for s in best}
