"""Property-based API testing: schemathesis drives every operation of the checked-in document.

Hundreds of generated requests (valid and invalid) go through the real WSGI
stack on a test tenant; no answer may be a 5xx or break the documented schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.access.services import key_create
from api.contract import API_DIR
from api.scopes import ALL_SCOPES
from tests.factories import ResidentFactory

schema = schemathesis.openapi.from_path(API_DIR / "openapi.json")
schema.app = WSGIHandler()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def token(tenant) -> Iterator[str]:
    from linli.registry.services import module_set_enabled

    module_set_enabled(slug="alpha", module="points", enabled=True)
    module_set_enabled(slug="alpha", module="helpteam", enabled=True)
    module_set_enabled(slug="alpha", module="deliberation", enabled=True)
    with tenant_context(tenant):
        ResidentFactory.create_batch(3)
        issued = key_create(name="schemathesis", scopes=list(ALL_SCOPES), rate_limit=1_000_000)
    # As Django's test client does: keep the test's connection (and transaction) open
    # when a request finishes.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield issued.token
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("LINLI_FUZZ_EXAMPLES", "30")),
    deadline=None,
    # The same examples every run, so CI is reproducible; `make fuzz` explores at random.
    derandomize=not os.environ.get("LINLI_FUZZ"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors_and_responses_match_the_document(case, token):
    case.call_and_validate(
        base_url="http://alpha.localhost",
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
    )
