"""The shop's per-tenant settings (validated; stored in the module's settings)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ShopSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fen_per_point: int = Field(
        100, gt=0, le=100_000, description="What one point is worth at the shop, in fen."
    )
    pickup_grace_hours: int = Field(
        24, ge=0, le=24 * 14, description="Hours after the pickup day before an order expires."
    )
    hold_days: int = Field(
        3, gt=0, le=30, description="Days a daily-goods order waits at the shop to be collected."
    )
    parcel_remind_days: int = Field(
        3, gt=0, le=30, description="Remind the household after a parcel waits this many days."
    )
    parcel_return_days: int = Field(
        14, gt=0, le=90, description="A parcel still waiting this many days goes back."
    )
