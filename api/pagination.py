"""Opaque cursor pagination: stable order by id, bounded ``limit``, constant queries."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Schema

from linli.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1 to 200).")
    cursor: str | None = Field(
        None, max_length=200, description="The `next` cursor of the previous page."
    )


class Page(Schema, Generic[T]):
    items: list[T]
    next: str | None = Field(None, description="Cursor of the next page; null on the last.")


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"after": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            _("The cursor is not valid; start again without one."),
            code="cursor_invalid",
            field="cursor",
        ) from exc


def paginate[M: Model](queryset: QuerySet[M], params: PageParams) -> tuple[list[M], str | None]:
    """One query: the rows after the cursor in id order, plus one to know if more follow."""
    if params.cursor:
        queryset = queryset.filter(pk__gt=decode_cursor(params.cursor))
    rows = list(queryset.order_by("pk")[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return rows, (encode_cursor(rows[-1].pk) if more and rows else None)


def page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next": next_cursor}
