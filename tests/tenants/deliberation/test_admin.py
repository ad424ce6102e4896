"""The deliberation admin asks ``access`` too: a leader's screens list what the leader sees
(their estate's topics, held ones only where they lead), change only what they lead, never
move a row to another place; only the district adds and deletes; a staff user who leads
nothing has no deliberation screens."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from tenants.deliberation.models import Contact, Topic
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import UserFactory
from tests.tenants.deliberation.world import World, build_world, post


def staff(world: World, who: str) -> Client:
    """The admin, signed in as the staff user of resident ``who``."""
    with tenant_context(world.tenant):
        resident = world.people[who]
        resident.refresh_from_db()
        user: Any = resident.user or UserFactory(username=f"staff-{who}")
        resident.user = user
        resident.save(update_fields=["user"])
        client = Client(HTTP_HOST=host_of(world.tenant), HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
    return client


def district(world: World) -> Client:
    client = Client(HTTP_HOST=host_of(world.tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(world.tenant):
        assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def listed(client: Client, world: World) -> set[str]:
    page = client.get("/admin/deliberation/topic/?all=")
    assert page.status_code == 200
    body = page.content.decode()
    keys = ("topic", "held", "duplicate", "agenda_topic")
    return {k for k in keys if f"/admin/deliberation/topic/{world.things[k]}/change/" in body}


def test_each_staff_user_lists_the_topics_they_see(tenant, make_key):
    world = build_world(tenant, make_key)
    everything = {"topic", "held", "duplicate", "agenda_topic"}
    assert listed(district(world), world) == everything
    assert listed(staff(world, "leader"), world) == everything  # held: they lead B1
    assert listed(staff(world, "other_leader"), world) == everything - {"held"}
    assert listed(staff(world, "far_leader"), world) == set()
    assert staff(world, "neighbour").get("/admin/deliberation/topic/").status_code == 403


def test_a_leader_changes_what_they_lead_and_never_its_place(tenant, make_key):
    world = build_world(tenant, make_key)
    topic = world.things["topic"]
    url = f"/admin/deliberation/topic/{topic}/change/"
    leader = staff(world, "leader")
    form = leader.get(url)
    assert form.status_code == 200
    body = form.content.decode()
    assert 'name="title"' in body and 'name="estate"' not in body  # the place is read-only
    assert 'name="_save"' in body
    # the leader next door sees it (they live in the estate) but may not change it
    next_door = staff(world, "other_leader")
    view = next_door.get(url)
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    assert next_door.post(url, {"title": "改了"}).status_code == 403
    # a leader elsewhere does not see it at all
    assert staff(world, "far_leader").get(url).status_code == 302  # "does not exist"
    # nobody but the district adds or deletes by hand
    assert leader.get("/admin/deliberation/topic/add/").status_code == 403
    assert (
        leader.post(f"/admin/deliberation/topic/{topic}/delete/", {"post": "yes"}).status_code
        == 403
    )
    with tenant_context(tenant):
        assert Topic.objects.get(pk=topic).title == "樓道燈不亮"


def test_meeting_records_and_contacts_follow_the_places(tenant, make_key):
    world = build_world(tenant, make_key)
    record = f"/admin/deliberation/meeting/{world.things['meeting']}/record/"
    assert staff(world, "leader").get(record).status_code == 200
    assert staff(world, "other_leader").get(record).status_code == 403
    assert staff(world, "far_leader").get(record).status_code == 404
    with tenant_context(tenant):
        Contact.objects.create(
            leader=world.people["leader"], household_id=world.things["household"], kind="visit",
            on="2030-01-01",
        )  # fmt: skip
    contacts = "/admin/deliberation/contact/"
    assert "102" in staff(world, "leader").get(contacts).content.decode()
    assert "102" not in staff(world, "other_leader").get(contacts).content.decode()
    assert staff(world, "other_leader").get("/admin/deliberation/blockedword/").status_code == 403
    assert district(world).get("/admin/deliberation/blockedword/").status_code == 200


def test_a_decision_without_quorum_is_shown_as_such_and_never_set_in_the_admin(tenant, make_key):
    # given: the convener decided the bare meeting's item without quorum, through the API
    world = build_world(tenant, make_key)
    meeting, item = world.things["bare_meeting"], world.things["bare_item"]
    path = f"/api/v1/deliberation/meetings/{meeting}/items/{item}/decision"
    body = {"outcome": "維修電梯", "without_quorum": True, "reason": "颱風夜無人到場"}
    assert post(world.api("leader"), path, body).status_code == 200
    # then: the printed record says so, with the reason
    record = staff(world, "leader").get(f"/admin/deliberation/meeting/{meeting}/record/")
    text = record.content.decode()
    assert record.status_code == 200
    assert "Decided without quorum by the convener" in text and "颱風夜無人到場" in text
    # and the meeting's screen shows the flag and the reason, read-only even to the district
    screen = district(world).get(f"/admin/deliberation/meeting/{meeting}/change/")
    page = screen.content.decode()
    assert screen.status_code == 200
    assert "Decided without quorum" in page and "颱風夜無人到場" in page
    assert "Why it was decided without quorum" in page
    assert 'name="agenda-0-outcome"' in page  # the district edits the agenda's wording
    assert 'name="agenda-0-decided_without_quorum"' not in page
    assert 'name="agenda-0-without_quorum_reason"' not in page
    # an ordinary decision's record does not
    other = staff(world, "leader").get(
        f"/admin/deliberation/meeting/{world.things['meeting']}/record/"
    )
    assert "Decided without quorum" not in other.content.decode()
