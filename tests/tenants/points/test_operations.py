"""`linli points verify` and the daily expiry job."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from linli.cli import main
from linli.registry.models import ModuleSetting
from tenants.points.models import Account
from tenants.points.services import points_award
from tenants.points.tasks import points_expire_everywhere
from tests.factories import ResidentFactory


def test_verify_passes_on_healthy_books_and_names_a_tampered_balance(tenant, capsys):
    with tenant_context(tenant):
        resident = ResidentFactory()
        points_award(
            resident_id=resident.pk, category="default", hours=1, source="s", idempotency_key="k"
        )
    assert main(["points", "verify"]) == 0
    assert "Every balance equals its postings (2 tenant(s) checked)." in capsys.readouterr().out
    with tenant_context(tenant), connection.cursor() as cursor:
        # simulate corruption behind the guard (tests only)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE points_account DISABLE TRIGGER points_account_balance_guard")
        cursor.execute("UPDATE points_account SET balance = 99 WHERE kind = 'resident'")
        cursor.execute("ALTER TABLE points_account ENABLE TRIGGER points_account_balance_guard")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert main(["points", "verify", "--tenant", "alpha"]) == 1
    out = capsys.readouterr().out
    assert f"alpha: account resident:{resident.pk} stores 99 but its postings sum to 10" in out


def test_the_expiry_job_visits_only_tenants_with_points_and_expiry(tenant, other_tenant):
    ModuleSetting.objects.create(
        tenant=tenant, module="points", enabled=True, settings={"expiry_months": 1}
    )
    with tenant_context(tenant):
        resident = ResidentFactory()
        points_award(
            resident_id=resident.pk,
            category="default",
            hours=1,
            source="old",
            idempotency_key="old",
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE points_posting DISABLE TRIGGER points_posting_immutable")
            cursor.execute("UPDATE points_posting SET created_at = now() - interval '60 days'")
            cursor.execute("ALTER TABLE points_posting ENABLE TRIGGER points_posting_immutable")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert points_expire_everywhere() == 1
    assert points_expire_everywhere() == 0  # safe to run twice
    with tenant_context(tenant):
        assert Account.objects.get(resident=resident).balance == 0


def test_points_settings_are_validated_with_the_field_named(tenant):
    import pytest

    from linli.errors import ValidationFailed
    from linli.registry.services import module_settings_update

    with pytest.raises(ValidationFailed) as err:
        module_settings_update(
            slug="alpha",
            module="points",
            settings={"earning_rules": [{"category": "child_pickup", "per": "day", "points": 5}]},
        )
    assert err.value.code == "settings_invalid"
    assert err.value.field == "settings.earning_rules.0.per"
    with pytest.raises(ValidationFailed) as err:
        module_settings_update(slug="alpha", module="points", settings={"expiry_months": 0})
    assert err.value.field == "settings.expiry_months"
    with pytest.raises(ValidationFailed):
        module_settings_update(slug="alpha", module="points", settings={"colour": "red"})
    saved = module_settings_update(
        slug="alpha",
        module="points",
        settings={
            "earning_rules": [{"category": "child_pickup", "per": "task", "points": 30}],
            "allow_transfers": True,
        },
    )
    assert saved.settings["allow_transfers"] is True
    assert saved.settings["earning_rules"][0]["daily_cap"] is None


def test_statement_pages_and_date_range(tenant, api):
    from datetime import timedelta

    from django.utils import timezone

    from linli.registry.services import module_set_enabled
    from tenants.points.services import account_for_resident, points_adjust

    module_set_enabled(slug="alpha", module="points", enabled=True)
    with tenant_context(tenant):
        resident = ResidentFactory()
        account = account_for_resident(resident_id=resident.pk)
        for i in range(5):
            points_adjust(account_id=account.pk, amount=i + 1, reason="r", idempotency_key=f"{i}")
    first = api.get(f"/api/v1/points/accounts/{account.pk}/statement?limit=2").json()
    assert [line["balance_after"] for line in first["items"]] == [1, 3]
    second = api.get(
        f"/api/v1/points/accounts/{account.pk}/statement?limit=2&cursor={first['next']}"
    ).json()
    assert [line["balance_after"] for line in second["items"]] == [6, 10]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    later = api.get(f"/api/v1/points/accounts/{account.pk}/statement?since={tomorrow}").json()
    assert later["items"] == []
