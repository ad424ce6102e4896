"""Requests reach their tenant by host, and only their tenant."""

from __future__ import annotations

from django.test import Client

from linli.registry.models import Tenant
from linli.registry.services import tenant_resume, tenant_suspend


def test_tenant_admin_login_page_answers_on_its_host(tenant_client):
    response = tenant_client.get("/admin/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_tenant_admin_login_works_with_that_tenants_own_users_only(tenant_client, other_client):
    from tests.conftest import ADMIN_PASSWORD

    # alpha's admin can log in on alpha's host ...
    response = tenant_client.post(
        "/admin/login/?next=/admin/", {"username": "admin-alpha", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert tenant_client.get("/admin/").status_code == 200
    # ... but not on beta's host, where that user does not exist
    response = other_client.post(
        "/admin/login/?next=/admin/", {"username": "admin-alpha", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    assert other_client.get("/admin/").status_code == 302


def test_session_from_one_tenant_is_worthless_on_another(tenant_client, other_tenant):
    from tests.conftest import ADMIN_PASSWORD, host_of

    tenant_client.post("/admin/login/", {"username": "admin-alpha", "password": ADMIN_PASSWORD})
    stolen = tenant_client.cookies["sessionid"].value
    intruder = Client(HTTP_HOST=host_of(other_tenant))
    intruder.cookies["sessionid"] = stolen
    response = intruder.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_unknown_host_is_a_404_page_not_the_platform_and_not_a_500(db):
    response = Client(HTTP_HOST="nowhere.localhost").get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert b"No neighbourhood here" in response.content
    assert b"tenant_not_found" in response.content
    assert b"Platform administration" not in response.content


def test_unknown_host_api_answers_problem_json(db):
    response = Client(HTTP_HOST="nowhere.localhost").get("/api/v1/tenant")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "tenant_not_found"


def test_suspended_tenant_gets_a_clear_403_and_resumes(tenant, tenant_client):
    tenant_suspend(slug=tenant.slug)
    response = tenant_client.get("/r/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert b"This site is paused" in response.content
    assert b"Alpha District is not available" in response.content
    api = tenant_client.get("/api/v1/tenant")
    assert api.status_code == 403
    assert api.json()["code"] == "tenant_suspended"

    # The admin stays readable (see test_lifecycle), but refuses writes with the same page.
    assert tenant_client.get("/admin/login/").status_code == 200
    refused = tenant_client.post("/admin/password_change/", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403
    assert b"can be read but not changed" in refused.content

    tenant_resume(slug=tenant.slug)
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    assert tenant_client.get("/r/sign-in").status_code == 200


def test_closed_tenant_is_refused_too(tenant, tenant_client):
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.CLOSED)
    response = tenant_client.get("/api/v1/tenant")
    assert response.status_code == 403
    assert response.json()["code"] == "tenant_closed"


def test_platform_host_serves_the_platform_site(platform_client):
    response = platform_client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"Platform administration" in response.content
    assert platform_client.get("/admin/login/").status_code == 200


def test_tenant_registry_is_not_in_a_tenants_admin(tenant_client):
    from tests.conftest import ADMIN_PASSWORD

    tenant_client.post("/admin/login/", {"username": "admin-alpha", "password": ADMIN_PASSWORD})
    assert tenant_client.get("/admin/registry/tenant/").status_code == 404
    assert b"registry" not in tenant_client.get("/admin/").content


def test_tenant_api_paths_do_not_exist_on_the_platform_host(platform_client):
    response = platform_client.get("/api/v1/tenant")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_host_is_the_tenant_404_and_a_malformed_host_a_400_never_a_500(db):
    # Custom domains mean hosts are checked against the registry, not ALLOWED_HOSTS.
    response = Client(HTTP_HOST="evil.example.com").get("/")
    assert response.status_code == 404
    assert b"tenant_not_found" in response.content
    assert Client(HTTP_HOST="evil host!").get("/").status_code == 400


def test_no_extra_queries_per_request_once_warm(tenant_client, django_assert_num_queries):
    tenant_client.get("/admin/login/")  # warm: host lookup cached, search path set
    with django_assert_num_queries(0):
        response = tenant_client.get("/admin/login/")
    assert response.status_code == 200


def test_switching_hosts_switches_schema_every_time(api, other_api):
    for _ in range(3):
        assert api.get("/api/v1/tenant").json()["slug"] == "alpha"
        assert other_api.get("/api/v1/tenant").json()["slug"] == "beta"


def test_a_tenant_provisioned_mid_test_is_served_at_once(db):
    from django_tenants.utils import tenant_context

    from tests.factories import TenantFactory, UserFactory

    # given
    tenant = TenantFactory(slug="late_comer", name="Late Comer")
    with tenant_context(tenant):
        UserFactory(username="leader-late")
    client = Client(HTTP_HOST="late-comer.localhost")
    # when
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "leader-late", "password": "leader-password"}
    )
    # then
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
