"""The tenant configuring itself by API (``tenant:admin``): module settings, modules on and
off, and its own API keys. Real PostgreSQL; billing's hook is watched at the registry's one
door into billing (``linli.billing.hooks.modules_changed``), as billing is off in tests."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from api.access.models import ApiKey
from linli.registry.models import ModuleSetting, ModuleSettingVersion, Tenant
from tenants.audit.models import AuditEntry
from tests.conftest import key_client as any_key_client
from tests.factories import ResidentFactory

ADMIN = "tenant:admin"


def key_client(tenant: Tenant, token: str, **extra: Any) -> Client:
    """A client of the key, reading English (the tenants speak Chinese by default)."""
    return any_key_client(tenant, token, HTTP_ACCEPT_LANGUAGE="en", **extra)


def versions(tenant: Tenant, module: str | None = None) -> int:
    rows = ModuleSettingVersion.objects.filter(tenant=tenant)
    return (rows.filter(module=module) if module else rows).count()


def stored_settings(tenant: Tenant, module: str) -> dict[str, Any] | None:
    row = ModuleSetting.objects.filter(tenant=tenant, module=module).first()
    return row.settings if row else None


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any):
    if method == "get":
        return client.get(path, **extra)
    if body is None:
        return getattr(client, method)(path, **extra)
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(path, raw, content_type="application/json", **extra)


def problem(response: Any) -> tuple[int, str]:
    assert response["Content-Type"] == "application/problem+json", response.content
    return response.status_code, response.json()["code"]


@pytest.fixture
def admin(tenant, make_key) -> Client:
    return key_client(tenant, make_key(ADMIN, "community:write", "shop:read"))


@pytest.fixture
def billing_calls(monkeypatch) -> list[str]:
    """Every call the registry makes to billing's repricing hook, by tenant slug."""
    from linli.billing import hooks

    calls: list[str] = []
    monkeypatch.setattr(hooks, "modules_changed", lambda *, tenant: calls.append(tenant.slug))
    return calls


# --- reading modules and settings -------------------------------------------------------------

DEFAULTS = {
    "community": {},
    "deliberation": {"quorum_share": 0.5, "vote_per": "household", "visit_every_days": 30},
    "helpteam": {
        "auto_confirm_days": None,
        "dispute_days": 7,
        "unclaimed_alert_hours": 24,
        "star_thresholds": [10, 50, 100, 200, 500],
    },
    "shop": {
        "fen_per_point": 100,
        "pickup_grace_hours": 24,
        "hold_days": 3,
        "parcel_remind_days": 3,
        "parcel_return_days": 14,
    },
    "points": {
        "earning_rules": [
            {
                "category": "default",
                "per": "hour",
                "points": 10,
                "daily_cap": 80,
                "monthly_cap": 600,
                "confirmers": ["requester", "leader"],
            }
        ],
        "allow_transfers": False,
        "expiry_months": None,
    },
}
LABELS = {
    "community": "Community",
    "deliberation": "Deliberation",
    "helpteam": "Help team",
    "shop": "Shop",
    "points": "Points",
}


def fresh(module: str) -> dict[str, Any]:
    return {
        "module": module,
        "label": LABELS[module],
        "enabled": module == "community",
        "always_on": module == "community",
        "settings": DEFAULTS[module],
        "version": None,
        "changed_at": None,
        "changed_by": "",
    }


def test_modules_list_shows_every_module_its_settings_and_version(
    admin, settings, django_assert_max_num_queries
):
    settings.LINLI_TENANT_CACHE_SECONDS = 600
    admin.get("/api/v1/tenant")  # the host is known from here on
    # routing, the key, its rate count; then the settings and the latest versions
    with django_assert_max_num_queries(5):
        response = admin.get("/api/v1/tenant/modules")
    assert response.status_code == 200
    assert response.json() == [fresh(m) for m in LABELS]


def test_one_modules_settings(admin):
    response = admin.get("/api/v1/tenant/modules/shop/settings")
    assert response.status_code == 200
    assert response.json() == fresh("shop")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/tenant/modules/parking/settings", None),
        ("patch", "/api/v1/tenant/modules/parking/settings", {"x": 1}),
        ("put", "/api/v1/tenant/modules/parking", {"enabled": True}),
        ("put", "/api/v1/tenant/modules/Shop", {"enabled": True}),
    ],
)
def test_an_unknown_module_is_404(admin, tenant, method, path, body):
    response = send(admin, method, path, body)
    assert problem(response) == (404, "module_not_found")
    assert versions(tenant) == 0


# --- changing settings -----------------------------------------------------------------------


def test_a_settings_change_keeps_the_rest_and_is_recorded_as_the_admin_records_it(
    admin, tenant, billing_calls
):
    # given
    before = versions(tenant, "deliberation")
    # when
    response = admin.patch(
        "/api/v1/tenant/modules/deliberation/settings",
        {"visit_every_days": 14, "vote_per": "attendee"},
        content_type="application/json",
    )
    # then
    assert response.status_code == 200
    body = response.json()
    version = ModuleSettingVersion.objects.get(tenant=tenant, module="deliberation")
    with tenant_context(tenant):
        key = ApiKey.objects.get()
    assert body["settings"] == {"quorum_share": 0.5, "vote_per": "attendee", "visit_every_days": 14}
    assert (body["version"], body["changed_by"], body["enabled"]) == (
        version.pk,
        f"API key {key.prefix} (test key)",
        False,
    )
    assert versions(tenant, "deliberation") == before + 1
    assert (version.settings, version.enabled, version.note) == (
        body["settings"],
        False,
        "settings",
    )
    assert stored_settings(tenant, "deliberation") == body["settings"]
    assert billing_calls == []  # settings alone do not reprice
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="module.settings_changed")
    assert (entry.object_id, entry.actor_key_id) == ("deliberation", key.pk)
    assert entry.changes == {"visit_every_days": [30, 14], "vote_per": ["household", "attendee"]}
    # a second partial change keeps the first
    again = admin.patch(
        "/api/v1/tenant/modules/deliberation/settings",
        {"quorum_share": 0.75},
        content_type="application/json",
    )
    assert again.json()["settings"] == {
        "quorum_share": 0.75,
        "vote_per": "attendee",
        "visit_every_days": 14,
    }
    assert versions(tenant, "deliberation") == before + 2


