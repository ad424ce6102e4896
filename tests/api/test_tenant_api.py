from django.test import Client

from tests.conftest import host_of


def test_tenant_endpoint_describes_the_host_tenant(api):
    response = api.get("/api/v1/tenant")
    assert response.status_code == 200
    body = response.json()
    terminology = body.pop("terminology")
    assert body == {
        "slug": "alpha",
        "name": "Alpha District",
        "region": "",
        "locale": "zh-hans",
        "time_zone": "Asia/Shanghai",
        "currency": "CNY",
        "status": "active",
        "modules": ["community"],
    }
    assert terminology["en"]["estate"] == "estate"
    assert terminology["zh-hans"]["help_team"] == "邻里帮帮团"
    assert set(terminology) == {"zh-hans", "zh-hant", "en"}


def test_tenant_endpoint_needs_a_key(tenant_client):
    response = tenant_client.get("/api/v1/tenant")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


def test_each_host_sees_only_its_own_tenant(api, other_api):
    assert api.get("/api/v1/tenant").json()["name"] == "Alpha District"
    assert other_api.get("/api/v1/tenant").json()["name"] == "Beta District"


def test_docs_and_openapi_are_served_without_a_cdn(tenant_client):
    docs = tenant_client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn.jsdelivr" not in docs.content
    assert b"/static/ninja/" in docs.content
    schema = tenant_client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/tenant" in schema.json()["paths"]


def test_unknown_api_path_is_a_problem_404(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_platform_api_lives_on_the_platform_host(platform_client, tenant):
    assert platform_client.get("/api/v1/platform/").json() == {"name": "Linli", "api_version": "1"}
    assert Client(HTTP_HOST=host_of(tenant)).get("/api/v1/platform/").status_code == 404
