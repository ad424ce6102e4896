"""CSV exports (UTF-8 with a byte-order mark, so spreadsheet programs read Chinese right)."""

from __future__ import annotations

import csv
import io

from django.db.models import QuerySet

from tenants.community.models import Resident

RESIDENT_COLUMNS = [
    "id",
    "estate",
    "building",
    "unit",
    "flat",
    "display_name",
    "phone",
    "status",
    "needs_assistance",
    "contact_consent",
    "preferred_language",
    "tags",
]


def residents_csv(queryset: QuerySet[Resident]) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(RESIDENT_COLUMNS)
    rows = (
        queryset.filter(erased_at__isnull=True)
        .select_related("household__unit__building__estate")
        .prefetch_related("tags")
        .order_by("pk")
    )
    for r in rows.iterator(chunk_size=2000):
        h = r.household
        writer.writerow(
            [
                r.pk,
                h.unit.building.estate.name if h else "",
                h.unit.building.name if h else "",
                h.unit.name if h else "",
                h.flat_number if h else "",
                r.display_name,
                r.phone or "",
                r.status,
                "yes" if r.needs_assistance else "no",
                "yes" if r.contact_consent else "no",
                r.preferred_language,
                ";".join(t.name for t in r.tags.all()),
            ]
        )
    return buffer.getvalue()
