def test_tenant_endpoint_describes_the_host_tenant(tenant_client):
    response = tenant_client.get("/api/v1/tenant")
    assert response.status_code == 200
    assert response.json() == {
        "slug": "alpha",
        "name": "Alpha District",
        "region": "",
        "locale": "zh-hans",
        "time_zone": "Asia/Shanghai",
        "currency": "CNY",
        "status": "active",
    }


def test_each_host_sees_only_its_own_tenant(tenant_client, other_client):
    assert tenant_client.get("/api/v1/tenant").json()["name"] == "Alpha District"
    assert other_client.get("/api/v1/tenant").json()["name"] == "Beta District"


def test_docs_and_openapi_are_served_without_a_cdn(tenant_client):
    docs = tenant_client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"cdn.jsdelivr" not in docs.content
    assert b"/static/ninja/" in docs.content
    schema = tenant_client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/tenant" in schema.json()["paths"]


def test_unknown_api_path_is_404(tenant_client):
    assert tenant_client.get("/api/v1/nothing-here").status_code == 404
