"""The events feed: in commit order, only what every reader can already see."""

from __future__ import annotations

from datetime import datetime

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from tenants.events.models import Event

# An event is shown once no transaction that began before it is still running (its
# txid is below the snapshot's xmin), or when it is the reader's own. Paging by id
# therefore never passes over an event whose transaction commits later.
_SETTLED = RawSQL(
    "events_event.txid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint "
    "OR events_event.txid = (pg_current_xact_id_if_assigned()::text)::bigint",
    [],
    output_field=BooleanField(),
)


def events_feed(
    *,
    modules: set[str],
    types: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Event]:
    events = Event.objects.filter(module__in=modules).filter(_SETTLED)
    if types:
        events = events.filter(type__in=types)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events