def test_nested_settings_and_null_where_allowed(admin, tenant):
    rules = [{"category": "plumbing", "per": "task", "points": 30}]
    response = admin.patch(
        "/api/v1/tenant/modules/points/settings",
        {"earning_rules": rules, "expiry_months": 12},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["settings"] == {
        "earning_rules": [
            {
                "category": "plumbing",
                "per": "task",
                "points": 30,
                "daily_cap": None,
                "monthly_cap": None,
                "confirmers": ["requester", "leader"],
            }
        ],
        "allow_transfers": False,
        "expiry_months": 12,
    }
    back = admin.patch(
        "/api/v1/tenant/modules/points/settings",
        {"expiry_months": None},
        content_type="application/json",
    )
    assert back.json()["settings"]["expiry_months"] is None
    assert versions(tenant, "points") == 2


def test_a_change_that_changes_nothing_records_nothing(admin, tenant):
    for body in [{}, {"hold_days": 3}]:
        response = admin.patch(
            "/api/v1/tenant/modules/shop/settings", body, content_type="application/json"
        )
        assert response.status_code == 200
        assert response.json() == fresh("shop")
    assert versions(tenant) == 0


@pytest.mark.parametrize(
    ("module", "body", "errors"),
    [
        (
            "deliberation",
            {"visit_every_days": 0},
            [("/body/visit_every_days", "Send a value greater than 0.")],
        ),
        # strict, like every API body: no numbers in strings, no booleans for numbers
        (
            "deliberation",
            {"visit_every_days": "30", "quorum_share": True},
            [
                ("/body/quorum_share", "Send a number here."),
                ("/body/visit_every_days", "Send a whole number here."),
            ],
        ),
        ("shop", {"hold_days": 2.0}, [("/body/hold_days", "Send a whole number here.")]),
        (
            "shop",
            {"opening_hours": "9-5"},
            [("/body/opening_hours", "This field is not one this request takes.")],
        ),
        (
            "deliberation",
            {"vote_per": "show_of_hands"},
            [("/body/vote_per", "Send one of 'household' or 'attendee'.")],
        ),
        (
            "points",
            {"earning_rules": [{"category": "a", "points": 0}]},
            [("/body/earning_rules/0/points", "Send a value greater than 0.")],
        ),
        (
            "points",
            {"earning_rules": [{"category": "a", "points": 1}, {"category": "a", "points": 2}]},
            [("/body", "Each category has one earning rule.")],
        ),
        (
            "helpteam",
            {"star_thresholds": [5, 3]},
            [
                (
                    "/body/star_thresholds",
                    "Star thresholds are positive and strictly ascending.",
                )
            ],
        ),
        (
            "helpteam",
            {"dispute_days": None},
            [("/body/dispute_days", "Send a whole number here.")],
        ),
        (
            "community",
            {"motto": "neighbours"},
            [("/body/motto", "The community module has no settings.")],
        ),
    ],
)
def test_a_bad_setting_is_422_pointing_at_it_and_nothing_is_saved(
    admin, tenant, module, body, errors
):
    response = admin.patch(
        f"/api/v1/tenant/modules/{module}/settings", body, content_type="application/json"
    )
    assert problem(response) == (422, "validation_failed")
    found = sorted((e["pointer"], e["message"]) for e in response.json()["errors"])
    assert found == sorted(errors)
    assert versions(tenant) == 0
    assert stored_settings(tenant, module) in (None, {})


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "not json"])
def test_a_settings_body_is_a_json_object(admin, tenant, raw):
    response = admin.patch(
        "/api/v1/tenant/modules/shop/settings", raw, content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert problem(response)[1] in ("body_malformed", "validation_failed")
    assert versions(tenant) == 0


# --- modules on and off ----------------------------------------------------------------------


def test_turning_a_module_off_and_on_reprices_and_is_versioned(
    admin, tenant, make_key, billing_calls
):
    points = key_client(tenant, make_key("points:read"))
    # on
    response = send(admin, "put", "/api/v1/tenant/modules/points", {"enabled": True})
    assert response.status_code == 200
    on = response.json()
    assert (on["module"], on["enabled"], on["settings"]) == ("points", True, DEFAULTS["points"])
    assert billing_calls == ["alpha"]
    assert "points" in admin.get("/api/v1/tenant").json()["modules"]
    assert points.get("/api/v1/points/summary").status_code == 200
    # off
    off = send(admin, "put", "/api/v1/tenant/modules/points", {"enabled": False})
    assert (off.status_code, off.json()["enabled"]) == (200, False)
    assert billing_calls == ["alpha", "alpha"]
    assert problem(points.get("/api/v1/points/summary")) == (404, "module_disabled")
    history = list(
        ModuleSettingVersion.objects.filter(tenant=tenant, module="points")
        .order_by("id")
        .values_list("enabled", "note", "changed_by")
    )
    with tenant_context(tenant):
        key = ApiKey.objects.get(scopes__contains=[ADMIN])
        audit = list(
            AuditEntry.objects.filter(object_id="points")
            .order_by("id")
            .values_list("action", "changes")
        )
    who = f"API key {key.prefix} (test key)"
    assert history == [(True, "enabled", who), (False, "disabled", who)]
    assert off.json()["version"] == ModuleSettingVersion.objects.filter(tenant=tenant).first().pk
    assert audit == [
        ("module.enabled", {"enabled": [False, True]}),
        ("module.disabled", {"enabled": [True, False]}),
    ]


def test_asking_for_the_state_a_module_is_in_changes_nothing(admin, tenant, billing_calls):
    for module, enabled in [("shop", False), ("community", True)]:
        response = send(admin, "put", f"/api/v1/tenant/modules/{module}", {"enabled": enabled})
        assert (response.status_code, response.json()["enabled"]) == (200, enabled)
    assert versions(tenant) == 0
    assert billing_calls == []


def test_community_cannot_be_turned_off(admin, tenant, billing_calls):
    response = send(admin, "put", "/api/v1/tenant/modules/community", {"enabled": False})
    assert problem(response) == (422, "module_always_on")
    assert response.json()["errors"] == [
        {"pointer": "/body/enabled", "message": "The community module is always on."}
    ]
    assert versions(tenant) == 0
    assert billing_calls == []


@pytest.mark.parametrize("body", [{"enabled": 1}, {"enabled": "true"}, {}])
def test_enabled_is_a_boolean(admin, tenant, body):
    response = send(admin, "put", "/api/v1/tenant/modules/shop", body)
    assert problem(response) == (422, "validation_failed")
    assert response.json()["errors"][0]["pointer"] == "/body/enabled"
    assert versions(tenant) == 0


# --- API keys -------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_works_with_what_it_was_given(admin, tenant):
    # when
    response = send(
        admin,
        "post",
        "/api/v1/tenant/keys",
        {"name": "Kiosk", "scopes": ["community:read", "shop:read"]},
    )
    # then
    assert response.status_code == 201
    body = response.json()
    token = body.pop("token")
    with tenant_context(tenant):
        key = ApiKey.objects.get(name="Kiosk")
    assert token.startswith(f"lk_{key.prefix}_")
    assert body == {
        "prefix": key.prefix,
        "name": "Kiosk",
        "scopes": ["community:read", "shop:read"],
        "active": True,
        "created_at": body["created_at"],
        "last_used_at": None,
        "expires_at": None,
        "revoked_at": None,
        "rate_limit": None,
    }
    new = key_client(tenant, token)
    assert new.get("/api/v1/community/residents").status_code == 200
    assert problem(new.get("/api/v1/tenant/keys")) == (403, "scope_missing")
    # the list never shows a secret, a hash or the token again
    listed = admin.get("/api/v1/tenant/keys")
    assert listed.status_code == 200
    secret = token.split("_", 2)[2]
    assert secret not in listed.content.decode()
    assert key.secret_hash not in listed.content.decode()
    items = listed.json()["items"]
    assert [i["name"] for i in items] == ["test key", "Kiosk"]
    assert all(set(i) == set(body) for i in items)
    assert items[1]["last_used_at"] is not None  # it was just used


def test_a_retried_key_request_issues_one_key_and_never_stores_its_secret(admin, tenant):
    from api.access.models import IdempotencyRecord

    body = {"name": "resident app", "scopes": ["community:read"]}
    first = send(admin, "post", "/api/v1/tenant/keys", body, HTTP_IDEMPOTENCY_KEY="k-issue-1")
    again = send(admin, "post", "/api/v1/tenant/keys", body, HTTP_IDEMPOTENCY_KEY="k-issue-1")

    assert first.status_code == 201
    token = first.json()["token"]
    assert problem(again) == (409, "key_already_issued")
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["prefix"] in again.json()["detail"]
    with tenant_context(tenant):
        assert ApiKey.objects.filter(name="resident app").count() == 1
    stored = IdempotencyRecord.objects.get(key="k-issue-1")
    assert token.encode() not in bytes(stored.body)
    assert token.split("_")[-1].encode() not in bytes(stored.body)


def test_a_write_scope_hands_on_its_read(tenant, make_key):
    caller = key_client(tenant, make_key(ADMIN, "shop:write"))
    response = send(caller, "post", "/api/v1/tenant/keys", {"name": "r", "scopes": ["shop:read"]})
    assert (response.status_code, response.json()["scopes"]) == (201, ["shop:read"])


@pytest.mark.parametrize(
    "wanted", [["personal_data:read"], ["shop:write"], ["points:read", "community:read"]]
)
def test_a_key_cannot_hand_on_a_scope_it_lacks(admin, tenant, wanted):
    response = send(admin, "post", "/api/v1/tenant/keys", {"name": "more", "scopes": wanted})
    assert problem(response) == (403, "scope_not_held")
    assert wanted[0] in response.json()["detail"]
    with tenant_context(tenant):
        assert ApiKey.objects.count() == 1


def test_an_unknown_scope_is_422(admin, tenant):
    response = send(admin, "post", "/api/v1/tenant/keys", {"name": "x", "scopes": ["root"]})
    assert problem(response) == (422, "scope_invalid")
    assert response.json()["errors"][0]["pointer"] == "/body/scopes"
    with tenant_context(tenant):
        assert ApiKey.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": " ", "scopes": []}, "/body/name"), ({"scopes": []}, "/body/name")],
)
def test_a_key_needs_a_name(admin, tenant, body, field):
    response = send(admin, "post", "/api/v1/tenant/keys", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == field
    with tenant_context(tenant):
        assert ApiKey.objects.count() == 1


def test_a_key_cannot_outlive_or_outpace_the_key_that_issues_it(tenant, make_key):
    ends = timezone.now() + timedelta(days=7)
    caller = key_client(tenant, make_key(ADMIN, "shop:read", expires_at=ends, rate_limit=100))
    later = (ends + timedelta(days=1)).isoformat()
    refused = send(
        caller, "post", "/api/v1/tenant/keys", {"name": "x", "scopes": [], "expires_at": later}
    )
    assert problem(refused) == (403, "expiry_not_held")
    faster = send(
        caller, "post", "/api/v1/tenant/keys", {"name": "x", "scopes": [], "rate_limit": 101}
    )
    assert problem(faster) == (403, "rate_limit_not_held")
    inherited = send(caller, "post", "/api/v1/tenant/keys", {"name": "x", "scopes": []})
    assert inherited.status_code == 201
    with tenant_context(tenant):
        issued = ApiKey.objects.get(name="x")
    assert (issued.expires_at, issued.rate_limit) == (ends, 100)


def test_a_key_without_its_own_limit_hands_on_at_most_the_tenants(admin, tenant):
    over = send(
        admin,
        "post",
        "/api/v1/tenant/keys",
        {"name": "x", "scopes": [], "rate_limit": tenant.api_rate_limit + 1},
    )
    assert problem(over) == (403, "rate_limit_not_held")
    within = send(
        admin, "post", "/api/v1/tenant/keys", {"name": "x", "scopes": [], "rate_limit": 10}
    )
    assert (within.status_code, within.json()["rate_limit"]) == (201, 10)


def test_a_revoked_key_is_refused_at_once_and_listed_as_revoked(admin, tenant, make_key):
    token = make_key("community:read")
    other = key_client(tenant, token)
    assert other.get("/api/v1/tenant").status_code == 200
    prefix = token.split("_")[1]
    response = admin.delete(f"/api/v1/tenant/keys/{prefix}")
    assert (response.status_code, response.content) == (204, b"")
    assert problem(other.get("/api/v1/tenant")) == (401, "not_authenticated")
    listed = {i["prefix"]: i for i in admin.get("/api/v1/tenant/keys").json()["items"]}
    assert listed[prefix]["active"] is False
    assert listed[prefix]["revoked_at"] is not None
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="api_key.revoked")
        caller = ApiKey.objects.get(scopes__contains=[ADMIN])
        revoked = ApiKey.objects.get(prefix=prefix)
    assert (entry.object_id, entry.actor_key_id) == (str(revoked.pk), caller.pk)
    # revoking again is the same answer
    assert admin.delete(f"/api/v1/tenant/keys/{prefix}").status_code == 204


