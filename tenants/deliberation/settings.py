"""The deliberation module's per-tenant settings (validated)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DeliberationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quorum_share: float = Field(
        0.5, gt=0, le=1, description="Share of invited households that must attend."
    )
    vote_per: Literal["household", "attendee"] = "household"
    visit_every_days: int = Field(30, gt=0, le=366, description="Every household, visited.")
