"""Every time the API returns is on the tenant's clock: ISO 8601 with the tenant's offset
(``2026-06-01T09:00:00+08:00``), whatever zone the database handed it over in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder


class LocalTimeEncoder(NinjaJSONEncoder):
    """One encoder per response: the tenant's zone is looked up once for it, not once per
    time in the body (a list of fifty rows carries a hundred and more)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = timezone.get_current_timezone()

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and o.utcoffset() is not None:
            return o.astimezone(self.zone).isoformat()
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder
