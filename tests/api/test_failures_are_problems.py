"""No failure reaches a client as anything but a problem document: an unknown method, an
unexpected error (with DEBUG on and off), a reference the database refused; and the
document itself: one name per component, built once, served with an ETag."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context
from ninja import NinjaAPI, Router, Schema
from pydantic import create_model

from api import document
from api.errors import integrity_problem
from tests.api.test_problems import assert_problem
from tests.conftest import host_of


def test_an_unknown_method_is_a_405_problem_naming_the_methods_it_takes(api):
    response = api.delete("/api/v1/community/estates", HTTP_ACCEPT_LANGUAGE="en")

    body = assert_problem(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response["Allow"].split(",")}
    assert allowed == {"GET", "POST"}
    assert body["detail"] == f"This path does not take this method; it takes {response['Allow']}."


@pytest.mark.undocumented  # a 500 is declared nowhere: that is the point
@pytest.mark.parametrize("debug", [True, False])
def test_an_unexpected_error_is_a_500_problem_with_the_request_id(
    tenant, api, settings, monkeypatch, debug
):
    settings.DEBUG = debug

    def broken() -> dict[str, str]:
        raise RuntimeError("a bug, not the caller's doing")

    monkeypatch.setattr("api.tenancy.routes.terminology", broken)
    api.raise_request_exception = False

    response = api.get(
        "/api/v1/tenant", HTTP_X_REQUEST_ID="req-500-test", HTTP_ACCEPT_LANGUAGE="en"
    )

    body = assert_problem(response, 500, "server_error")
    assert response["X-Request-ID"] == "req-500-test"
    assert "req-500-test" in body["detail"]
    assert "Traceback" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()


def test_a_reference_the_database_refuses_is_a_422_naming_its_field(tenant):
    with (
        tenant_context(tenant),
        pytest.raises(IntegrityError) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO community_household (flat_number, unit_id, created_at, updated_at) "
            "VALUES ('x', 987654321, now(), now())"
        )

    answer = integrity_problem(refused.value)

    assert answer is not None
    assert answer.status_code == 422
    assert answer["Content-Type"] == "application/problem+json"
    assert b'"code": "reference_not_found"' in answer.content
    assert b'"pointer": "/body/unit_id"' in answer.content


def test_any_other_error_is_not_taken_for_a_refused_reference():
    assert integrity_problem(RuntimeError("no")) is None


# --- The document ----------------------------------------------------------------------


def test_nested_choices_are_named_after_their_owner(tenant):
    from api.v1 import api

    built = document.built(api, "/api/v1/").document
    names = set(built["components"]["schemas"])

    assert {"ResidentStatus", "TopicStatus", "BookingStatus", "OrderStatus"} <= names
    assert "Status" not in names
    residents = built["paths"]["/api/v1/community/residents"]["get"]["parameters"]
    [status] = [p for p in residents if p["name"] == "status"]
    assert status["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/ResidentStatus"}


def test_two_different_schemas_of_one_name_stop_the_build():
    # two modules' classes of one name (as a module's ResidentIn and another's)
    first = create_model("Thing", __base__=Schema, __module__="tests.one", a=(int, ...))
    second = create_model("Thing", __base__=Schema, __module__="tests.two", b=(str, ...))
    router = Router()

    @router.get("/one", response=first)
    def one(request):  # pragma: no cover - never called
        return {"a": 1}

    @router.get("/two", response=second)
    def two(request):  # pragma: no cover - never called
        return {"b": "x"}

    clashing = NinjaAPI(urls_namespace="clash-test")
    clashing.add_router("", router)

    with pytest.raises(document.ComponentClash, match="'Thing'"):
        document.build(clashing, "/")


def test_the_document_is_served_with_an_etag_and_answers_304_when_unchanged(tenant):
    client = Client(HTTP_HOST=host_of(tenant))

    first = client.get("/api/v1/openapi.json")
    again = client.get("/api/v1/openapi.json", HTTP_IF_NONE_MATCH=first["ETag"])
    stale = client.get("/api/v1/openapi.json", HTTP_IF_NONE_MATCH='"something-else"')

    assert first.status_code == 200
    assert first["Content-Type"] == "application/json; charset=utf-8"
    assert first.json()["info"]["title"] == "Linli API"
    assert first["ETag"].startswith('"') and len(first["ETag"]) == 34
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", first["ETag"])
    assert (stale.status_code, stale.content) == (200, first.content)


def test_the_served_document_is_the_checked_in_one(tenant):
    import json

    from api import contract

    served = Client(HTTP_HOST=host_of(tenant)).get("/api/v1/openapi.json").json()
    rendered = json.loads(contract.render("api"))

    assert served == rendered


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ("/api/v1/events?type=order.ready&type=a%00b", "/query/type"),
        ("/api/v1/shop/parcels/recipients?q=%00", "/query/q"),
        ("/api/v1/tenant/keys/ab%00cd", "/path"),
    ],
)
def test_a_nul_in_the_url_is_a_422_before_anything_reaches_the_database(api, path, pointer):
    from api.access.models import ApiKey

    with tenant_context_of(api):
        keys = ApiKey.objects.count()
    # the same client goes on working: nothing was left half done in the database
    for _attempt in range(2):
        response = api.generic("GET" if "keys" not in path else "DELETE", path)
        body = assert_problem(response, 422, "validation_failed")
        assert body["errors"] == [
            {"pointer": pointer, "message": "Text may not hold NUL characters."}
        ]
    assert api.get("/api/v1/community/estates").status_code == 200
    with tenant_context_of(api):
        assert ApiKey.objects.count() == keys


def test_a_nul_in_any_text_of_a_body_is_refused_on_its_field(api):
    response = api.post(
        "/api/v1/webhooks",
        {"url": "https://hooks.example.com/linli", "event_types": ["order.ready", "x\u0000"]},
        content_type="application/json",
    )
    body = assert_problem(response, 422, "validation_failed")
    assert [e["pointer"] for e in body["errors"]] == ["/body/event_types"]
    assert api.get("/api/v1/community/estates").status_code == 200


def tenant_context_of(client: Client):
    from linli.registry.models import Tenant

    return tenant_context(Tenant.objects.get(schema_name="alpha"))
