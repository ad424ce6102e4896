"""The help pages follow the help team's access rules (``tenants.helpteam.access``), as the
API does: the whole table is in ``tests/tenants/helpteam/test_policy.py``; here, the stories
behind its rows, told on the pages."""

from __future__ import annotations

import re

from django_tenants.utils import tenant_context

from tenants.helpteam.models import HelpRequest
from tests.tenants.helpteam.world import build_world


def problem_code(response) -> str | None:
    found = re.search(r'data-problem-code="([a-z_]+)"', response.content.decode())
    return found.group(1) if found else None


def test_a_volunteer_who_leads_the_place_cannot_confirm_their_own_service(tenant, make_key):
    with tenant_context(tenant):
        world = build_world(tenant, make_key, "done_by_leader")
    page = world.page("volunteer_leader")
    url = f"/r/help/{world.request.pk}"
    # the page does not offer it
    assert 'value="confirm"' not in page.get(url).content.decode()
    # and refuses it when posted anyway
    refused = page.post(url, {"action": "confirm", "hours": "1"})
    assert (refused.status_code, problem_code(refused)) == (403, "own_service")
    assert "Nobody confirms or judges their own service." in refused.content.decode()
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=world.request.pk).status == "done"
    # the building's other leader confirms it, from the same page
    other = world.page("leader")
    assert 'value="confirm"' in other.get(url).content.decode()
    assert other.post(url, {"action": "confirm", "hours": "1"}).status_code == 302
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=world.request.pk).status == "confirmed"


def test_a_volunteer_who_comes_second_is_told_it_is_taken(tenant, make_key):
    with tenant_context(tenant):
        world = build_world(tenant, make_key, "open")
    url = f"/r/help/{world.request.pk}"
    volunteer, claimer = world.page("volunteer"), world.page("claimer")
    # both saw it open, nearby
    assert url in volunteer.get("/r/help").content.decode()
    assert url in claimer.get("/r/help").content.decode()
    assert claimer.post(url, {"action": "claim"}).status_code == 302
    late = volunteer.post(url, {"action": "claim"})
    assert (late.status_code, problem_code(late)) == (409, "already_claimed")
    assert "This request has already been claimed." in late.content.decode()
    assert world.people["claimer"].display_name not in late.content.decode()  # nothing more
    # the request is no longer shown to the volunteer, nor nearby
    assert volunteer.get(url).status_code == 404
    assert url not in volunteer.get("/r/help").content.decode()


def test_the_pages_offer_each_caller_what_they_may_do(tenant, make_key):
    with tenant_context(tenant):
        world = build_world(tenant, make_key, "claimed")
    url = f"/r/help/{world.request.pk}"

    def offered(caller: str) -> set[str]:
        page = world.page(caller).get(url).content.decode()
        return set(re.findall(r'name="action" value="(\w+)"', page))

    buttons = {
        caller: offered(caller) for caller in ("requester", "claimer", "leader", "secretary")
    }
    assert buttons == {
        "requester": {"cancel"},
        "claimer": {"done"},
        "leader": {"cancel"},
        "secretary": {"cancel"},
    }


def test_an_activity_of_another_estate_cannot_be_joined_from_the_pages(tenant, make_key):
    with tenant_context(tenant):
        world = build_world(tenant, make_key, "open")
    far = world.page("outsider")
    assert "小事我幫您" not in far.get("/r/activities").content.decode()
    refused = far.post("/r/activities", {"activity": world.activity.pk})
    assert (refused.status_code, problem_code(refused)) == (404, "activity_not_found")
    near = world.page("neighbour")
    assert "小事我幫您" in near.get("/r/activities").content.decode()
    assert (
        "You are signed up."
        in near.post("/r/activities", {"activity": world.activity.pk}).content.decode()
    )


def test_done_is_not_offered_before_the_window_and_is_refused_clearly(tenant, make_key):
    from tests.tenants.helpteam.conftest import window_opened

    with tenant_context(tenant):
        world = build_world(tenant, make_key, "claimed_later")
    page = world.page("claimer")
    url = f"/r/help/{world.request.pk}"
    # the claimer's page offers no "done" yet, and says when it can be
    shown = page.get(url).content.decode()
    assert 'value="done"' not in shown
    assert "This help is booked for" in shown
    assert "you can mark it done once that time comes." in shown
    # and refuses it when posted anyway, saying why, with nothing changed
    refused = page.post(url, {"action": "done"})
    assert (refused.status_code, problem_code(refused)) == (409, "window_not_started")
    assert "This help is booked for later; it cannot be done before its time." in (
        refused.content.decode()
    )
    assert 'value="done"' not in refused.content.decode()
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=world.request.pk).status == "claimed"
        window_opened(world.request)
    # once the time comes, it is offered and done
    shown = page.get(url).content.decode()
    assert 'value="done"' in shown and "This help is booked for" not in shown
    assert page.post(url, {"action": "done"}).status_code == 302
    with tenant_context(tenant):
        assert HelpRequest.objects.get(pk=world.request.pk).status == "done"
