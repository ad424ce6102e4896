"""Bulk import of buildings, units, households and residents from CSV (UTF-8 or GBK) or XLSX.

Every row is checked first; the report names each bad row's line, column and
reason. Nothing is written unless the whole file is clean, and then all of it
is written in one transaction with bulk inserts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from linli.errors import LinliError
from tenants.audit.services import audit_record
from tenants.community.models import Building, Estate, Household, Resident, ResidentTag, Unit
from tenants.community.phones import normalise_phone

REQUIRED = ("estate", "building", "unit", "flat")
OPTIONAL = (
    "display_name",
    "phone",
    "needs_assistance",
    "contact_consent",
    "preferred_language",
    "tags",
)
ALIASES = {
    "小區": "estate",
    "小区": "estate",
    "樓棟": "building",
    "楼栋": "building",
    "單元": "unit",
    "单元": "unit",
    "門牌": "flat",
    "门牌": "flat",
    "房號": "flat",
    "房号": "flat",
    "姓名": "display_name",
    "電話": "phone",
    "电话": "phone",
    "需要幫扶": "needs_assistance",
    "需要帮扶": "needs_assistance",
    "同意聯繫": "contact_consent",
    "同意联系": "contact_consent",
    "語言": "preferred_language",
    "语言": "preferred_language",
    "標籤": "tags",
    "标签": "tags",
}
TRUE = {"yes", "y", "true", "1", "是"}
FALSE = {"no", "n", "false", "0", "否", ""}
MAX_ROWS = 100_000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    dry_run: bool = True

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    line: int
    estate: Estate
    building: str
    unit: str
    flat: str
    resident: dict[str, Any] | None
    tags: list[ResidentTag]


def read_table(content: bytes, filename: str) -> list[list[str]]:
    """Rows of cells from a CSV (UTF-8, UTF-8 with BOM, or GBK/GB18030) or an XLSX file."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise LinliError(_("This is not a readable XLSX file."), code="file_invalid") from exc
        return [
            ["" if c is None else str(c).strip() for c in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LinliError(_("The file is neither UTF-8 nor GBK text."), code="encoding_invalid")
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _header(row: list[str]) -> tuple[dict[str, int], list[RowError]]:
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(row):
        name = ALIASES.get(raw.strip(), raw.strip().lower())
        if not name:
            continue
        if name not in REQUIRED + OPTIONAL:
            errors.append(RowError(1, raw, _("Unknown column.")))
        elif name in columns:
            errors.append(RowError(1, raw, _("This column appears twice.")))
        else:
            columns[name] = index
    for name in REQUIRED:
        if name not in columns:
            errors.append(RowError(1, name, _("Required column is missing.")))
    return columns, errors


def _bool(value: str) -> bool | None:
    value = value.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None


def check(table: list[list[str]]) -> tuple[list[_Row], ImportReport]:
    """Validate every row; return the parsed rows and a report of every problem."""
    report = ImportReport()
    if not table:
        report.errors.append(RowError(1, "", _("The file is empty.")))
        return [], report
    columns, header_errors = _header(table[0])
    report.errors += header_errors
    if header_errors:
        return [], report
    body = [row for row in table[1:] if any(cell.strip() for cell in row)]
    if len(body) > MAX_ROWS:
        report.errors.append(RowError(1, "", _("At most 100,000 rows per file.")))
        return [], report
    estates = {e.name: e for e in Estate.objects.all()}
    tags = {t.name: t for t in ResidentTag.objects.all()}
    languages = {code for code, _name in settings.LANGUAGES}
    known_phones = set(Resident.objects.exclude(phone=None).values_list("phone", flat=True))
    seen_phones: dict[str, int] = {}
    seen_flats: set[tuple[str, str, str, str]] = set()
    rows: list[_Row] = []
    line = 1
    for raw in table[1:]:
        line += 1
        if not any(cell.strip() for cell in raw):
            continue
        report.rows += 1

        def cell(name: str, raw: list[str] = raw) -> str:
            index = columns.get(name)
            return raw[index].strip() if index is not None and index < len(raw) else ""

        problems: list[RowError] = []
        for name in REQUIRED:
            if not cell(name):
                problems.append(RowError(line, name, _("This cell is empty.")))
        estate = estates.get(cell("estate"))
        if cell("estate") and estate is None:
            problems.append(RowError(line, "estate", _("No estate of this name.")))
        resident: dict[str, Any] | None = None
        row_tags: list[ResidentTag] = []
        if cell("display_name"):
            resident = {"display_name": cell("display_name")}
            try:
                phone = normalise_phone(cell("phone") or None)
            except LinliError as exc:
                problems.append(RowError(line, "phone", exc.message))
                phone = None
            if phone and phone in known_phones:
                problems.append(RowError(line, "phone", _("Another resident already has it.")))
            elif phone and phone in seen_phones:
                problems.append(
                    RowError(
                        line, "phone", _("Also on line %(line)s.") % {"line": seen_phones[phone]}
                    )
                )
            elif phone:
                seen_phones[phone] = line
            resident["phone"] = phone
            for name in ("needs_assistance", "contact_consent"):
                value = _bool(cell(name))
                if value is None:
                    problems.append(RowError(line, name, _("Write yes or no.")))
                resident[name] = bool(value)
            language = cell("preferred_language")
            if language and language not in languages:
                problems.append(RowError(line, "preferred_language", _("Unknown language.")))
            resident["preferred_language"] = language
            for tag_name in filter(None, (t.strip() for t in cell("tags").split(";"))):
                if tag_name in tags:
                    row_tags.append(tags[tag_name])
                else:
                    problems.append(
                        RowError(line, "tags", _("Unknown tag “%(tag)s”.") % {"tag": tag_name})
                    )
        elif cell("phone") or cell("tags"):
            problems.append(RowError(line, "display_name", _("A resident needs a name.")))
        else:
            flat_key = (cell("estate"), cell("building"), cell("unit"), cell("flat"))
            if flat_key in seen_flats:
                problems.append(RowError(line, "flat", _("This flat is listed twice.")))
            seen_flats.add(flat_key)
        if problems:
            report.errors += problems
            continue
        assert estate is not None
        rows.append(
            _Row(line, estate, cell("building"), cell("unit"), cell("flat"), resident, row_tags)
        )
    return rows, report


@transaction.atomic
def import_table(table: list[list[str]], *, dry_run: bool) -> ImportReport:
    """Check the table; unless it is a dry run and only if it is clean, write all of it."""
    rows, report = check(table)
    report.dry_run = dry_run
    if dry_run or not report.ok:
        return report
    buildings = {(b.estate_id, b.name): b for b in Building.objects.all()}
    new_buildings = {
        (r.estate.pk, r.building): Building(estate=r.estate, name=r.building)
        for r in rows
        if (r.estate.pk, r.building) not in buildings
    }
    Building.objects.bulk_create(new_buildings.values())
    buildings.update(new_buildings)
    units = {(u.building_id, u.name): u for u in Unit.objects.all()}
    new_units = {}
    for r in rows:
        building = buildings[(r.estate.pk, r.building)]
        if (building.pk, r.unit) not in units:
            new_units[(building.pk, r.unit)] = Unit(building=building, name=r.unit)
    Unit.objects.bulk_create(new_units.values())
    units.update(new_units)
    households = {(h.unit_id, h.flat_number): h for h in Household.objects.all()}
    new_households = {}
    for r in rows:
        unit = units[(buildings[(r.estate.pk, r.building)].pk, r.unit)]
        if (unit.pk, r.flat) not in households:
            new_households[(unit.pk, r.flat)] = Household(unit=unit, flat_number=r.flat)
    Household.objects.bulk_create(new_households.values())
    households.update(new_households)
    residents: list[tuple[Resident, list[ResidentTag]]] = []
    for r in rows:
        if r.resident is None:
            continue
        unit = units[(buildings[(r.estate.pk, r.building)].pk, r.unit)]
        household = households[(unit.pk, r.flat)]
        residents.append((Resident(household=household, **r.resident), r.tags))
    Resident.objects.bulk_create([resident for resident, _tags in residents])
    Through = Resident.tags.through
    Through.objects.bulk_create(
        Through(resident_id=resident.pk, residenttag_id=tag.pk)
        for resident, row_tags in residents
        for tag in row_tags
    )
    report.created = {
        "buildings": len(new_buildings),
        "units": len(new_units),
        "households": len(new_households),
        "residents": len(residents),
    }
    audit_record(
        action="community.imported",
        object_type="community.import",
        changes={"created": [None, report.created]},
    )
    return report
