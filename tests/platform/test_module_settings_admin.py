"""The district admin turns modules on and off and edits their settings in the admin:
errors per field, every change versioned (who, when, what), any version restorable."""

from __future__ import annotations

from django.test import Client

from linli.registry.models import ModuleSetting, ModuleSettingVersion
from tests.conftest import ADMIN_PASSWORD, host_of
from tests.factories import UserFactory


def admin(tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def test_turn_on_configure_and_roll_back_a_module(tenant, in_tenant):
    client = admin(tenant)
    page = client.get("/admin/modules/")
    assert page.status_code == 200 and "Shop — off" in page.content.decode()
    assert "/admin/shop/" not in client.get("/admin/").content.decode()
    # turn the shop on: its menu appears at once
    client.post("/admin/modules/", {"action": "toggle", "module": "shop", "enabled": "1"})
    assert "/admin/shop/" in client.get("/admin/").content.decode()
    # a setting out of range: shown on that field, nothing saved
    bad = client.post(
        "/admin/modules/",
        {"action": "settings", "module": "shop", "field__fen_per_point": "0",
         "field__pickup_grace_hours": "24", "field__hold_days": "3",
         "field__parcel_remind_days": "3", "field__parcel_return_days": "14"},
    )  # fmt: skip
    text = bad.content.decode()
    assert bad.status_code == 200 and 'class="form-row errors"' in text
    assert "fen_per_point" in text.split('class="form-row errors"')[1][:400]
    assert ModuleSetting.objects.get(tenant=tenant, module="shop").settings == {}
    good = client.post(
        "/admin/modules/",
        {"action": "settings", "module": "shop", "field__fen_per_point": "50",
         "field__pickup_grace_hours": "12", "field__hold_days": "3",
         "field__parcel_remind_days": "3", "field__parcel_return_days": "14"},
    )  # fmt: skip
    assert good.status_code == 302
    assert ModuleSetting.objects.get(tenant=tenant, module="shop").settings["fen_per_point"] == 50
    versions = list(
        ModuleSettingVersion.objects.filter(tenant=tenant, module="shop").order_by("id")
    )
    assert [(v.enabled, v.note, v.changed_by) for v in versions] == [
        (True, "enabled", "admin-alpha"),
        (True, "settings", "admin-alpha"),
    ]
    # back to the first version: the default settings again, recorded as a new version
    client.post("/admin/modules/", {"action": "rollback", "version": versions[0].pk})
    assert ModuleSetting.objects.get(tenant=tenant, module="shop").settings == {}
    latest = ModuleSettingVersion.objects.filter(tenant=tenant).order_by("-id").first()
    assert latest.note == f"rolled back to {versions[0].pk}"


def test_only_district_admins_configure_modules(tenant, in_tenant):
    user = UserFactory(username="clerk")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(user)
    assert client.get("/admin/modules/").status_code == 403
    assert (
        client.post(
            "/admin/modules/", {"action": "toggle", "module": "shop", "enabled": "1"}
        ).status_code
        == 403
    )
    assert not ModuleSetting.objects.filter(tenant=tenant, module="shop", enabled=True).exists()
