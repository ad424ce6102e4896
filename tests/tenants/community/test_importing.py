"""Bulk import: every bad row reported (line, column, reason), nothing written until clean."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from linli.cli import main
from linli.errors import LinliError
from tenants.community.importing import import_table, read_table
from tenants.community.models import Building, Household, Resident
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import EstateFactory, ResidentFactory

GOOD = (
    "estate,building,unit,flat,display_name,phone,needs_assistance,tags\n"
    "學府一號,1棟,1單元,101,徐伯,138 1234 0070,yes,獨居老人\n"
    "學府一號,1棟,1單元,101,徐嬸,,no,\n"
    "學府一號,2棟,1單元,201,,,,\n"
)


@pytest.fixture
def estate(in_tenant):
    from tenants.community.models import ResidentTag

    ResidentTag.objects.create(name="獨居老人", outreach_frequency="daily")
    return EstateFactory(name="學府一號")


def test_a_clean_file_dry_run_imports_nothing(estate):
    report = import_table(read_table(GOOD.encode(), "people.csv"), dry_run=True)
    assert (report.ok, report.rows, report.dry_run) == (True, 3, True)
    assert not Building.objects.exists()
    assert not Resident.objects.exists()


def test_a_clean_file_imports_everything(estate):
    report = import_table(read_table(GOOD.encode(), "people.csv"), dry_run=False)
    assert report.ok
    assert report.created == {"buildings": 2, "units": 2, "households": 2, "residents": 2}
    xu = Resident.objects.get(display_name="徐伯")
    assert (xu.phone, xu.needs_assistance, [t.name for t in xu.tags.all()]) == (
        "+8613812340070",
        True,
        ["獨居老人"],
    )
    assert xu.household.unit.building.estate == estate
    # importing the same file again adds residents only where phones allow: here it refuses
    again = import_table(read_table(GOOD.encode(), "people.csv"), dry_run=False)
    assert [(e.line, e.column) for e in again.errors] == [(2, "phone")]


def test_every_bad_row_is_reported_and_nothing_is_written(estate):
    ResidentFactory(phone="+8613900000001")
    bad = (
        "estate,building,unit,flat,display_name,phone,needs_assistance,tags\n"
        "學府一號,1棟,1單元,101,甲,12345,yes,\n"  # line 2: bad phone
        "無此小區,1棟,1單元,102,乙,,no,\n"  # line 3: unknown estate
        "學府一號,1棟,,103,丙,,maybe,\n"  # line 4: empty unit, bad bool
        "學府一號,1棟,1單元,104,丁,13900000001,no,\n"  # line 5: phone taken
        "學府一號,1棟,1單元,105,戊,13700000002,no,不存在\n"  # line 6: unknown tag
        "學府一號,1棟,1單元,106,己,13700000002,no,\n"  # line 7: phone twice in file
        "學府一號,1棟,1單元,107,庚,,no,\n"  # line 8: fine
    )
    report = import_table(read_table(bad.encode(), "bad.csv"), dry_run=False)
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "phone"),
        (3, "estate"),
        (4, "unit"),
        (4, "needs_assistance"),
        (5, "phone"),
        (6, "tags"),
        (7, "phone"),
    ]
    assert "Also on line 6" in report.errors[-1].reason
    assert not Building.objects.filter(estate=estate).exists()
    assert Resident.objects.count() == 1  # only the one that was there before


def test_wrong_or_missing_columns_are_reported_on_line_1(estate):
    report = import_table(read_table(b"estate,building,colour\n", "x.csv"), dry_run=True)
    assert [(e.line, e.column) for e in report.errors] == [(1, "colour"), (1, "unit"), (1, "flat")]


def test_gbk_files_and_chinese_headers_work(estate):
    text = "小區,樓棟,單元,門牌,姓名,電話\n學府一號,3棟,1單元,301,李婆婆,13600000003\n"
    report = import_table(read_table(text.encode("gbk"), "gbk.csv"), dry_run=False)
    assert report.ok, report.errors
    assert Resident.objects.get().display_name == "李婆婆"


def test_undecodable_bytes_are_a_clear_error(estate):
    with pytest.raises(LinliError) as err:
        read_table(b"\xff\xfe\xfa\xfb\x00\x81", "junk.csv")
    assert err.value.code in {"encoding_invalid"}


def test_xlsx_files_work(estate):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["estate", "building", "unit", "flat", "display_name"])
    sheet.append(["學府一號", "5棟", "2單元", "502", "陳阿姨"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_table(read_table(buffer.getvalue(), "people.xlsx"), dry_run=False)
    assert report.ok
    assert Household.objects.get().flat_number == "502"


def test_a_broken_xlsx_is_a_clear_error(estate):
    with pytest.raises(LinliError) as err:
        read_table(b"not a zip", "people.xlsx")
    assert err.value.code == "file_invalid"


def test_import_from_the_command_line(tenant, tmp_path, capsys):
    with tenant_context(tenant):
        EstateFactory(name="學府一號")
    path = tmp_path / "people.csv"
    path.write_text("estate,building,unit,flat,display_name\n學府一號,1棟,1單元,101,王\n")
    assert main(["community", "import", str(path), "--tenant", "alpha", "--dry-run"]) == 0
    assert "All 1 rows are correct" in capsys.readouterr().out
    with tenant_context(tenant):
        assert not Resident.objects.exists()
    assert main(["community", "import", str(path), "--tenant", "alpha"]) == 0
    with tenant_context(tenant):
        assert Resident.objects.get().display_name == "王"
    path.write_text("estate,building,unit,flat\n無此,1,1,1\n")
    assert main(["community", "import", str(path), "--tenant", "alpha"]) == 1
    assert "people.csv:2: estate:" in capsys.readouterr().out


def test_import_in_the_admin_shows_the_report(tenant):
    with tenant_context(tenant):
        EstateFactory(name="學府一號")
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    with tenant_context(tenant):
        assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    upload = io.BytesIO(b"estate,building,unit,flat\n\xe5\xad\xb8,1,1,1\n")
    upload.name = "bad.csv"
    response = client.post("/admin/community/household/import/", {"file": upload, "dry_run": "on"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 problem found; nothing was imported." in page
    assert "No estate of this name." in page
