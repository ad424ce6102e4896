"""The topic pages judge as the API does (``tenants.deliberation.access``): an author sees
their own topic held for review, marked so, on the list and its page; their neighbours do
not; the leader of the place does (to review it). The full table of who may do what, on
both channels, is ``tests/tenants/deliberation/test_policy.py``."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from tenants.deliberation.models import Topic
from tests.tenants.deliberation.world import build_world

HELD = {"title": "廣告 樓道燈壞了", "description": "三樓樓道燈一直不亮", "category": "facilities"}


def test_an_author_is_sent_to_their_held_topic_and_sees_it_held(tenant, make_key):
    # given: a blocked word in the title holds the topic for review
    world = build_world(tenant, make_key)
    author = world.page("author")
    # when: the author raises it on the pages
    raised = author.post("/r/topics/new", HELD)
    with tenant_context(tenant):
        topic = Topic.objects.get(title=HELD["title"])
    assert topic.held_for_review
    # then: they are sent to it, and it is there, marked held
    assert raised.status_code == 302 and raised["Location"] == f"/r/topics/{topic.pk}"
    page = author.get(raised["Location"])
    assert page.status_code == 200
    assert 'data-held="topic"' in page.content.decode()
    listed = author.get("/r/topics").content.decode()
    assert f'href="/r/topics/{topic.pk}"' in listed and 'data-held="topic"' in listed
    # and the API tells them the same
    api = world.api("author").get(f"/api/v1/deliberation/topics/{topic.pk}")
    assert (api.status_code, api.json()["held_for_review"]) == (200, True)


def test_neighbours_do_not_see_a_held_topic_and_its_leader_does(tenant, make_key):
    world = build_world(tenant, make_key)
    held = world.things["held"]
    for who in ("neighbour", "estate_resident", "other_leader", "outsider"):
        client = world.page(who)
        assert client.get(f"/r/topics/{held}").status_code == 404, who
        assert client.post(f"/r/topics/{held}", {"action": "support"}).status_code == 404, who
        assert f'href="/r/topics/{held}"' not in client.get("/r/topics").content.decode(), who
        api = world.api(who).get(f"/api/v1/deliberation/topics/{held}")
        assert (api.status_code, api.json()["code"]) == (404, "topic_not_found"), who
    leader = world.page("leader").get(f"/r/topics/{held}")
    assert leader.status_code == 200 and 'data-held="topic"' in leader.content.decode()


def test_a_refused_page_action_says_why_with_403(tenant, make_key):
    world = build_world(tenant, make_key)
    topic = world.things["topic"]
    response = world.page("estate_resident").post(f"/r/topics/{topic}", {"action": "support"})
    assert response.status_code == 403
    assert "Only residents where the topic is can support it." in response.content.decode()
    twice = world.page("neighbour")
    assert twice.post(f"/r/topics/{topic}", {"action": "support"}).status_code == 302
    again = twice.post(f"/r/topics/{topic}", {"action": "support"})
    assert again.status_code == 409 and "You already support this topic." in again.content.decode()
