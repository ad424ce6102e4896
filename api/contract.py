"""The checked-in OpenAPI documents: ``openapi.json`` (tenant API) and ``openapi-platform.json``,
and the table of error codes (``errors.md``, ``api.error_codes``).

``linli api-schema`` writes them; ``linli api-schema --check`` (and a test)
fails when the code and the files disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

API_DIR = Path(__file__).resolve().parent
DOCUMENTS = {"openapi.json": "api", "openapi-platform.json": "platform_api"}


def render(which: str) -> str:
    from api import v1

    ninja_api = getattr(v1, which)
    prefix = "/api/v1/" if which == "api" else "/api/v1/platform/"
    document: dict[str, Any] = ninja_api.get_openapi_schema(path_prefix=prefix)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write() -> list[Path]:
    from api import error_codes

    paths = []
    for filename, which in DOCUMENTS.items():
        path = API_DIR / filename
        path.write_text(render(which), encoding="utf-8")
        paths.append(path)
    error_codes.TABLE.write_text(error_codes.render(), encoding="utf-8")
    return [*paths, error_codes.TABLE]


def stale() -> list[str]:
    """Names of the documents that differ from the code."""
    from api import error_codes

    stale = [
        filename
        for filename, which in DOCUMENTS.items()
        if not (API_DIR / filename).exists()
        or (API_DIR / filename).read_text(encoding="utf-8") != render(which)
    ]
    table = error_codes.TABLE
    if not table.exists() or table.read_text(encoding="utf-8") != error_codes.render():
        stale.append(table.name)
    return stale
