"""Rules the database itself enforces, whatever code writes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tenants.audit.models import AuditEntry
from tenants.audit.services import audit_record
from tenants.community.models import Resident, RoleAssignment
from tests.factories import BuildingFactory, ResidentFactory


def test_phone_is_unique_but_many_residents_may_have_none(in_tenant):
    ResidentFactory(phone=None)
    ResidentFactory(phone=None)
    ResidentFactory(phone="+8613800000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(phone="+8613800000001")


@pytest.mark.parametrize("phone", ["13800000001", "+0123456789", "+86 138", "tel:+86138"])
def test_phone_must_be_e164(in_tenant, phone):
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(phone=phone)


def test_moved_out_needs_a_date_and_active_has_none(in_tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(status=Resident.Status.MOVED_OUT, moved_out_on=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(status=Resident.Status.ACTIVE, moved_out_on="2024-01-01")


def test_a_role_names_exactly_the_place_its_scope_says(in_tenant):
    resident = ResidentFactory()
    building = BuildingFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(
            resident=resident,
            role="building_leader",
            scope="unit",
            building=building,
            starts_on="2024-01-01",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(
            resident=resident,
            role="building_leader",
            scope="building",
            building=building,
            starts_on="2024-02-01",
            ends_on="2024-01-01",
        )


def test_residents_referenced_elsewhere_cannot_be_hard_deleted(in_tenant):
    resident = ResidentFactory()
    RoleAssignment.objects.create(
        resident=resident, role="volunteer", scope="tenant", starts_on="2024-01-01"
    )
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        resident.delete()


def test_the_audit_log_is_append_only_in_the_database(in_tenant):
    entry = audit_record(action="test.appended", object_type="x", object_id="1")
    for statement in [
        "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ]:
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.appended"
