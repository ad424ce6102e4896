"""Photos, ratings, assignment with escalation, residents' reports and review."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from linli.errors import Conflict, ValidationFailed
from linli.notify import MemoryChannel
from tenants.community.actor import actor_for_resident
from tenants.community.models import Organisation
from tenants.community.roles import role_assign
from tenants.deliberation.access import NotAllowed, may_rate
from tenants.deliberation.council import action_add
from tenants.deliberation.models import Topic
from tenants.deliberation.services import (
    overdue_escalate,
    post_report,
    post_review,
    topic_assign,
    topic_comment,
    topic_photo_add,
    topic_rate,
    topic_transition,
)
from tests.factories import ResidentFactory
from tests.photos import jpeg
from tests.tenants.deliberation.conftest import raise_light

JPEG = jpeg()


def test_photos_are_checked_and_kept_per_tenant(building, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    topic = raise_light(building)
    photo = topic_photo_add(topic_id=topic.pk, kind="before", content=JPEG)
    assert photo.image.name.endswith(".jpg")
    assert (tmp_path / "alpha" / "deliberation" / "photos").is_dir()
    with pytest.raises(ValidationFailed) as err:
        topic_photo_add(topic_id=topic.pk, kind="after", content=b"<svg/>")
    assert err.value.code == "file_type_invalid"
    with pytest.raises(ValidationFailed) as err:
        topic_photo_add(topic_id=topic.pk, kind="after", content=JPEG + b"0" * (5 * 2**20))
    assert err.value.code == "file_too_large"


def test_residents_rate_a_resolved_topic_once(building):
    topic = raise_light(building)
    raiser = building["residents"][0]
    with pytest.raises(Conflict) as err:
        topic_rate(topic_id=topic.pk, resident_id=raiser.pk, stars=5)
    assert err.value.code == "not_resolved"
    for step in ["accepted", "in_progress", "resolved"]:
        topic_transition(topic_id=topic.pk, to=step, actor_id=None)
    assert Topic.objects.get(pk=topic.pk).resolved_at is not None
    topic_rate(topic_id=topic.pk, resident_id=raiser.pk, stars=4, comment="燈亮了")
    with pytest.raises(Conflict) as err:
        topic_rate(topic_id=topic.pk, resident_id=raiser.pk, stars=5)
    assert err.value.code == "already_rated"
    with pytest.raises(NotAllowed) as refused:
        may_rate(actor_for_resident(building["outsider"]), topic)
    assert (refused.value.status, refused.value.code) == (403, "out_of_scope")


def test_overdue_topics_and_actions_escalate_to_district_admins_once(
    building,
    settings,
    django_capture_on_commit_callbacks,
):
    from linli import notify

    settings.LINLI_NOTIFY_CHANNELS = ["linli.notify.MemoryChannel"]
    notify.channels.cache_clear()
    MemoryChannel.sent.clear()
    admin = ResidentFactory()
    role_assign(resident_id=admin.pk, role="district_admin", scope="tenant")
    company = Organisation.objects.create(name="萬象物業", kind="property_management")
    topic = raise_light(building)
    topic_transition(topic_id=topic.pk, to="accepted", actor_id=None)
    topic_assign(
        topic_id=topic.pk, organisation_id=company.pk, due_on=date.today() - timedelta(days=1)
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert overdue_escalate() == 1
            assert overdue_escalate() == 0
        assert [(n.resident_id, n.kind) for n in MemoryChannel.sent] == [
            (admin.pk, "deliberation.overdue")
        ]
    finally:
        notify.channels.cache_clear()


def test_three_reports_hold_a_comment_and_a_leader_decides(building):
    topic = raise_light(building)
    comment = topic_comment(
        topic_id=topic.pk, resident_id=building["residents"][1].pk, body="rude words"
    )
    for reporter in [building["residents"][0], building["residents"][2], ResidentFactory()]:
        post_report(
            topic_id=topic.pk, comment_id=comment.pk, resident_id=reporter.pk, reason="rude"
        )
    comment.refresh_from_db()
    assert comment.held_for_review is True
    with pytest.raises(Conflict):
        post_report(
            topic_id=topic.pk,
            comment_id=comment.pk,
            resident_id=building["residents"][0].pk,
            reason="again",
        )
    post_review(topic_id=topic.pk, comment_id=comment.pk, approve=False)
    comment.refresh_from_db()
    assert comment.body == ""


def test_action_items_need_a_decision(building):
    with pytest.raises(Conflict):
        action_add(item_id=999, title="x", due_on=date.today(), owner_resident_id=1)
