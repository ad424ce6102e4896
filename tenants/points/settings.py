"""The points module's per-tenant settings (validated; stored in the module's settings)."""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, model_validator


class EarningRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=64, description="e.g. child_pickup, plumbing")
    per: Literal["hour", "task"] = "task"
    points: int = Field(gt=0, le=10_000, description="points per hour or per task")
    daily_cap: int | None = Field(None, gt=0, description="most points a volunteer earns a day")
    monthly_cap: int | None = Field(None, gt=0)
    confirmers: list[Literal["requester", "leader", "admin"]] = ["requester", "leader"]


class PointsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    earning_rules: list[EarningRule] = [
        EarningRule(category="default", per="hour", points=10, daily_cap=80, monthly_cap=600)
    ]
    allow_transfers: bool = False
    expiry_months: int | None = Field(None, gt=0, le=120, description="None: points never expire")

    @model_validator(mode="after")
    def categories_unique(self) -> PointsSettings:
        names = [rule.category for rule in self.earning_rules]
        if len(names) != len(set(names)):
            raise ValueError(_("Each category has one earning rule."))
        return self

    def rule_for(self, category: str) -> EarningRule | None:
        by_name = {rule.category: rule for rule in self.earning_rules}
        return by_name.get(category) or by_name.get("default")
