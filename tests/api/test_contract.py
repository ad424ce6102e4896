"""The checked-in OpenAPI documents match the code, and every operation is fully described."""

from __future__ import annotations

import json

import pytest

from api import contract


def test_checked_in_documents_match_the_code():
    assert contract.stale() == [], "run `linli api-schema` and commit api/openapi*.json"


def operations():
    document = json.loads((contract.API_DIR / "openapi.json").read_text(encoding="utf-8"))
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", method, operation


@pytest.mark.parametrize(("name", "method", "operation"), list(operations()))
def test_every_operation_is_described(name, method, operation):
    assert operation["operationId"], name
    assert operation["summary"], name
    assert operation["tags"], name
    declared = set(operation["responses"])
    assert {"401", "403", "404", "422", "429"} <= declared, name
    if method in {"post", "patch", "put", "delete"}:
        assert {"400", "409"} <= declared, name


def test_operation_ids_are_unique():
    ids = [operation["operationId"] for _name, _method, operation in operations()]
    assert len(ids) == len(set(ids))


def test_the_error_table_names_every_code_with_its_status():
    from api import error_codes

    table = {entry.code: entry for entry in error_codes.collect()}

    assert table["method_not_allowed"].statuses == {405}
    assert table["idempotency_key_reused"].statuses == {422}
    assert table["scope_missing"].statuses == {403}
    # a path id is 404 when unknown, a body's reference 422: both are the same code
    assert table["resident_not_found"].statuses == {404, 422}
    assert "| `reference_not_found` | 422 | api |" in error_codes.render()
