"""Every API response the suite produces is checked against the API's document.

``tests/conftest.py`` wraps the test client: each answer to a request under ``/api/v1/``
must be one its operation declares (the status, the content type, and a body valid
against the declared schema), or the test that made the request fails right there.
Unknown paths and methods must answer a problem document. The document checked is the
one the code builds (``api.document``), which ``tests/api/test_contract.py`` holds equal
to the checked-in ``api/openapi*.json``.

A test that means to produce an undeclared answer (a deliberate 500, say) says so with
``@pytest.mark.undocumented``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PROBLEM = "application/problem+json"
SKIPPED: tuple[str, ...] = (
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/platform/openapi.json",
    "/api/v1/platform/docs",
)


class Nonconforming(AssertionError):
    """An API answer its document does not describe."""


@dataclass
class Document:
    document: dict[str, Any]
    routes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    validators: dict[tuple[str, str, str, str], Draft202012Validator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.document = json.loads(json.dumps(self.document))  # as served: string keys
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource("urn:linli:api", resource)
        for template in self.document["paths"]:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            self.routes.append((re.compile(f"^{pattern}$"), template))
        # literal segments before parameters: /shop/products/export before /{id}
        self.routes.sort(key=lambda route: route[1].count("{"))

    def template(self, path: str) -> str | None:
        for pattern, template in self.routes:
            if pattern.match(path):
                return template
        return None

    def validator(self, template: str, method: str, status: str, media: str) -> Any:
        key = (template, method, status, media)
        if key not in self.validators:
            operation = self.document["paths"][template][method]
            schema = operation["responses"][status]["content"][media].get("schema", {})
            rewritten = json.loads(
                json.dumps(schema).replace('"#/components/', '"urn:linli:api#/components/')
            )
            self.validators[key] = Draft202012Validator(rewritten, registry=self.registry)
        return self.validators[key]


@cache
def _documents() -> dict[str, Document]:
    from api import document, v1

    return {
        "tenant": Document(document.document(v1.api, "/api/v1/")),
        "platform": Document(document.document(v1.platform_api, "/api/v1/platform/")),
    }


def _media(response: Any) -> str:
    return str(response.get("Content-Type", "")).split(";")[0].strip()


def check(response: Any) -> None:
    """Raise ``Nonconforming`` unless the document describes this answer (the platform's
    document on the platform's host, the tenant API's on any other)."""
    from django.conf import settings

    request = response.wsgi_request
    method, path = request.method, request.path_info
    if not path.startswith("/api/v1/") or path.startswith(SKIPPED):
        return
    status = response.status_code
    host = request.META.get("HTTP_HOST", "").split(":")[0].lower()
    which = "platform" if host == settings.LINLI_BASE_DOMAIN else "tenant"
    doc = _documents()[which]
    template = doc.template(path)
    method = method.lower()
    where = f"{method.upper()} {path} → {status}"
    if template is None or method not in doc.document["paths"][template]:
        if method == "head" and template is not None:
            return
        if status in (404, 405) and _media(response) == PROBLEM:
            return
        raise Nonconforming(f"{where}: no such operation in the document, yet not a 404/405")
    operation = doc.document["paths"][template][method]
    responses = operation["responses"]
    declared = str(status) if str(status) in responses else "default"
    if declared not in responses:
        raise Nonconforming(
            f"{where}: status not declared for {method.upper()} {template} "
            f"(declared: {', '.join(sorted(responses))}); body: {response.content[:300]!r}"
        )
    content = responses[declared].get("content")
    if not content:
        if response.content and status != 304:
            raise Nonconforming(f"{where}: a body where the document declares none")
        return
    media = _media(response)
    if media not in content:
        raise Nonconforming(
            f"{where}: content type {media!r}, document declares {', '.join(content)}"
        )
    if not media.endswith("json"):
        return
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise Nonconforming(f"{where}: the body is not JSON") from exc
    errors = sorted(
        doc.validator(template, method, declared, media).iter_errors(body),
        key=lambda error: list(error.absolute_path),
    )
    if errors:
        first = errors[0]
        at = "/" + "/".join(str(part) for part in first.absolute_path)
        raise Nonconforming(
            f"{where}: the body does not match the document at {at}: {first.message} "
            f"({len(errors)} error(s))"
        )
