"""Idempotency-Key: the first response is replayed; reuse with another body is refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from api.access.models import ApiKey, IdempotencyRecord
from api.access.services import key_create
from linli.registry.models import Tenant
from tenants.community.models import Resident
from tests.conftest import host_of, key_client

BODY = {"display_name": "王芳", "phone": "13800001111"}


def post(client: Client, body: dict, key: str | None = "order-1"):
    extra: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/community/residents", json.dumps(body), content_type="application/json", **extra
    )


def test_a_replay_returns_the_first_response_and_has_no_second_effect(tenant, api):
    first = post(api, BODY)
    second = post(api, BODY)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    with tenant_context(tenant):
        assert Resident.objects.filter(phone="+8613800001111").count() == 1


def test_the_same_key_with_another_body_is_422(tenant, api):
    assert post(api, BODY).status_code == 201
    response = post(api, {**BODY, "display_name": "王芳芳"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    with tenant_context(tenant):
        assert list(Resident.objects.values_list("display_name", flat=True)) == ["王芳"]


def test_errors_are_replayed_too(tenant, api):
    bad = {"display_name": "王芳", "phone": "12"}
    assert post(api, bad).status_code == 422
    again = post(api, bad)
    assert again.status_code == 422
    assert again["Idempotent-Replayed"] == "true"


def test_keys_of_different_api_keys_do_not_collide(tenant, make_key):
    one = key_client(tenant, make_key("community:write"))
    two = key_client(tenant, make_key("community:write"))
    assert post(one, BODY).status_code == 201
    response = post(two, {"display_name": "李雷"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_without_a_key_posts_are_not_deduplicated(tenant, api):
    assert post(api, {"display_name": "甲"}, key=None).status_code == 201
    assert post(api, {"display_name": "甲"}, key=None).status_code == 201
    with tenant_context(tenant):
        assert Resident.objects.filter(display_name="甲").count() == 2


def test_an_overlong_key_is_refused(api):
    response = post(api, BODY, key="k" * 256)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_invalid"


@pytest.fixture
def committed(django_db_setup, django_db_blocker) -> Iterator[Tenant]:
    """Threads use their own connections, so this test commits and cleans up after itself."""
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(schema_name="alpha")
        try:
            yield tenant
        finally:
            with tenant_context(tenant):
                Resident.objects.filter(phone="+8613800001111").delete()
                IdempotencyRecord.objects.all().delete()
                ApiKey.objects.filter(name="concurrency").delete()


def test_concurrent_duplicates_have_one_effect(committed):
    tenant = committed
    with tenant_context(tenant):
        token = key_create(name="concurrency", scopes=["community:write"]).token
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        client = Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            results.append(post(client, BODY, key="same-order").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [201] * 6
    with tenant_context(tenant):
        assert Resident.objects.filter(phone="+8613800001111").count() == 1


def test_the_hourly_job_forgets_responses_older_than_a_day(tenant, other_tenant):
    from datetime import timedelta

    from django.utils import timezone

    from linli.jobs.tasks import idempotency_records_prune_everywhere

    for t in (tenant, other_tenant):
        with tenant_context(t):
            IdempotencyRecord.objects.create(
                owner="k",
                key="old",
                request_hash="x",
                created_at=timezone.now() - timedelta(hours=25),
            )
            IdempotencyRecord.objects.create(owner="k", key="new", request_hash="x")
    assert idempotency_records_prune_everywhere() == 2
    for t in (tenant, other_tenant):
        with tenant_context(t):
            assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def _forged(token: str) -> str:
    """The real key's prefix (not secret: it is shown in lists and logs) with a wrong secret."""
    namespace, prefix, _secret = token.split("_", 2)
    return f"{namespace}_{prefix}_WRONGSECRET"


def test_a_forged_key_with_a_real_prefix_gets_no_replay(tenant, make_key):
    # given a stored answer for the real key
    token = make_key("community:write", "community:read")
    assert post(key_client(tenant, token), BODY, key="k1").status_code == 201
    # when the same request comes with the real prefix and a wrong secret
    forged = post(key_client(tenant, _forged(token)), BODY, key="k1")
    # then it is refused like any bad key: no replay, no stored body, no phone
    assert forged.status_code == 401
    assert "Idempotent-Replayed" not in forged
    assert "13800001111" not in forged.content.decode()


def test_a_forged_key_cannot_poison_the_owners_idempotency_key(tenant, make_key):
    token = make_key("community:write", "community:read")
    refused = post(key_client(tenant, _forged(token)), {"display_name": "冒名"}, key="k2")
    assert refused.status_code == 401
    with tenant_context(tenant):
        assert not IdempotencyRecord.objects.filter(key="k2").exists()
    # the owner's real request with that key then runs normally
    real = post(key_client(tenant, token), BODY, key="k2")
    assert real.status_code == 201
    assert "Idempotent-Replayed" not in real


def test_a_refusal_for_a_missing_scope_is_not_stored(tenant, make_key):
    token = make_key("community:read")
    assert post(key_client(tenant, token), BODY, key="k3").status_code == 403
    with tenant_context(tenant):
        assert not IdempotencyRecord.objects.filter(key="k3").exists()


def test_a_replay_needs_the_same_acting_resident(tenant, make_key):
    token = make_key("community:write", "community:read")
    client = key_client(tenant, token)
    assert post(client, BODY, key="k4").status_code == 201
    other = client.post(
        "/api/v1/community/residents",
        json.dumps(BODY),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k4",
        HTTP_LINLI_ACTING_RESIDENT="1",
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_no_key_at_all_stores_nothing(tenant_client, tenant):
    response = post(tenant_client, BODY, key="k5")
    assert response.status_code == 401
    with tenant_context(tenant):
        assert not IdempotencyRecord.objects.exists()
