"""The help team's per-tenant settings (validated; stored in the module's settings)."""

from __future__ import annotations

import itertools

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator


class HelpteamSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_confirm_days: int | None = Field(
        None,
        gt=0,
        le=60,
        description="Confirm a done request this many days after 'done' if the requester "
        "has not answered (None: never).",
    )
    dispute_days: int = Field(
        7, gt=0, le=60, description="Days after an automatic confirmation to dispute it."
    )
    unclaimed_alert_hours: int = Field(24, gt=0, le=24 * 14)
    star_thresholds: list[int] = Field(
        [10, 50, 100, 200, 500], description="Confirmed hours for each star, ascending."
    )

    @field_validator("star_thresholds")
    @classmethod
    def ascending(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)) or any(v <= 0 for v in value):
            raise ValueError(_("Star thresholds are positive and strictly ascending."))
        return value
