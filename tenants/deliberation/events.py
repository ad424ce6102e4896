"""Deliberation's domain events (see ``tenants.events.catalogue``)."""

from __future__ import annotations

from tenants.deliberation.models import ActionItem, Meeting, Topic
from tenants.events.services import event_record

# Topic states integrators hear about, and the event each one is.
TOPIC_EVENTS = {
    Topic.Status.RAISED: "topic.raised",
    Topic.Status.ACCEPTED: "topic.accepted",
    Topic.Status.DECIDED: "topic.decided",
    Topic.Status.RESOLVED: "topic.resolved",
}


def topic_event(topic: Topic) -> None:
    name = TOPIC_EVENTS.get(topic.status)  # type: ignore[call-overload]
    if name is None:
        return
    event_record(
        type=name,
        object_id=topic.pk,
        payload={
            "id": topic.pk,
            "status": topic.status,
            "category": topic.category,
            "scope": topic.scope,
            "estate_id": topic.estate_id,
            "raised_by_id": topic.raised_by_id,
        },
        personal={"title": topic.title, "description": topic.description},
    )


def meeting_event(meeting: Meeting) -> None:
    event_record(
        type="meeting.scheduled",
        object_id=meeting.pk,
        payload={
            "id": meeting.pk,
            "estate_id": meeting.estate_id,
            "building_id": meeting.building_id,
            "starts_at": meeting.starts_at,
        },
    )


def action_overdue_event(action: ActionItem) -> None:
    event_record(
        type="action_item.overdue",
        object_id=action.pk,
        payload={
            "id": action.pk,
            "agenda_item_id": action.item_id,
            "due_on": action.due_on,
            "status": action.status,
        },
    )
