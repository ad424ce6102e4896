"""Every time the API returns is on the tenant's clock: ISO 8601 with the tenant's offset
(``2026-06-01T09:00:00+08:00``), whatever zone the database handed it over in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder


class LocalTimeEncoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and timezone.is_aware(o):
            return timezone.localtime(o).isoformat()
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder
