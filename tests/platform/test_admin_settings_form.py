"""The module settings page as a district office uses it: labels and units in Chinese,
values entered as shown (percent, yuan), problems named by the field's label, earning
rules as a table, and turning a module off only after saying what stops."""

from __future__ import annotations

from django.test import Client

from linli.registry.models import ModuleSetting
from linli.registry.services import module_set_enabled
from tests.conftest import ADMIN_PASSWORD, host_of


def admin(tenant) -> Client:
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(username="admin-alpha", password=ADMIN_PASSWORD)
    return client


def _settings(tenant, module: str) -> dict:
    return ModuleSetting.objects.get(tenant=tenant, module=module).settings


def test_settings_show_labels_units_and_no_raw_keys(tenant, in_tenant):
    for module in ("shop", "deliberation", "points"):
        module_set_enabled(slug=tenant.slug, module=module, enabled=True)
    page = admin(tenant).get("/admin/modules/").content.decode()
    assert "每积分价值" in page and 'name="yuan__fen_per_point" value="1.00"' in page
    assert "法定出席比例" in page and 'name="percent__quorum_share" value="50"' in page
    assert "积分规则" in page and 'name="rule-0-category"' in page
    for raw in ("fen_per_point</label>", "quorum_share</label>", "What one point is worth"):
        assert raw not in page


def test_values_are_entered_in_yuan_and_percent(tenant, in_tenant):
    for module in ("shop", "deliberation"):
        module_set_enabled(slug=tenant.slug, module=module, enabled=True)
    client = admin(tenant)
    shop = client.post(
        "/admin/modules/",
        {"action": "settings", "module": "shop", "yuan__fen_per_point": "0.50",
         "field__pickup_grace_hours": "12", "field__hold_days": "3",
         "field__parcel_remind_days": "3", "field__parcel_return_days": "14"},
    )  # fmt: skip
    council = client.post(
        "/admin/modules/",
        {"action": "settings", "module": "deliberation", "percent__quorum_share": "60",
         "field__vote_per": "household", "field__visit_every_days": "30"},
    )  # fmt: skip
    assert shop.status_code == council.status_code == 302
    assert _settings(tenant, "shop")["fen_per_point"] == 50
    assert _settings(tenant, "deliberation")["quorum_share"] == 0.6


def test_a_problem_names_the_field_in_chinese(tenant, in_tenant):
    module_set_enabled(slug=tenant.slug, module="deliberation", enabled=True)
    response = admin(tenant).post(
        "/admin/modules/",
        {"action": "settings", "module": "deliberation", "percent__quorum_share": "150",
         "field__vote_per": "household", "field__visit_every_days": "30"},
    )  # fmt: skip
    text = response.content.decode()
    assert response.status_code == 200
    assert "法定出席比例不能大于100%。" in text
    assert "Input should be" not in text
    assert _settings(tenant, "deliberation") == {}


def test_earning_rules_are_edited_as_a_table(tenant, in_tenant):
    module_set_enabled(slug=tenant.slug, module="points", enabled=True)
    response = admin(tenant).post(
        "/admin/modules/",
        {"action": "settings", "module": "points", "field__allow_transfers": "false",
         "field__expiry_months": "",
         "rule-0-category": "default", "rule-0-per": "hour", "rule-0-points": "10",
         "rule-0-daily_cap": "80", "rule-0-monthly_cap": "", "rule-0-confirmers": ["requester"],
         "rule-1-category": "child_pickup", "rule-1-per": "task", "rule-1-points": "5",
         "rule-1-daily_cap": "", "rule-1-monthly_cap": "",
         "rule-1-confirmers": ["requester", "leader"],
         "rule-2-category": "", "rule-2-per": "task", "rule-2-points": ""},
    )  # fmt: skip
    assert response.status_code == 302
    rules = _settings(tenant, "points")["earning_rules"]
    assert [(r["category"], r["per"], r["points"], r["daily_cap"]) for r in rules] == [
        ("default", "hour", 10, 80),
        ("child_pickup", "task", 5, None),
    ]
    assert rules[1]["confirmers"] == ["requester", "leader"]


def test_turning_a_module_off_asks_first_and_says_what_stops(tenant, in_tenant):
    module_set_enabled(slug=tenant.slug, module="shop", enabled=True)
    client = admin(tenant)
    asked = client.post("/admin/modules/", {"action": "toggle", "module": "shop", "enabled": "0"})
    assert asked.status_code == 200 and "data-confirm-off" in asked.content.decode()
    assert "预订、小店柜台和包裹服务将停止" in asked.content.decode()
    assert ModuleSetting.objects.get(tenant=tenant, module="shop").enabled
    done = client.post(
        "/admin/modules/",
        {"action": "toggle", "module": "shop", "enabled": "0", "confirmed": "1"},
    )
    assert done.status_code == 302
    assert not ModuleSetting.objects.get(tenant=tenant, module="shop").enabled
