"""Rate limits per key: counted in PostgreSQL, so every web process shares them."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from api.access.models import RateCounter
from linli.registry.models import Tenant
from tests.conftest import key_client


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """Keep every request of a test in the same counting window (the middle of a minute)."""
    fixed = timezone.now().replace(second=30, microsecond=0)
    monkeypatch.setattr("api.access.services.timezone.now", lambda: fixed)


def test_the_keys_own_limit_applies(tenant, make_key):
    client = key_client(tenant, make_key("community:read", rate_limit=3))
    statuses = [client.get("/api/v1/community/estates").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_the_tenants_default_applies_to_keys_without_one(tenant, make_key):
    Tenant.objects.filter(pk=tenant.pk).update(api_rate_limit=2)
    from linli.registry.selectors import tenant_cache_clear

    tenant_cache_clear()
    client = key_client(tenant, make_key("community:read"))
    statuses = [client.get("/api/v1/community/estates").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_counts_live_in_the_database_per_key_and_minute(tenant, make_key):
    client = key_client(tenant, make_key("community:read"))
    for _ in range(4):
        client.get("/api/v1/community/estates")
    with tenant_context(tenant):
        counters = list(RateCounter.objects.values_list("hits", flat=True))
    assert counters == [4]


def test_one_keys_limit_does_not_touch_another(tenant, make_key):
    busy = key_client(tenant, make_key("community:read", rate_limit=1))
    calm = key_client(tenant, make_key("community:read", rate_limit=1))
    assert busy.get("/api/v1/community/estates").status_code == 200
    assert busy.get("/api/v1/community/estates").status_code == 429
    assert calm.get("/api/v1/community/estates").status_code == 200


def test_a_new_minute_drops_the_keys_older_windows(tenant, make_key):
    from datetime import timedelta

    from django.utils import timezone

    from api.access.models import ApiKey

    client = key_client(tenant, make_key("community:read"))
    with tenant_context(tenant):
        key = ApiKey.objects.get()
        RateCounter.objects.create(key=key, window=timezone.now() - timedelta(minutes=5), hits=9)
    client.get("/api/v1/community/estates")
    with tenant_context(tenant):
        assert list(RateCounter.objects.values_list("hits", flat=True)) == [1]
