"""API keys: issued once, stored hashed, scoped, expiring, revocable, bound to their tenant."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from api.access.models import ApiKey
from api.access.services import key_create, key_revoke
from linli.cli import main
from linli.errors import ValidationFailed
from tests.conftest import host_of, key_client


def test_a_key_is_shown_once_and_stored_only_as_a_hash(in_tenant):
    issued = key_create(name="WeChat mini-program", scopes=["community:read"])
    namespace, prefix, secret = issued.token.split("_", 2)
    assert (namespace, prefix) == ("lk", issued.key.prefix)
    assert len(secret) >= 40
    stored = ApiKey.objects.get(pk=issued.key.pk)
    assert secret not in stored.secret_hash
    assert issued.token not in str(ApiKey.objects.values().get(pk=stored.pk))


def test_using_a_key_works_and_records_last_use(tenant, make_key):
    token = make_key("community:read")
    client = key_client(tenant, token)
    assert client.get("/api/v1/tenant").status_code == 200
    with tenant_context(tenant):
        key = ApiKey.objects.get()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(seconds=10)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nonsense", "Bearer lk_abc", "Basic dXNlcjpwYXNz", "Bearer lk_unknown_secret"],
)
def test_missing_or_malformed_keys_are_401(tenant, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client(HTTP_HOST=host_of(tenant), **extra).get("/api/v1/tenant")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="linli"'


def test_right_prefix_wrong_secret_is_401(tenant, make_key):
    token = make_key("community:read")
    forged = token[: token.rindex("_") + 1] + "x" * 43
    assert key_client(tenant, forged).get("/api/v1/tenant").status_code == 401


def test_expired_key_is_401(tenant, make_key):
    token = make_key("community:read", expires_at=timezone.now() + timedelta(days=1))
    client = key_client(tenant, token)
    assert client.get("/api/v1/tenant").status_code == 200
    with tenant_context(tenant):
        ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/tenant").status_code == 401


def test_revoked_key_is_401_at_once(tenant, make_key):
    token = make_key("community:read")
    client = key_client(tenant, token)
    assert client.get("/api/v1/tenant").status_code == 200
    with tenant_context(tenant):
        key_revoke(prefix=ApiKey.objects.get().prefix)
    assert client.get("/api/v1/tenant").status_code == 401


def test_a_key_of_another_tenant_is_indistinguishable_from_a_wrong_key(
    tenant, other_tenant, make_key
):
    beta_token = make_key("community:read", on=other_tenant)
    on_alpha = key_client(tenant, beta_token).get("/api/v1/tenant")
    wrong = key_client(tenant, "lk_000000000000_" + "y" * 43).get("/api/v1/tenant")
    assert on_alpha.status_code == wrong.status_code == 401
    assert on_alpha.json() == wrong.json()
    assert key_client(other_tenant, beta_token).get("/api/v1/tenant").status_code == 200


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"name": " ", "scopes": ["community:read"]}, "name_required"),
        ({"name": "x", "scopes": ["community:admin"]}, "scope_invalid"),
        (
            {"name": "x", "scopes": [], "expires_at": timezone.now() - timedelta(days=1)},
            "expiry_invalid",
        ),
        ({"name": "x", "scopes": [], "rate_limit": 0}, "rate_limit_invalid"),
    ],
)
def test_bad_key_requests_are_refused(in_tenant, options, code):
    with pytest.raises(ValidationFailed) as err:
        key_create(**options)
    assert err.value.code == code
    assert not ApiKey.objects.exists()


def test_keys_from_the_command_line(tenant, capsys):
    assert (
        main(
            [
                "keys",
                "create",
                "--tenant",
                "alpha",
                "--name",
                "kiosk",
                "--scopes",
                "community:read,shop:write",
                "--expires-in-days",
                "30",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    token = out[1]
    assert token.startswith("lk_")
    assert key_client(tenant, token).get("/api/v1/tenant").status_code == 200

    assert main(["keys", "list", "--tenant", "alpha"]) == 0
    listing = capsys.readouterr().out
    prefix = token.split("_")[1]
    assert prefix in listing
    assert token.split("_", 2)[2] not in listing
    assert "community:read,shop:write" in listing

    assert main(["keys", "revoke", "--tenant", "alpha", prefix]) == 0
    assert key_client(tenant, token).get("/api/v1/tenant").status_code == 401
    assert main(["keys", "create", "--tenant", "alpha", "--name", "x", "--scopes", "bogus"]) == 1
    assert "Unknown scope “bogus”" in capsys.readouterr().err


def test_keys_from_the_tenant_admin_are_shown_once(tenant, tenant_client):
    from tests.conftest import ADMIN_PASSWORD

    tenant_client.post("/admin/login/", {"username": "admin-alpha", "password": ADMIN_PASSWORD})
    response = tenant_client.post(
        "/admin/api_access/apikey/add/",
        {
            "name": "Resident app",
            "scopes": ["community:read", "residents:act"],
            "expires_at_0": "",
            "expires_at_1": "",
            "rate_limit": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    tokens = [match for m in shown for match in re.findall(r"lk_[A-Za-z0-9_-]+", m)]
    assert len(tokens) == 1
    token = tokens[0]
    with tenant_context(tenant):
        key = ApiKey.objects.get()
    assert key.scopes == ["community:read", "residents:act"]
    assert key_client(tenant, token).get("/api/v1/tenant").status_code == 200
