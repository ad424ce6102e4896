"""Export everything held about a resident; erase on request, keeping anonymous history."""

from __future__ import annotations

import json

from django_tenants.utils import tenant_context

from linli.cli import main
from tenants.audit.models import AuditEntry
from tenants.community.models import Resident, ResidentTag
from tenants.community.personal_data import resident_erase, resident_export
from tenants.community.roles import role_assign
from tenants.community.services import resident_update
from tests.factories import ResidentFactory, UserFactory


def test_export_holds_everything_and_is_audited(in_tenant):
    tag = ResidentTag.objects.create(name="黨員")
    resident = ResidentFactory(display_name="徐伯", phone="+8613812340070", birth_year=1955)
    resident.tags.add(tag)
    role_assign(resident_id=resident.pk, role="volunteer", scope="tenant")
    resident_update(resident_id=resident.pk, needs_assistance=True)
    data = resident_export(resident_id=resident.pk)
    assert data["resident"]["display_name"] == "徐伯"
    assert data["resident"]["phone"] == "+8613812340070"
    assert data["resident"]["birth_year"] == 1955
    assert data["tags"] == ["黨員"]
    assert data["roles"][0]["role"] == "volunteer"
    assert data["home"]["flat"] == resident.household.flat_number
    assert [h["action"] for h in data["history"]] == ["resident.updated"]
    assert (
        AuditEntry.objects.filter(action="resident.exported", object_id=str(resident.pk)).count()
        == 1
    )


def test_erase_blanks_personal_fields_and_keeps_the_row(in_tenant):
    user = UserFactory()
    resident = ResidentFactory(
        display_name="徐伯", phone="+8613812340070", user=user, birth_year=1955
    )
    resident.tags.add(ResidentTag.objects.create(name="獨居老人"))
    resident_erase(resident_id=resident.pk)
    erased = Resident.objects.get(pk=resident.pk)
    assert erased.birth_year is None
    assert (erased.display_name, erased.phone, erased.user, erased.status) == (
        "",
        None,
        None,
        "moved_out",
    )
    assert erased.erased_at is not None
    assert list(erased.tags.all()) == []
    user.refresh_from_db()
    assert (user.is_active, user.has_usable_password()) == (False, False)
    # the history stays, and never held the name or number
    entries = AuditEntry.objects.filter(object_id=str(resident.pk))
    assert entries.filter(action="resident.erased").count() == 1
    assert "徐伯" not in str(list(entries.values()))
    assert "13812340070" not in str(list(entries.values()))


def test_erase_and_export_from_the_command_line(tenant, capsys):
    with tenant_context(tenant):
        resident = ResidentFactory(display_name="李婆婆")
    assert main(["residents", "export", str(resident.pk), "--tenant", "alpha"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["resident"]["display_name"] == "李婆婆"
    assert main(["residents", "erase", str(resident.pk), "--tenant", "alpha", "--yes"]) == 0
    with tenant_context(tenant):
        assert Resident.objects.get(pk=resident.pk).display_name == ""
    assert main(["residents", "export", "999999", "--tenant", "alpha"]) == 1
    assert "No resident 999999" in capsys.readouterr().err


def test_an_erased_resident_disappears_from_the_api(tenant, api):
    with tenant_context(tenant):
        resident = ResidentFactory()
        resident_erase(resident_id=resident.pk)
    assert api.get(f"/api/v1/community/residents/{resident.pk}").status_code == 404
    assert api.get("/api/v1/community/residents").json()["items"] == []