def test_a_key_may_revoke_itself(tenant, make_key):
    token = make_key(ADMIN)
    client = key_client(tenant, token)
    assert client.delete(f"/api/v1/tenant/keys/{token.split('_')[1]}").status_code == 204
    assert problem(client.get("/api/v1/tenant/keys")) == (401, "not_authenticated")


def test_an_unknown_prefix_is_404(admin):
    assert problem(admin.delete("/api/v1/tenant/keys/000000000000")) == (404, "key_not_found")


def test_listing_keys_pages_in_constant_queries(
    admin, tenant, settings, django_assert_max_num_queries
):
    settings.LINLI_TENANT_CACHE_SECONDS = 600
    from api.access.services import key_create

    with tenant_context(tenant):
        for n in range(12):
            key_create(name=f"k{n}", scopes=[])
    admin.get("/api/v1/tenant")  # the host is known from here on
    with django_assert_max_num_queries(4):
        first = admin.get("/api/v1/tenant/keys?limit=10").json()
    second = admin.get(f"/api/v1/tenant/keys?limit=10&cursor={first['next']}").json()
    assert len(first["items"]) == 10
    assert (len(second["items"]), second["next"]) == (3, None)


# --- who may ---------------------------------------------------------------------------------

EVERY_ROUTE = [
    ("get", "/api/v1/tenant/modules", None),
    ("get", "/api/v1/tenant/modules/shop/settings", None),
    ("patch", "/api/v1/tenant/modules/shop/settings", {"hold_days": 5}),
    ("put", "/api/v1/tenant/modules/shop", {"enabled": True}),
    ("get", "/api/v1/tenant/keys", None),
    ("post", "/api/v1/tenant/keys", {"name": "x", "scopes": []}),
    ("delete", "/api/v1/tenant/keys/{prefix}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), EVERY_ROUTE)
def test_every_route_needs_tenant_admin(tenant, make_key, method, path, body):
    from api.scopes import ALL_SCOPES

    token = make_key(*[s for s in ALL_SCOPES if s != ADMIN])
    client = key_client(tenant, token)
    response = send(client, method, path.format(prefix=token.split("_")[1]), body)
    assert problem(response) == (403, "scope_missing")
    assert "tenant:admin" in response.json()["detail"]
    assert versions(tenant) == 0
    with tenant_context(tenant):
        assert list(ApiKey.objects.values_list("revoked_at", flat=True)) == [None]


@pytest.mark.parametrize("role", [None, "district_admin"])
@pytest.mark.parametrize(("method", "path", "body"), EVERY_ROUTE)
def test_no_resident_acting_configures_the_tenant(tenant, make_key, method, path, body, role):
    from tenants.community.roles import role_assign

    with tenant_context(tenant):
        resident = ResidentFactory()
        if role:
            role_assign(resident_id=resident.pk, role=role, scope="tenant")
    token = make_key(ADMIN, "residents:act", "community:write")
    client = key_client(tenant, token, HTTP_LINLI_ACTING_RESIDENT=str(resident.pk))
    response = send(client, method, path.format(prefix=token.split("_")[1]), body)
    assert problem(response) == (403, "not_for_residents")
    assert versions(tenant) == 0
    with tenant_context(tenant):
        assert list(ApiKey.objects.values_list("revoked_at", flat=True)) == [None]


def test_the_tenant_endpoint_itself_needs_no_admin_scope(tenant, make_key):
    assert key_client(tenant, make_key()).get("/api/v1/tenant").status_code == 200


# --- across tenants --------------------------------------------------------------------------


def test_a_tenant_sees_and_revokes_only_its_own_keys(admin, tenant, other_tenant, make_key):
    alpha_token = make_key("community:read")
    beta = key_client(other_tenant, make_key(ADMIN, on=other_tenant))
    listed = beta.get("/api/v1/tenant/keys").json()["items"]
    with tenant_context(other_tenant):
        beta_prefixes = set(ApiKey.objects.values_list("prefix", flat=True))
    assert {i["prefix"] for i in listed} == beta_prefixes
    assert alpha_token.split("_")[1] not in beta_prefixes
    response = beta.delete(f"/api/v1/tenant/keys/{alpha_token.split('_')[1]}")
    assert problem(response) == (404, "key_not_found")
    assert key_client(tenant, alpha_token).get("/api/v1/tenant").status_code == 200


def test_a_tenants_settings_and_modules_are_its_own(admin, tenant, other_tenant, make_key):
    beta = key_client(other_tenant, make_key(ADMIN, on=other_tenant))
    changed = send(beta, "patch", "/api/v1/tenant/modules/shop/settings", {"hold_days": 9})
    assert changed.status_code == 200
    assert send(beta, "put", "/api/v1/tenant/modules/shop", {"enabled": True}).status_code == 200
    assert versions(other_tenant, "shop") == 2
    assert stored_settings(other_tenant, "shop")["hold_days"] == 9
    assert versions(tenant) == 0
    assert stored_settings(tenant, "shop") is None
    assert admin.get("/api/v1/tenant/modules/shop/settings").json() == fresh("shop")
    # and a key of one tenant is not a key on the other's host
    alpha_host_beta_key = Client(
        HTTP_HOST=tenant.domains.get().domain,
        HTTP_AUTHORIZATION=beta.defaults["HTTP_AUTHORIZATION"],
    )
    assert problem(alpha_host_beta_key.get("/api/v1/tenant/modules")) == (401, "not_authenticated")


def test_a_change_made_by_api_rolls_back_like_any_other(admin, tenant):
    from linli.registry.services import module_settings_rollback

    send(admin, "patch", "/api/v1/tenant/modules/shop/settings", {"hold_days": 5})
    first = ModuleSettingVersion.objects.get(tenant=tenant, module="shop")
    send(admin, "patch", "/api/v1/tenant/modules/shop/settings", {"hold_days": 9})
    module_settings_rollback(slug="alpha", version_id=first.pk, changed_by="admin-alpha")
    body = admin.get("/api/v1/tenant/modules/shop/settings").json()
    assert (body["settings"]["hold_days"], body["changed_by"]) == (5, "admin-alpha")
    assert versions(tenant, "shop") == 3


def test_the_document_has_a_settings_schema_for_every_module(db):
    from api import contract
    from linli.registry.models import Module

    document = json.loads(contract.render("api"))
    listed = document["paths"]["/api/v1/tenant/modules"]["get"]["responses"]["200"]
    mapping = listed["content"]["application/json"]["schema"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(Module.values)
    schemas = document["components"]["schemas"]
    shop = schemas[mapping["shop"].rsplit("/", 1)[1]]["properties"]["settings"]
    assert schemas[shop["$ref"].rsplit("/", 1)[1]]["properties"]["hold_days"]["maximum"] == 30
