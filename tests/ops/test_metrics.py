"""/metrics: bearer token required, counts that move, queue depth and age, no tenant label."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from linli.jobs.tasks import group_ensure
from linli.ops import metrics
from linli.registry.services import module_set_enabled

TOKEN = "metrics-token-for-tests-0123"


@pytest.fixture
def scraper(settings, db) -> Client:
    settings.LINLI_METRICS_TOKEN = TOKEN
    return Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def scrape(client: Client) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_no_token_configured_means_no_endpoint(settings, platform_client):
    settings.LINLI_METRICS_TOKEN = ""
    response = platform_client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404
    assert b"linli_http" not in response.content


def test_missing_or_wrong_token_is_refused(settings, platform_client):
    settings.LINLI_METRICS_TOKEN = TOKEN
    for header in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN}):
        response = platform_client.get("/metrics", **header)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"linli_http" not in response.content


def test_metrics_answer_on_any_host_behind_the_token(settings, tenant_client):
    # Prometheus scrapes each pod by its address, whatever host the pod serves.
    settings.LINLI_METRICS_TOKEN = TOKEN
    response = tenant_client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"linli_http_requests_total" in response.content
    unknown = Client(HTTP_HOST="10.1.2.3:8000").get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert unknown.status_code == 200
    refused = tenant_client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert refused.status_code == 401 and b"linli_http" not in refused.content


def test_request_counts_and_latency_move(scraper, api, tenant_client):
    # given
    _, before = scrape(scraper)
    # when: two API calls answered 200 and one admin page that redirects (3xx)
    assert api.get("/api/v1/tenant").status_code == 200
    assert api.get("/api/v1/tenant").status_code == 200
    assert tenant_client.get("/admin/").status_code == 302
    # then
    _, after = scrape(scraper)
    requests = "linli_http_requests_total"
    assert value(after, requests, module="tenant", status="2xx") == (
        value(before, requests, module="tenant", status="2xx") + 2
    )
    assert value(after, requests, module="admin", status="3xx") == (
        value(before, requests, module="admin", status="3xx") + 1
    )
    histogram = "linli_http_request_duration_seconds_count"
    assert value(after, histogram, module="tenant", status="2xx") == (
        value(before, histogram, module="tenant", status="2xx") + 2
    )
    assert value(
        after, "linli_http_request_duration_seconds_sum", module="tenant", status="2xx"
    ) > (value(before, "linli_http_request_duration_seconds_sum", module="tenant", status="2xx"))


@pytest.mark.undocumented  # a deliberate 500, declared nowhere
def test_server_errors_are_counted(scraper, tenant, api, monkeypatch):
    module_set_enabled(slug="alpha", module="shop", enabled=True)

    def explode(shop_id: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("api.shop.routes._shop", explode)
    _, before = scrape(scraper)
    api.raise_request_exception = False
    assert api.get("/api/v1/shop/shops/1").status_code == 500
    _, after = scrape(scraper)
    assert value(after, "linli_http_errors_total", module="shop") == (
        value(before, "linli_http_errors_total", module="shop") + 1
    )
    assert value(after, "linli_http_requests_total", module="shop", status="5xx") == (
        value(before, "linli_http_requests_total", module="shop", status="5xx") + 1
    )


def test_no_tenant_label_or_name_anywhere(scraper, api, other_api):
    assert api.get("/api/v1/tenant").status_code == 200
    assert other_api.get("/api/v1/tenant").status_code == 200
    text, samples = scrape(scraper)
    assert "alpha" not in text
    assert "beta" not in text
    assert all("tenant" not in dict(labels) for _name, labels in samples)
    assert all("schema" not in dict(labels) for _name, labels in samples)


def test_job_queue_depth_and_oldest_age(scraper, tenant):
    # given: an empty default queue
    _, before = scrape(scraper)
    assert value(before, "linli_jobs_queued", queue="default") == 0
    assert value(before, "linli_jobs_oldest_age_seconds", queue="default") == 0
    # when: two jobs wait, the older deferred 90 seconds ago
    first = group_ensure.defer(tenant=tenant, name="one")
    group_ensure.defer(tenant=tenant, name="two")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_events SET at = now() - interval '90 seconds' "
            "WHERE job_id = %s AND type = 'deferred'",
            [first],
        )
    # then: one query at scrape time reads them
    with CaptureQueriesContext(connection) as queries:
        _, after = scrape(scraper)
    assert value(after, "linli_jobs_queued", queue="default") == 2
    assert value(after, "linli_jobs_running", queue="default") == 0
    assert 90 <= value(after, "linli_jobs_oldest_age_seconds", queue="default") < 120
    assert value(after, "linli_jobs_queued", queue="platform") == 0
    assert len([q for q in queries if "procrastinate_jobs" in q["sql"]]) == 1


def test_pool_gauges_only_with_a_pool(scraper, monkeypatch):
    # without Django's psycopg pool (the test settings), no pool gauge at all
    text, _ = scrape(scraper)
    assert "linli_db_pool" not in text

    # with one, its figures are read at scrape time
    class FakePool:
        def get_stats(self) -> dict[str, int]:
            return {"pool_size": 4, "pool_available": 1, "requests_waiting": 2, "pool_max": 10}

    monkeypatch.setattr(metrics, "_pool", FakePool)
    _, samples = scrape(scraper)
    assert value(samples, "linli_db_pool_connections") == 4
    assert value(samples, "linli_db_pool_idle") == 1
    assert value(samples, "linli_db_pool_waiting") == 2
    assert value(samples, "linli_db_pool_max") == 10


def test_status_class():
    assert [metrics.status_class(s) for s in (200, 302, 404, 503)] == ["2xx", "3xx", "4xx", "5xx"]
