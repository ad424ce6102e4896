"""Test harness: real PostgreSQL, two tenants built once per session, rollback per test.

The session migrates the test database, records the tenant blueprint and
provisions two tenants (``alpha`` and ``beta``). Each test then runs inside a
transaction that is rolled back, so schemas are reused, never rebuilt per test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.utils import translation
from django_tenants.utils import tenant_context

from api.access.services import key_create
from api.scopes import ALL_SCOPES
from linli.db.access import tenant_db
from linli.registry import provisioning
from linli.registry.models import Tenant
from linli.registry.selectors import tenant_cache_clear
from linli.registry.services import tenant_create

# Tests hash many passwords; the slow production hasher would dominate their time.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ALPHA = "alpha"
BETA = "beta"
ADMIN_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker) -> Iterator[None]:
    """Always build the test database, even when no collected test asks for ``db``.

    pytest-django skips database setup when no test is marked for it, which
    would leave tests that commit (the job worker's) on the development
    database. Here the test database is created every time, and checked.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})  # type: ignore[arg-type]
        assert connection.settings_dict["NAME"].startswith("test_"), "not on a test database"
        provisioning.reset_cache()
        provisioning.blueprint_current()
        password_hash = make_password(ADMIN_PASSWORD)
        for slug, name in [(ALPHA, "Alpha District"), (BETA, "Beta District")]:
            tenant_create(
                slug=slug,
                name=name,
                status=Tenant.Status.ACTIVE,
                admin_username=f"admin-{slug}",
                admin_password_hash=password_hash,
            )
    yield
    with django_db_blocker.unblock():
        tenant_db().set_schema_to_public()
        teardown_databases(config, verbosity=0)


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    """Every test starts on the public schema, in English, with a cold host cache."""
    tenant_db().set_schema_to_public()
    tenant_cache_clear()
    translation.activate("en")
    yield
    tenant_db().set_schema_to_public()
    tenant_cache_clear()


@pytest.fixture(autouse=True)
def _api_answers_conform(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every API answer a test receives is one the API's document declares
    (``tests/conformance.py``); ``@pytest.mark.undocumented`` opts a test out."""
    if request.node.get_closest_marker("undocumented"):
        return
    from tests import conformance

    sent = Client.request

    def request_checked(self: Client, **environ: Any) -> Any:
        response = sent(self, **environ)
        conformance.check(response)
        return response

    monkeypatch.setattr(Client, "request", request_checked)


@pytest.fixture
def tenant(db: None) -> Tenant:
    return Tenant.objects.get(schema_name=ALPHA)


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return Tenant.objects.get(schema_name=BETA)


@pytest.fixture
def in_tenant(tenant: Tenant) -> Iterator[Tenant]:
    """Run the test body inside the ``alpha`` tenant's schema."""
    with tenant_context(tenant):
        yield tenant


def host_of(tenant: Tenant) -> str:
    return tenant.domains.get(is_primary=True).domain


@pytest.fixture
def tenant_client(tenant: Tenant) -> Client:
    return Client(HTTP_HOST=host_of(tenant))


@pytest.fixture
def other_client(other_tenant: Tenant) -> Client:
    return Client(HTTP_HOST=host_of(other_tenant))


@pytest.fixture
def platform_client(db: None) -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def make_key(tenant: Tenant) -> Callable[..., str]:
    """Issue an API key in a tenant (alpha by default); returns the token."""

    def make(*scopes: str, on: Tenant | None = None, **options: Any) -> str:
        with tenant_context(on or tenant):
            return key_create(name="test key", scopes=list(scopes), **options).token

    return make


def key_client(tenant: Tenant, token: str, **extra: Any) -> Client:
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


@pytest.fixture
def api(tenant: Tenant, make_key: Callable[..., str]) -> Client:
    """A client on alpha's host holding a key with every scope."""
    return key_client(tenant, make_key(*ALL_SCOPES))


@pytest.fixture
def other_api(other_tenant: Tenant, make_key: Callable[..., str]) -> Client:
    """A client on beta's host holding a key of beta's with every scope."""
    return key_client(other_tenant, make_key(*ALL_SCOPES, on=other_tenant))


@pytest.fixture
def notices(settings: Any) -> Iterator[list[Any]]:
    """Notices sent through the in-memory channel (they go out on commit: wrap the calls in
    ``django_capture_on_commit_callbacks(execute=True)``)."""
    from linli import notify

    settings.LINLI_NOTIFY_CHANNELS = ["linli.notify.MemoryChannel"]
    notify.channels.cache_clear()
    notify.MemoryChannel.sent.clear()
    try:
        yield notify.MemoryChannel.sent
    finally:
        notify.MemoryChannel.sent.clear()
        notify.channels.cache_clear()
