"""The help and topic stories on the resident pages: a child picked up by the neighbour
across the landing; a broken corridor light raised with a photo and followed."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from linli.registry.services import module_set_enabled
from tenants.deliberation.models import Topic
from tenants.deliberation.services import topic_transition
from tenants.helpteam.models import HelpRequest, Skill, Volunteer
from tenants.notices.models import Message
from tests.conftest import host_of
from tests.factories import HouseholdFactory, ResidentFactory, UnitFactory
from tests.photos import png
from tests.tenants.helpteam.conftest import window_opened

PNG = png()


def signed_in(tenant, resident) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    client.post("/r/sign-in", {"phone": resident.phone})
    code = Message.objects.filter(resident=resident, kind="pages.sign_in_code")[0].data["code"]
    assert client.post("/r/sign-in", {"phone": resident.phone, "code": code}).status_code == 302
    return client


def landing(tenant):
    for module in ("helpteam", "points", "deliberation"):
        module_set_enabled(slug=tenant.schema_name, module=module, enabled=True)
    unit = UnitFactory()
    parent = ResidentFactory(
        phone="+8613811110001", household=HouseholdFactory(unit=unit, flat_number="B301")
    )
    neighbour = ResidentFactory(
        phone="+8613811110002", household=HouseholdFactory(unit=unit, flat_number="B302")
    )
    return parent, neighbour


def test_the_neighbour_across_the_landing_picks_up_the_child(tenant, in_tenant):
    parent, neighbour = landing(tenant)
    Volunteer.objects.create(resident=neighbour)
    Skill.objects.create(code="child_pickup", name="接送孩子")
    mum = signed_in(tenant, parent)
    # three taps: what, when, send
    assert "接送孩子" in mum.get("/r/help/ask").content.decode()
    assert "Tomorrow afternoon" in mum.get("/r/help/ask?what=child_pickup").content.decode()
    asked = mum.post("/r/help/ask", {"what": "child_pickup", "when": "tomorrow_pm"})
    request = HelpRequest.objects.get()
    assert asked["Location"] == f"/r/help/{request.pk}"
    assert (request.category, request.requester_id, request.status) == (
        "child_pickup",
        parent.pk,
        "open",
    )
    helper = signed_in(tenant, neighbour)
    assert f"/r/help/{request.pk}" in helper.get("/r/help").content.decode()  # nearby
    helper.post(f"/r/help/{request.pk}", {"action": "claim"})
    window_opened(request)  # tomorrow afternoon comes
    helper.post(f"/r/help/{request.pk}", {"action": "done"})
    # the parent may not mark it done; only confirm
    refused = mum.post(f"/r/help/{request.pk}", {"action": "done"})
    assert refused.status_code == 403
    assert "Only the volunteer who claimed it can do this." in refused.content.decode()
    mum.post(f"/r/help/{request.pk}", {"action": "confirm", "hours": "1"})
    request.refresh_from_db()
    assert request.status == "confirmed" and request.points_transaction_id is not None
    assert "My points: 10" in helper.get("/r/points").content.decode()
    # a stranger from another estate does not see the request
    stranger = signed_in(
        tenant, ResidentFactory(phone="+8613811110003", household=HouseholdFactory())
    )
    assert stranger.get(f"/r/help/{request.pk}").status_code == 404


def test_a_corridor_light_raised_with_a_photo_and_followed(tenant, in_tenant):
    raiser, neighbour = landing(tenant)
    client = signed_in(tenant, raiser)
    photo = SimpleUploadedFile("light.png", PNG, "image/png")
    raised = client.post(
        "/r/topics/new",
        {"title": "樓道燈壞了", "description": "三樓樓道燈一直不亮", "category": "facilities",
         "photo": photo},
    )  # fmt: skip
    topic = Topic.objects.get()
    assert raised["Location"] == f"/r/topics/{topic.pk}"
    assert topic.photos.count() == 1
    other = signed_in(tenant, neighbour)
    other.post(f"/r/topics/{topic.pk}", {"action": "support"})
    other.post(f"/r/topics/{topic.pk}", {"action": "comment", "body": "我家門口也是"})
    for to in ("accepted", "on_agenda", "decided", "in_progress", "resolved"):
        topic_transition(topic_id=topic.pk, to=to, actor_id=None)
    page = client.get(f"/r/topics/{topic.pk}").content.decode()
    assert "我家門口也是" in page and "1 supporter" in page
    timeline = page.split("What happened")[1]
    assert timeline.index("Accepted") < timeline.index("Resolved")
    bad = client.post("/r/topics/new", {"title": "", "description": ""})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    assert Topic.objects.count() == 1


def test_activities_sign_up_and_the_home_page_shows_open_requests(tenant, in_tenant):
    from datetime import timedelta

    from django.utils import timezone

    from tenants.helpteam.models import Activity, Signup

    parent, _neighbour = landing(tenant)
    estate = parent.household.unit.building.estate
    start = timezone.now() + timedelta(days=3)
    day = Activity.objects.create(
        title="小事我幫您", estate=estate, starts_at=start, ends_at=start + timedelta(hours=3),
        capacity=1,
    )  # fmt: skip
    client = signed_in(tenant, parent)
    assert "小事我幫您" in client.get("/r/activities").content.decode()
    signed = client.post("/r/activities", {"activity": day.pk}).content.decode()
    assert "You are signed up." in signed
    assert Signup.objects.get(activity=day, resident=parent).status == "confirmed"
    late = signed_in(tenant, ResidentFactory(phone="+8613811110009", household=parent.household))
    assert "waiting list" in late.post("/r/activities", {"activity": day.pk}).content.decode()
    bad = client.post("/r/activities", {"activity": "x"})
    assert 'role="alert"' in bad.content.decode()
    Skill.objects.create(code="plumbing", name="水管維修")
    client.post("/r/help/ask", {"what": "plumbing", "when": "tomorrow_am", "note": "廚房漏水"})
    assert "廚房漏水" in client.get("/r/").content.decode()
