from __future__ import annotations

from datetime import datetime, time

from ninja import Field, Schema

from api.pagination import Page
from api.types import In, Text, WallTime
from tenants.notices.models import Announcement, SurveyQuestion
from tenants.notices.services import announcement_counts


class PreferenceIn(In):
    channels: list[str] = Field(max_length=3, description="sms, wechat, email; preferred first.")
    email: Text = Field("", max_length=254)
    wechat_openid: Text = Field("", max_length=64)
    quiet_start: WallTime | None = None
    quiet_end: WallTime | None = None


class PreferenceOut(Schema):
    resident_id: int
    channels: list[str]
    email: str
    wechat_openid: str
    quiet_start: time | None
    quiet_end: time | None


class QuestionIn(In):
    text: Text = Field(min_length=1, max_length=200)
    choices: list[Text] = Field(min_length=2, max_length=6)


class AnnouncementIn(In):
    title: Text = Field(min_length=1, max_length=120)
    body: Text = Field(min_length=1, max_length=2000)
    target: str = Field(pattern="^(area|estate|building|tag)$")
    target_id: int | None = Field(None, ge=1)
    target_tag: Text = Field("", max_length=64)
    questions: list[QuestionIn] = Field([], max_length=5)


class QuestionOut(Schema):
    position: int
    text: str
    choices: list[str]


class AnnouncementOut(Schema):
    id: int
    title: str
    body: str
    target: str
    target_id: int | None
    target_tag: str
    sent_at: datetime
    questions: list[QuestionOut]
    counts: dict[str, int] = Field(description="recipients, sent, pending, failed, read")

    @staticmethod
    def resolve_questions(obj: Announcement) -> list[SurveyQuestion]:
        return list(obj.questions.all())

    @staticmethod
    def resolve_counts(obj: Announcement) -> dict[str, int]:
        return announcement_counts(announcement=obj)


class ResultOut(Schema):
    question: int
    building_id: int | None
    building: str
    counts: list[int]


class AnswersIn(In):
    answers: dict[int, int] = Field(description="{question position: choice index}")


class MessageOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    announcement_id: int | None
    status: str
    channel: str
    created_at: datetime
    read_at: datetime | None


class MessagePage(Page[MessageOut]):
    pass
