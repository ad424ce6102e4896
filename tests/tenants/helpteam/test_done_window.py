"""Help is done no earlier than its window opens: before then the claimer's "done" is a 409
``window_not_started`` and nothing changes; a leader of the place (or the district's tool)
may record it done early, saying why, and the request keeps the reason and the audit log
records it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from linli.errors import LinliError
from tenants.audit.models import AuditEntry
from tenants.community.actor import actor_for_resident
from tenants.community.roles import role_assign
from tenants.helpteam import access
from tenants.helpteam.access import the_district
from tenants.helpteam.models import HelpRequest
from tenants.helpteam.services import (
    hours_record_bulk,
    request_check_in,
    request_check_out,
    request_claim,
    request_confirm,
    request_done,
    request_start,
)
from tests.tenants.helpteam.conftest import ask, window_opened

REASON = "Came this evening instead: the family asked for it"
WINDOW_NOT_STARTED = "This help is booked for later; it cannot be done before its time."
EARLY_REASON_REQUIRED = "Say why it is recorded as done before its time."
EARLY_FOR_LEADERS = "Only a leader of the place can record help as done before its time."


def refused(call, **kwargs) -> tuple[int, str, str | None]:
    with pytest.raises(LinliError) as caught:
        call(**kwargs)
    return caught.value.status, caught.value.code, caught.value.field


def booked_tomorrow(street) -> HelpRequest:
    """The parent's request for tomorrow, claimed by the neighbour across the landing."""
    r = ask(street["parent"], hours_from_now=24)
    request_claim(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    return r


def unit_leader(resident) -> None:
    """The resident leads the unit they live in (the parent's, for the neighbour)."""
    unit_id = resident.household.unit_id
    role_assign(resident_id=resident.pk, role="unit_leader", scope="unit", place_id=unit_id)


def unchanged(r: HelpRequest, status: str = "claimed") -> bool:
    stored = HelpRequest.objects.get(pk=r.pk)
    return (stored.status, stored.done_at, stored.done_early_reason) == (status, None, "")


def done_entries(r: HelpRequest) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_id=str(r.pk), action__startswith="help_request.done")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_work_marked_done_before_its_window_is_a_409_and_changes_nothing(street):
    # given a request claimed for tomorrow
    r = booked_tomorrow(street)
    # when the volunteer marks it done today
    answer = refused(request_done, request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    # then it is refused, and it is still claimed, never done, with nothing audited
    assert answer == (409, "window_not_started", None)
    assert unchanged(r)
    assert done_entries(r) == []
    # and so it cannot be confirmed either
    parent = actor_for_resident(street["parent"])
    confirm = refused(request_confirm, request_id=r.pk, hours=Decimal(1), actor=parent)
    assert confirm == (409, "not_done", None)


def test_the_refusal_says_it_is_booked_for_later(street):
    r = booked_tomorrow(street)
    with pytest.raises(LinliError) as caught:
        request_done(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    assert caught.value.message == WINDOW_NOT_STARTED


def test_work_in_progress_before_its_window_is_not_done_either(street):
    r = booked_tomorrow(street)
    request_start(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    answer = refused(request_done, request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    assert answer == (409, "window_not_started", None)
    assert unchanged(r, "in_progress")


def test_at_the_windows_start_it_is_done(street, monkeypatch):
    r = booked_tomorrow(street)
    # a moment before the window opens: refused
    monkeypatch.setattr(timezone, "now", lambda: r.window_start - timedelta(microseconds=1))
    answer = refused(request_done, request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    assert answer == (409, "window_not_started", None)
    # the moment it opens: done, and not early
    monkeypatch.setattr(timezone, "now", lambda: r.window_start)
    done = request_done(request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    stored = HelpRequest.objects.get(pk=r.pk)
    assert (done.status, stored.done_at, stored.done_early_reason) == ("done", r.window_start, "")
    assert done_entries(r) == ["help_request.done"]


def test_a_volunteer_who_leads_the_place_records_it_early_with_a_reason(street):
    # given a volunteer who also leads the requester's unit, and a request for tomorrow
    unit_leader(street["neighbour"])
    r = booked_tomorrow(street)
    # when they record it done today, saying why
    done = request_done(
        request_id=r.pk, volunteer_resident_id=street["neighbour"].pk, early_reason=f"  {REASON} "
    )
    # then it is done, the request keeps the reason, and the audit log records it
    stored = HelpRequest.objects.get(pk=r.pk)
    assert (done.status, stored.status, stored.done_early_reason) == ("done", "done", REASON)
    assert stored.done_at is not None and stored.done_at < stored.window_start
    assert done_entries(r) == ["help_request.done", "help_request.done_early"]
    early = AuditEntry.objects.get(object_id=str(r.pk), action="help_request.done_early")
    assert early.object_type == "helpteam.helprequest"
    assert early.changes == {
        "done_early_reason": [None, REASON],
        "window_start": [None, r.window_start.isoformat()],
    }
    # and the requester confirms it as usual
    parent = actor_for_resident(street["parent"])
    confirmed = request_confirm(request_id=r.pk, hours=Decimal(1), actor=parent)
    assert (confirmed.status, confirmed.done_early_reason) == ("confirmed", REASON)


def test_the_districts_tool_records_the_claimers_work_early_with_a_reason(street):
    r = booked_tomorrow(street)
    done = request_done(
        request_id=r.pk,
        volunteer_resident_id=street["neighbour"].pk,
        actor=the_district(),
        early_reason=REASON,
    )
    assert (done.status, HelpRequest.objects.get(pk=r.pk).done_early_reason) == ("done", REASON)


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_leader_recording_it_early_must_say_why(street, blank):
    unit_leader(street["neighbour"])
    r = booked_tomorrow(street)
    answer = refused(
        request_done,
        request_id=r.pk,
        volunteer_resident_id=street["neighbour"].pk,
        early_reason=blank,
    )
    assert answer == (422, "reason_required", "early_reason")
    assert unchanged(r)
    assert done_entries(r) == []
    with pytest.raises(LinliError) as caught:
        request_done(
            request_id=r.pk, volunteer_resident_id=street["neighbour"].pk, early_reason=blank
        )
    assert caught.value.message == EARLY_REASON_REQUIRED


def test_a_leader_who_gives_no_reason_is_told_it_is_booked_for_later(street):
    unit_leader(street["neighbour"])
    r = booked_tomorrow(street)
    answer = refused(request_done, request_id=r.pk, volunteer_resident_id=street["neighbour"].pk)
    assert answer == (409, "window_not_started", None)
    assert unchanged(r)


def test_a_volunteer_who_leads_nothing_there_cannot_record_it_early(street):
    # the neighbour volunteers but leads nothing; the far volunteer leads a unit elsewhere
    r = booked_tomorrow(street)
    answer = refused(
        request_done,
        request_id=r.pk,
        volunteer_resident_id=street["neighbour"].pk,
        early_reason=REASON,
    )
    assert answer == (403, "early_for_leaders", None)
    assert unchanged(r)
    with pytest.raises(LinliError) as caught:
        request_done(
            request_id=r.pk, volunteer_resident_id=street["neighbour"].pk, early_reason=REASON
        )
    assert caught.value.message == EARLY_FOR_LEADERS
    # a leader of another place is no leader here
    unit_leader(street["far"])
    elsewhere = actor_for_resident(street["far"])
    answer = refused(
        request_done,
        request_id=r.pk,
        volunteer_resident_id=street["neighbour"].pk,
        actor=elsewhere,
        early_reason=REASON,
    )
    assert answer == (403, "early_for_leaders", None)
    assert unchanged(r)
    assert done_entries(r) == []


def test_a_reason_is_not_kept_once_the_window_has_opened(street):
    # the help was not early: a leader's reason is not needed and not kept
    unit_leader(street["neighbour"])
    r = booked_tomorrow(street)
    window_opened(r)
    done = request_done(
        request_id=r.pk, volunteer_resident_id=street["neighbour"].pk, early_reason=REASON
    )
    assert (done.status, HelpRequest.objects.get(pk=r.pk).done_early_reason) == ("done", "")
    assert done_entries(r) == ["help_request.done"]


def test_a_plain_volunteer_gives_no_reason_even_after_the_window_opened(street):
    r = booked_tomorrow(street)
    window_opened(r)
    answer = refused(
        request_done,
        request_id=r.pk,
        volunteer_resident_id=street["neighbour"].pk,
        early_reason=REASON,
    )
    assert answer == (403, "early_for_leaders", None)
    assert unchanged(r)


def test_only_the_claimer_marks_it_done_early_or_not(street):
    # a leader of the place who did not claim it does not mark it done for the volunteer
    unit_leader(street["parent"])
    r = booked_tomorrow(street)
    answer = refused(
        request_done,
        request_id=r.pk,
        volunteer_resident_id=street["parent"].pk,
        early_reason=REASON,
    )
    assert answer == (403, access.NOT_YOUR_CLAIM, None)
    assert unchanged(r)


def test_scanning_out_before_the_window_is_refused(street):
    r = booked_tomorrow(street)
    neighbour = street["neighbour"].pk
    request_check_in(request_id=r.pk, volunteer_resident_id=neighbour, token=r.qr_token)
    answer = refused(
        request_check_out, request_id=r.pk, volunteer_resident_id=neighbour, token=r.qr_token
    )
    assert answer == (409, "window_not_started", None)
    stored = HelpRequest.objects.get(pk=r.pk)
    assert (stored.status, stored.done_at, stored.checked_out_at) == ("in_progress", None, None)
    window_opened(r)
    out = request_check_out(request_id=r.pk, volunteer_resident_id=neighbour, token=r.qr_token)
    assert out.status == "done"


def test_leaders_bulk_hours_do_not_mark_done_before_the_window(street):
    # given a leader of the request's building, and a request for tomorrow
    building = street["parent"].household.unit.building
    leader = street["far"]
    role_assign(
        resident_id=leader.pk, role="building_leader", scope="building", place_id=building.pk
    )
    r = booked_tomorrow(street)
    # when the leader enters its hours today, then it is refused at that entry, nothing changed
    entries = [(r.pk, Decimal(1))]
    answer = refused(hours_record_bulk, actor=actor_for_resident(leader), entries=entries)
    assert answer == (409, "window_not_started", "entries/0/request_id")
    assert unchanged(r)
    # once it was recorded done early (with a reason), the leader's hours confirm it
    request_done(
        request_id=r.pk,
        volunteer_resident_id=street["neighbour"].pk,
        actor=the_district(),
        early_reason=REASON,
    )
    [confirmed] = hours_record_bulk(actor=actor_for_resident(leader), entries=entries)
    assert (confirmed.status, confirmed.done_early_reason) == ("confirmed", REASON)
