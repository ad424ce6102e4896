"""What every shop service shares: settings, lookups that fail clearly, and limits."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from linli.errors import Conflict, ValidationFailed
from tenants.community.models import Resident
from tenants.shop.models import Shop
from tenants.shop.settings import ShopSettings

MAX_QUANTITY = 999
MAX_FEN = 100_000_000  # a million yuan: far above anything a neighbourhood shop sells


class OutOfStock(Conflict):
    code = "out_of_stock"


class LimitExceeded(Conflict):
    code = "limit_exceeded"


class BatchClosed(Conflict):
    code = "batch_closed"


def shop_settings() -> ShopSettings:
    from linli.registry.selectors import module_settings

    return module_settings("shop", ShopSettings)


def points_enabled() -> bool:
    tenant = getattr(connection, "tenant", None)
    return "points" in getattr(tenant, "enabled_modules", ())


def text(value: str | None, *, field: str, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(
            _("%(field)s is required.") % {"field": field}, code=f"{field}_required", field=field
        )
    if len(value) > limit:
        raise ValidationFailed(
            _("%(field)s is at most %(limit)s characters.") % {"field": field, "limit": limit},
            code=f"{field}_too_long",
            field=field,
        )
    return value


def fen(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
        raise ValidationFailed(
            _("A price is a whole number of fen from 0 to 100,000,000."),
            code="price_invalid",
            field=field,
        )
    return value


def share(value: Any, *, field: str = "points_share") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationFailed(
            _("The points share is a whole per cent from 0 to 100."),
            code="points_share_invalid",
            field=field,
        )
    return value


def quantity(value: Any, *, field: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise ValidationFailed(
            _("A quantity is a whole number from 1 to %(max)s.") % {"max": MAX_QUANTITY},
            code="quantity_invalid",
            field=field,
        )
    return value


def active_shop(shop_id: int, *, field: str = "shop_id") -> Shop:
    """An open shop a body names: none is 422 ``shop_not_found`` on ``field``."""
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        raise ValidationFailed(
            _("No shop %(id)s.") % {"id": shop_id}, code="shop_not_found", field=field
        )
    if not shop.active:
        raise Conflict(_("This shop is closed."), code="shop_inactive")
    return shop


def active_resident(resident_id: int, *, field: str = "resident_id") -> Resident:
    resident = Resident.objects.filter(
        pk=resident_id, erased_at__isnull=True, status=Resident.Status.ACTIVE
    ).first()
    if resident is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field=field,
        )
    return resident


def code_matches(expected: str, given: str | None) -> bool:
    import hmac

    return hmac.compare_digest(expected.encode(), (given or "").strip().upper().encode())
