"""Topics: raising, support, comments, moderation, every transition, merging."""

from __future__ import annotations

import pytest

from linli.errors import Conflict, ValidationFailed
from tenants.community.actor import actor_for_resident
from tenants.deliberation.access import NotAllowed, may_raise, may_support
from tenants.deliberation.models import BlockedWord, Support, Topic, TopicEvent
from tenants.deliberation.selectors import topic_place
from tenants.deliberation.services import (
    TRANSITIONS,
    topic_comment,
    topic_merge,
    topic_raise,
    topic_support,
    topic_transition,
)
from tests.tenants.deliberation.conftest import raise_light


def test_raise_support_once_and_comment(building):
    topic = raise_light(building)
    assert topic.status == "raised"
    topic_support(topic_id=topic.pk, resident_id=building["residents"][1].pk)
    with pytest.raises(Conflict) as err:
        topic_support(topic_id=topic.pk, resident_id=building["residents"][1].pk)
    assert err.value.code == "already_supported"
    with pytest.raises(NotAllowed) as refused:  # who may support is access's to say
        may_support(actor_for_resident(building["outsider"]), topic)
    assert (refused.value.status, refused.value.code) == (403, "out_of_scope")
    topic_comment(topic_id=topic.pk, resident_id=building["residents"][2].pk, body="同意")
    assert Support.objects.filter(topic=topic).count() == 1


def test_blocked_words_hold_posts_for_review(building):
    BlockedWord.objects.create(word="廣告")
    topic = raise_light(building)
    assert topic.held_for_review is False
    comment = topic_comment(
        topic_id=topic.pk, resident_id=building["residents"][1].pk, body="請看我的廣告"
    )
    assert comment.held_for_review is True


ALL = [s for s in Topic.Status.values if s != "merged"]


@pytest.mark.parametrize("start", list(TRANSITIONS))
@pytest.mark.parametrize("to", ALL)
def test_every_transition_is_allowed_or_refused_as_the_table_says(building, start, to):
    topic = raise_light(building)
    Topic.objects.filter(pk=topic.pk).update(
        status=start, merged_into=topic if start == "merged" else None
    )
    if to in TRANSITIONS[start]:
        moved = topic_transition(topic_id=topic.pk, to=to, actor_id=None, note="ok")
        assert moved.status == to
        assert TopicEvent.objects.filter(topic=topic).last().to_status == to
    else:
        with pytest.raises(Conflict) as err:
            topic_transition(topic_id=topic.pk, to=to, actor_id=None, note="x")
        assert err.value.code == "transition_not_allowed"
        assert Topic.objects.get(pk=topic.pk).status == start


def test_rejection_needs_a_reason_and_the_timeline_tells_the_story(building):
    topic = raise_light(building)
    with pytest.raises(ValidationFailed):
        topic_transition(topic_id=topic.pk, to="rejected", actor_id=None)
    for step in ["accepted", "on_agenda", "decided", "in_progress", "resolved"]:
        topic_transition(topic_id=topic.pk, to=step, actor_id=None)
    assert list(topic.events.values_list("to_status", flat=True)) == [
        "raised",
        "accepted",
        "on_agenda",
        "decided",
        "in_progress",
        "resolved",
    ]


def test_merging_carries_supporters_over(building):
    original = raise_light(building)
    duplicate = topic_raise(
        raised_by_id=building["residents"][1].pk,
        title="燈壞了",
        description="同一盞燈",
        category="facilities",
        scope="unit",
        place_id=building["unit"].pk,
    )
    topic_support(topic_id=duplicate.pk, resident_id=building["residents"][2].pk)
    topic_merge(topic_id=duplicate.pk, into_id=original.pk, actor_id=None)
    assert Topic.objects.get(pk=duplicate.pk).status == "merged"
    supporters = set(Support.objects.filter(topic=original).values_list("resident_id", flat=True))
    assert supporters == {building["residents"][1].pk, building["residents"][2].pk}
    with pytest.raises(Conflict):
        topic_merge(topic_id=original.pk, into_id=duplicate.pk, actor_id=None)


def test_residents_raise_topics_about_where_they_live(building):
    place = topic_place(scope="building", place_id=building["unit"].building_id)
    may_raise(actor_for_resident(building["residents"][1]), scope="building", place=place)
    with pytest.raises(NotAllowed) as refused:
        may_raise(actor_for_resident(building["outsider"]), scope="building", place=place)
    assert (refused.value.status, refused.value.code) == (403, "out_of_scope")


def test_leaders_raise_topics_about_the_places_they_lead(building):
    from tenants.community.roles import role_assign

    leader = building["outsider"]
    role_assign(
        resident_id=leader.pk,
        role="building_leader",
        scope="building",
        place_id=building["unit"].building_id,
    )
    place = topic_place(scope="building", place_id=building["unit"].building_id)
    may_raise(actor_for_resident(leader), scope="building", place=place)
    estate = topic_place(scope="estate", place_id=building["unit"].building.estate_id)
    with pytest.raises(NotAllowed) as refused:  # the whole estate is not theirs
        may_raise(actor_for_resident(leader), scope="estate", place=estate)
    assert refused.value.code == "out_of_scope"
