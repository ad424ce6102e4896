from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import BaseModel, ConfigDict, WithJsonSchema, model_validator

from api.pagination import Page
from api.scopes import ALL_SCOPES
from api.types import In, Moment, Text
from tenants.deliberation.settings import DeliberationSettings
from tenants.helpteam.settings import HelpteamSettings
from tenants.points.settings import PointsSettings
from tenants.shop.settings import ShopSettings


class TenantOut(Schema):
    slug: str
    name: str
    region: str
    locale: str
    time_zone: str
    currency: str
    status: str
    modules: list[str]
    terminology: dict[str, dict[str, str]]


# --- modules and their settings ------------------------------------------------------------


class CommunitySettings(BaseModel):
    """The community module has no settings (yet): always an empty object."""

    model_config = ConfigDict(extra="forbid")


class ModuleState(Schema):
    label: str = Field(description="The module's name in the reader's language.")
    enabled: bool
    always_on: bool = Field(description="The module cannot be turned off.")
    version: int | None = Field(
        description="Id of the module's latest recorded change (null: never changed)."
    )
    changed_at: datetime | None
    changed_by: str = Field(description="Who made the latest change (an admin or an API key).")


class CommunityModuleOut(ModuleState):
    module: Literal["community"]
    settings: CommunitySettings


class DeliberationModuleOut(ModuleState):
    module: Literal["deliberation"]
    settings: DeliberationSettings


class HelpteamModuleOut(ModuleState):
    module: Literal["helpteam"]
    settings: HelpteamSettings


class ShopModuleOut(ModuleState):
    module: Literal["shop"]
    settings: ShopSettings


class PointsModuleOut(ModuleState):
    module: Literal["points"]
    settings: PointsSettings


# One schema per module, told apart by ``module``: its settings are that module's own.
ModuleOut = Annotated[
    CommunityModuleOut
    | DeliberationModuleOut
    | HelpteamModuleOut
    | ShopModuleOut
    | PointsModuleOut,
    Field(discriminator="module"),
]


class ModuleEnabledIn(In):
    enabled: bool


class ModuleSettingsPatch(In):
    """The settings to change, by name, with their new values; settings not named keep
    theirs. Each module's fields are those of its settings schema (``DeliberationSettings``,
    ``HelpteamSettings``, ``ShopSettings``, ``PointsSettings``; community has none). A list
    is replaced whole; ``null`` sets a setting that allows it to null."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _the_object_itself(cls, data: Any) -> Any:
        # django-ninja hands a body over wrapped for attribute access, which hides the
        # names it does not declare: here every name is one, so read the object itself.
        return data._obj if isinstance(data, DjangoGetter) else data


# --- API keys ------------------------------------------------------------------------------

ScopeName = Annotated[Text, WithJsonSchema({"type": "string", "enum": list(ALL_SCOPES)})]


class ApiKeyOut(Schema):
    prefix: str = Field(description="The key's public part: `lk_<prefix>_…`; names it here.")
    name: str
    scopes: list[str]
    active: bool = Field(description="Neither revoked nor expired.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute.")
    expires_at: datetime | None
    revoked_at: datetime | None
    rate_limit: int | None = Field(description="Requests per minute; null: the tenant's default.")


class ApiKeyCreatedOut(ApiKeyOut):
    token: str = Field(
        description="The whole key, `lk_<prefix>_<secret>`: only in this answer (and in its "
        "replay for the same Idempotency-Key); it cannot be read again."
    )


ApiKeyPage = Page[ApiKeyOut]


class ApiKeyIn(In):
    name: Text = Field(min_length=1, max_length=100)
    scopes: list[ScopeName] = Field(
        max_length=len(ALL_SCOPES) * 2,
        description="Only scopes the calling key holds (a write scope covers its read).",
    )
    expires_at: Moment | None = Field(
        None, description="Not later than the calling key's own expiry; none given: its own."
    )
    rate_limit: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Requests per minute, at most the calling key's own; none given: its own.",
    )
