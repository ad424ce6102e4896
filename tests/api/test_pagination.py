"""Cursor pagination: every row once, bounded limits, constant queries whatever the page size."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.factories import HouseholdFactory, ResidentFactory


@pytest.fixture
def residents(tenant):
    with tenant_context(tenant):
        home = HouseholdFactory()
        return [ResidentFactory(household=home) for _ in range(120)]


def test_pages_cover_every_row_once_in_a_stable_order(api, residents):
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/community/residents?limit=50" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(path).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(r.pk for r in residents)


def test_default_limit_is_50(api, residents):
    assert len(api.get("/api/v1/community/residents").json()["items"]) == 50


@pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
def test_limits_out_of_bounds_are_422(api, limit):
    response = api.get(f"/api/v1/community/residents?limit={limit}")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


@pytest.mark.parametrize("cursor", ["garbage", "eyJhZnRlciI6ICJ4In0", "e30"])
def test_a_tampered_cursor_is_422(api, cursor):
    response = api.get(f"/api/v1/community/residents?cursor={cursor}")
    assert response.status_code == 422
    assert response.json()["code"] == "cursor_invalid"


def test_a_cursor_holding_a_nul_is_refused_like_any_text_with_one(api):
    response = api.get("/api/v1/community/residents?cursor=%00")
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["errors"][0]["pointer"]) == ("validation_failed", "/query/cursor")


@pytest.mark.parametrize("path", ["residents", "estates", "buildings", "units", "households"])
def test_queries_do_not_grow_with_the_page_size(api, residents, path, django_assert_num_queries):
    url = f"/api/v1/community/{path}"
    api.get(url)  # warm the host cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert api.get(url + "?limit=2").status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert api.get(url + "?limit=200").status_code == 200
    assert len(small.captured_queries) == len(large.captured_queries) <= 5
