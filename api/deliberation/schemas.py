from __future__ import annotations

from datetime import date, datetime

from django.db.models import Avg
from ninja import Field, Schema

from api.pagination import Page
from api.types import Day, In, Moment, Text
from tenants.deliberation.models import ActionItem, Topic, TopicEvent, TopicPhoto


class TopicOut(Schema):
    id: int
    title: str
    description: str
    category: str
    scope: str
    estate_id: int
    building_id: int | None
    unit_id: int | None
    status: str
    raised_by_id: int
    merged_into_id: int | None
    supporters: int
    held_for_review: bool
    created_at: datetime

    @staticmethod
    def resolve_supporters(obj: Topic) -> int:
        counted = getattr(obj, "supporter_count", None)  # lists count them in their query
        return int(counted) if counted is not None else obj.supports.count()


class TopicPage(Page[TopicOut]):
    pass


class TopicEventOut(Schema):
    from_status: str
    to_status: str
    note: str
    at: datetime


class PhotoOut(Schema):
    kind: str
    url: str

    @staticmethod
    def resolve_url(obj: TopicPhoto) -> str:
        return str(obj.image.url)


class TopicDetailOut(TopicOut):
    timeline: list[TopicEventOut]
    photos: list[PhotoOut]
    assigned_to_id: int | None
    due_on: date | None
    rating_average: float | None
    ratings: int

    @staticmethod
    def resolve_timeline(obj: Topic) -> list[TopicEvent]:
        return list(obj.events.all())

    @staticmethod
    def resolve_photos(obj: Topic) -> list[TopicPhoto]:
        return list(obj.photos.all())

    @staticmethod
    def resolve_rating_average(obj: Topic) -> float | None:
        average = obj.ratings.aggregate(average=Avg("stars"))["average"]
        return float(average) if average else None

    @staticmethod
    def resolve_ratings(obj: Topic) -> int:
        return obj.ratings.count()


class TopicIn(In):
    raised_by_id: int | None = Field(None, ge=1, description="Omit when acting for the raiser.")
    title: Text = Field(min_length=1, max_length=200)
    description: Text = Field(min_length=1, max_length=5000)
    category: Text = Field(min_length=1, max_length=64)
    scope: str = Field(pattern="^(estate|building|unit)$")
    place_id: int = Field(ge=1, description="The estate, building or unit the scope names.")


class ResidentRefIn(In):
    resident_id: int | None = Field(None, ge=1, description="Omit when acting for a resident.")


class CommentIn(In):
    resident_id: int | None = Field(None, ge=1)
    body: Text = Field(min_length=1, max_length=2000)


class CommentOut(Schema):
    id: int
    author_id: int
    body: str
    created_at: datetime


class CommentPage(Page[CommentOut]):
    pass


class TransitionIn(In):
    to: str = Field(pattern="^(accepted|rejected|on_agenda|decided|in_progress|resolved|closed)$")
    note: Text = Field("", max_length=255)


class MergeIn(In):
    into_id: int = Field(ge=1)


class MeetingIn(In):
    title: Text = Field("", max_length=200)
    estate_id: int = Field(ge=1)
    building_id: int | None = Field(None, ge=1)
    starts_at: Moment
    place: Text = Field("", max_length=200)
    convener_id: int | None = Field(None, ge=1, description="Omit when acting for the convener.")
    topic_ids: list[int] = Field(min_length=1, max_length=50)


class AgendaItemOut(Schema):
    id: int
    topic_id: int
    position: int
    voting_open: bool
    decided: bool
    outcome: str
    decided_without_quorum: bool = Field(
        description="Decided although the meeting had no quorum, on its convener's word."
    )
    without_quorum_reason: str = Field(
        description="Why the convener decided without quorum (empty otherwise)."
    )
    votes_for: int
    votes_against: int
    votes_abstain: int


class MeetingOut(Schema):
    id: int
    title: str
    estate_id: int
    building_id: int | None
    starts_at: datetime
    invited_households: int
    present_households: int
    quorum_required: int
    quorum_reached: bool
    agenda: list[AgendaItemOut]


class MeetingListOut(Schema):
    id: int
    title: str
    estate_id: int
    building_id: int | None
    starts_at: datetime
    place: str
    status: str
    invited_households: int
    agenda_items: int = Field(description="How many topics are on the agenda.")


class MeetingPage(Page[MeetingListOut]):
    pass


class ActionItemIn(In):
    title: Text = Field(min_length=1, max_length=200)
    due_on: Day
    owner_resident_id: int | None = Field(
        None, ge=1, description="The resident who owns it (or an organisation, or both)."
    )
    owner_organisation_id: int | None = Field(None, ge=1)


class ActionItemPatch(In):
    status: str | None = Field(None, pattern="^(open|done)$")
    due_on: Day | None = None
    progress: Text | None = Field(None, max_length=2000)


class ActionItemOut(Schema):
    id: int
    agenda_item_id: int
    topic_id: int
    title: str
    owner_resident_id: int | None
    owner_organisation_id: int | None
    due_on: date
    status: str
    progress: str

    @staticmethod
    def resolve_agenda_item_id(obj: ActionItem) -> int:
        return int(obj.item_id)

    @staticmethod
    def resolve_topic_id(obj: ActionItem) -> int:
        return int(obj.item.topic_id)


class ActionItemPage(Page[ActionItemOut]):
    pass


class VoteIn(In):
    resident_id: int | None = Field(None, ge=1)
    choice: str = Field(pattern="^(for|against|abstain)$")


class DecideIn(In):
    outcome: Text = Field("", max_length=2000)
    without_quorum: bool = Field(
        False,
        description="Decide although the meeting has no quorum: only its convener, with a "
        "reason. With the quorum reached the decision is an ordinary one.",
    )
    reason: Text = Field(
        "", max_length=500, description="Why it is decided without quorum (required then)."
    )
    convener_id: int | None = Field(
        None,
        ge=1,
        description="With without_quorum: the convener the district's tool acts for. Omit "
        "when acting for the convener.",
    )


class ContactIn(In):
    leader_id: int | None = Field(None, ge=1, description="Omit when acting for the leader.")
    household_id: int = Field(ge=1)
    kind: str = Field(pattern="^(greeting|meeting|visit)$")
    on: date | None = None
    notes: Text = Field("", max_length=2000)
    concerns: Text = Field("", max_length=2000)


class ContactOut(Schema):
    id: int
    household_id: int
    kind: str
    on: date


class CoverageOut(Schema):
    building_id: int
    building: str
    households: int
    visited: int
    greeted_this_week: int
    tagged_due: int
    tagged_covered: int


class RatingIn(In):
    resident_id: int | None = Field(None, ge=1)
    stars: int = Field(ge=1, le=5)
    comment: Text = Field("", max_length=500)


class AssignIn(In):
    organisation_id: int = Field(ge=1)
    due_on: date


class ReportIn(In):
    resident_id: int | None = Field(None, ge=1)
    comment_id: int | None = Field(None, ge=1)
    reason: Text = Field(min_length=1, max_length=255)


class ReviewIn(In):
    comment_id: int | None = Field(None, ge=1)
    approve: bool
