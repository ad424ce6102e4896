"""Every error is an RFC 9457 problem with a stable code, translated by Accept-Language."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import host_of, key_client
from tests.factories import ResidentFactory

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert (body["status"], body["code"], body["type"]) == (
        status,
        code,
        f"urn:linli:problem:{code}",
    )
    return body


def test_400_unparseable_body(api):
    response = api.post(
        "/api/v1/community/residents",
        "{not json",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = assert_problem(response, 400, "body_malformed")
    assert body["title"] == "Bad request"


def test_401(tenant):
    assert_problem(
        Client(HTTP_HOST=host_of(tenant)).get("/api/v1/community/residents"),
        401,
        "not_authenticated",
    )


def test_403(tenant, make_key):
    client = key_client(tenant, make_key("shop:read"))
    assert_problem(client.get("/api/v1/community/residents"), 403, "scope_missing")


def test_404(api):
    assert_problem(api.get("/api/v1/community/residents/987654"), 404, "resident_not_found")


def test_409_with_the_field(tenant, api):
    with tenant_context(tenant):
        ResidentFactory(phone="+8613812345678")
    response = api.post(
        "/api/v1/community/residents",
        {"display_name": "王芳", "phone": "138 1234 5678"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = assert_problem(response, 409, "phone_taken")
    assert body["errors"] == [
        {"pointer": "/body/phone", "message": "Another resident already has this phone number."}
    ]


def test_422_lists_every_field_error(api):
    response = api.post(
        "/api/v1/community/residents",
        {"display_name": "", "household_id": 0, "contact_consent": "perhaps"},
        content_type="application/json",
    )
    body = assert_problem(response, 422, "validation_failed")
    pointers = sorted(error["pointer"] for error in body["errors"])
    assert pointers == ["/body/contact_consent", "/body/display_name", "/body/household_id"]


def test_422_domain_validation(api):
    response = api.post(
        "/api/v1/community/residents",
        {"display_name": "王芳", "phone": "12345"},
        content_type="application/json",
    )
    body = assert_problem(response, 422, "phone_invalid")
    assert body["errors"][0]["pointer"] == "/body/phone"


def test_429_has_retry_after(tenant, make_key, monkeypatch):
    from django.utils import timezone

    fixed = timezone.now().replace(second=30, microsecond=0)  # both requests in one minute
    monkeypatch.setattr("api.access.services.timezone.now", lambda: fixed)
    client = key_client(tenant, make_key("community:read", rate_limit=1))
    assert client.get("/api/v1/community/estates").status_code == 200
    response = client.get("/api/v1/community/estates")
    assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "30"


@pytest.mark.parametrize(
    ("language", "title"),
    [("zh-Hans", "未认证"), ("zh-Hant", "未認證"), ("en", "Not authenticated")],
)
def test_titles_follow_accept_language(tenant, language, title):
    response = Client(HTTP_HOST=host_of(tenant)).get(
        "/api/v1/tenant", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.json()["title"] == title


def test_field_errors_speak_the_callers_language(api):
    body = {"display_name": "x" * 200, "household_id": "one", "contact_consent": "perhaps"}

    chinese = api.post(
        "/api/v1/community/residents",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).json()
    english = api.post(
        "/api/v1/community/residents",
        body,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()

    said = {error["pointer"]: error["message"] for error in english["errors"]}
    assert said == {
        "/body/display_name": "Send at most 64 characters.",
        "/body/household_id": "Send a whole number here.",
        "/body/contact_consent": "Send true or false here.",
    }
    told = {error["pointer"]: error["message"] for error in chinese["errors"]}
    assert told == {
        "/body/display_name": "最多 64 个字符。",
        "/body/household_id": "此处应为整数。",
        "/body/contact_consent": "此处应为 true 或 false。",
    }
