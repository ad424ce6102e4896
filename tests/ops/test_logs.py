"""Structured logs: every line of a request carries its id, tenant, module and actor; one
access line per request with its duration; the id is the one the response returns."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest

from linli.ops.logs import JsonFormatter, TextFormatter, bound, module_for_path, module_for_task


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict]]]:
    """Reads back, parsed, the JSON lines the production formatter wrote meanwhile."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_a_request_logs_one_access_line_with_its_id_tenant_module_and_key(
    json_lines, api, tenant, monkeypatch
):
    # given: code inside the request that logs
    from api.tenancy import routes

    original = routes.terminology

    def logging_terminology():
        logging.getLogger("tenants.community").info("reading the words")
        return original()

    monkeypatch.setattr(routes, "terminology", logging_terminology)
    # when
    response = api.get("/api/v1/tenant", HTTP_X_REQUEST_ID="req-7.abc_def")
    # then: the id is echoed, and every line of the request carries it
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-7.abc_def"
    lines = json_lines()
    inner = [line for line in lines if line["message"] == "reading the words"]
    access = [line for line in lines if line["logger"] == "linli.access"]
    assert len(inner) == 1
    assert len(access) == 1
    key_id = access[0]["key_id"]
    assert isinstance(key_id, int)
    assert inner[0]["request_id"] == "req-7.abc_def"
    assert inner[0]["tenant"] == "alpha"
    assert inner[0]["module"] == "tenant"
    assert inner[0]["key_id"] == key_id
    assert inner[0]["level"] == "INFO"
    line = access[0]
    assert line["message"] == "GET /api/v1/tenant 200"
    assert line["request_id"] == "req-7.abc_def"
    assert line["tenant"] == "alpha"
    assert line["module"] == "tenant"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/tenant"
    assert line["status"] == 200
    assert line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


@pytest.mark.parametrize(
    "given", ["", "x" * 65, "has space", "semi;colon", "新的"], ids=["none", "65", "sp", ";", "zh"]
)
def test_an_insane_incoming_id_is_replaced(json_lines, tenant_client, given):
    response = tenant_client.get("/admin/login/", HTTP_X_REQUEST_ID=given)
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert request_id != given
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [access] = [line for line in json_lines() if line["logger"] == "linli.access"]
    assert access["request_id"] == request_id
    assert access["module"] == "admin"
    assert access["tenant"] == "alpha"


def test_the_api_audit_actor_gets_the_same_request_id(api, tenant, monkeypatch):
    from api.tenancy import routes
    from tenants.audit.context import current_actor

    seen = []
    original = routes.terminology

    def spy():
        seen.append(current_actor())
        return original()

    monkeypatch.setattr(routes, "terminology", spy)
    response = api.get("/api/v1/tenant")
    assert response.status_code == 200
    assert seen[0].request_id == response["X-Request-ID"]


def test_a_platform_request_has_no_tenant(json_lines, platform_client):
    response = platform_client.get("/signup")
    assert response.status_code == 200
    [access] = [line for line in json_lines() if line["logger"] == "linli.access"]
    assert access["tenant"] is None
    assert access["module"] == "site"
    assert access["request_id"] == response["X-Request-ID"]


def test_a_line_outside_any_request_has_empty_context():
    record = logging.LogRecord("linli.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you"
    assert line["level"] == "WARNING"
    assert line["logger"] == "linli.x"
    assert (line["request_id"], line["tenant"], line["module"], line["user_id"]) == (
        None,
        None,
        None,
        None,
    )
    assert "duration_ms" not in line


def test_text_format_for_development():
    record = logging.LogRecord("linli.x", logging.INFO, __file__, 1, "hello", (), None)
    with bound(request_id="r1", tenant="alpha"):
        assert TextFormatter().format(record) == "INFO linli.x: hello [r1 alpha]"
    assert TextFormatter().format(record) == "INFO linli.x: hello"


def test_module_names_are_bounded(db):
    assert module_for_path("/api/v1/shop/orders/3") == "shop"
    assert module_for_path("/admin/helpteam/helprequest/") == "helpteam"
    assert module_for_path("/api/v1/nonsense-123/x") == "api"
    assert module_for_path("/admin/zzz/") == "admin"
    assert module_for_path("/r/shop/abc") == "site"
    assert module_for_task("tenants.shop.tasks.parcel_remind") == "shop"
    assert module_for_task("linli.billing.tasks.sync") == "billing"
    assert module_for_task("x") == "jobs"
