"""The OpenAPI document: one name per component, built once per process, served with an ETag.

django-ninja builds each operation's schemas separately and merges their definitions by
name, so two classes of one name (``Resident.Status`` and ``Booking.Status``, say) would
silently become one component and the document would describe one of them wrongly.
Here a class nested in another is named after both (``ResidentStatus``), and a name that
would still stand for two different schemas stops the build (``ComponentClash``): rename
one of the classes.

The document is the same for every tenant, so it is built once per process and path
prefix, and served as bytes with an ``ETag`` (``If-None-Match`` answers 304).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from ninja.openapi import schema as ninja_schema
from ninja.openapi.schema import OpenAPISchema
from ninja.schema import NinjaGenerateJsonSchema
from pydantic.json_schema import CoreModeRef, CoreRef, DefsRef

from api.errors import PROBLEM_CONTENT_TYPE

if TYPE_CHECKING:
    from ninja import NinjaAPI


# "tenants.community.models.Resident.Status" → "tenants.community.models.ResidentStatus":
# module segments are lower case, class names start with a capital.
_NESTED = re.compile(r"([A-Z][A-Za-z0-9_]*)\.(?=[A-Z])")


class ComponentClash(Exception):
    """Two different schemas would share one component name in the document."""


class LinliJsonSchema(NinjaGenerateJsonSchema):
    """Names a nested class after its owner too (``ResidentStatus``, ``TopicStatus``)."""

    def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
        core_ref, mode = core_mode_ref
        return super().get_defs_ref((CoreRef(_NESTED.sub(r"\1", core_ref)), mode))


# django-ninja builds every schema with the generator of its own module; Linli's names
# nested classes apart. Set once, when this module is imported (by ``api.v1``).
ninja_schema.NinjaGenerateJsonSchema = LinliJsonSchema  # type: ignore[misc]


class LinliOpenAPISchema(OpenAPISchema):
    """Refuses to merge two different schemas under one component name."""

    def add_schema_definitions(self, definitions: dict[str, Any]) -> None:
        for name, definition in definitions.items():
            held = self.schemas.get(name)
            if held is not None and held != definition:
                raise ComponentClash(
                    f"Two different schemas are both named {name!r} in the API document: "
                    "rename one of their classes."
                )
        super().add_schema_definitions(definitions)


def build(api: NinjaAPI, path_prefix: str) -> dict[str, Any]:
    """The document, errors described as ``application/problem+json``."""
    document: dict[str, Any] = LinliOpenAPISchema(api, path_prefix)
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if int(status) >= 400 and "application/json" in content:
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return dict(document)


class Built:
    """A document built once: the object, its bytes and their ETag."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


_built: dict[tuple[int, str], Built] = {}
_lock = threading.Lock()


def built(api: NinjaAPI, path_prefix: str) -> Built:
    key = (id(api), path_prefix)
    found = _built.get(key)
    if found is None:
        with _lock:
            found = _built.get(key)
            if found is None:
                found = _built[key] = Built(build(api, path_prefix))
    return found


def document(api: NinjaAPI, path_prefix: str) -> dict[str, Any]:
    """A copy of the built document (callers may change it)."""
    return copy.deepcopy(built(api, path_prefix).document)


def serve(request: HttpRequest, api: NinjaAPI, path_prefix: str) -> HttpResponse:
    """``GET openapi.json``: the built bytes; 304 when the client holds them already."""
    found = built(api, path_prefix)
    tags = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if found.etag in tags or "*" in tags:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(found.body, content_type="application/json; charset=utf-8")
    response["ETag"] = found.etag
    response["Cache-Control"] = "public, max-age=300"
    return response
