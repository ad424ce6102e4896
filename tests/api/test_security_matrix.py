"""Every operation of the checked-in document, tried as an attacker would.

The victim is a demo city (every module on, one of everything); the attacker holds a
key of another tenant with every scope. For each operation the attacker tries the
victim's ids with its own key, its key on the victim's host, a forged key that carries
the victim's real key prefix, and acting for one of the victim's residents. Nothing may
answer 5xx, and no answer may carry the victim's data (its residents' phone numbers and
names, its shops, products and topics), whatever its status.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Max
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from api import contract
from api.access.services import key_create
from api.scopes import ALL_SCOPES
from linli.registry.demo import demo_build
from linli.registry.models import Tenant
from tests.conftest import host_of

DOCUMENT = json.loads((contract.API_DIR / "openapi.json").read_text(encoding="utf-8"))
WRITES = {"post", "put", "patch", "delete"}


def _models() -> dict[str, Any]:
    from tenants.community.models import Estate, Resident
    from tenants.deliberation.models import AgendaItem, Meeting, Topic
    from tenants.events.models import Delivery, WebhookEndpoint
    from tenants.helpteam.models import Activity, HelpRequest
    from tenants.notices.models import Announcement, Message
    from tenants.points.models import Account, Transaction
    from tenants.shop.models import (
        Booking,
        Order,
        Parcel,
        PartnerService,
        PreorderBatch,
        Product,
        Shop,
    )

    return {
        "resident_id": Resident,
        "estate_id": Estate,
        "topic_id": Topic,
        "meeting_id": Meeting,
        "item_id": AgendaItem,
        "request_id": HelpRequest,
        "activity_id": Activity,
        "shop_id": Shop,
        "product_id": Product,
        "batch_id": PreorderBatch,
        "order_id": Order,
        "parcel_id": Parcel,
        "service_id": PartnerService,
        "booking_id": Booking,
        "endpoint_id": WebhookEndpoint,
        "delivery_id": Delivery,
        "announcement_id": Announcement,
        "message_id": Message,
        "account_id": Account,
        "transaction_id": Transaction,
    }


def _ref(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(schema: dict[str, Any], ids: dict[str, int], name: str = "") -> Any:
    """A value the schema accepts, with every id naming one of the victim's objects."""
    schema = _ref(schema)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _ref(s).get("type") != "null"]
        return sample(options[0], ids, name) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", []))
        return {
            key: sample(value, ids, key)
            for key, value in schema.get("properties", {}).items()
            if key in required or key.endswith("_id")
        }
    if kind == "array":
        item = sample(schema.get("items", {}), ids, name.rstrip("s"))
        return [item] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        if name.endswith("_id") or name.endswith("_ids"):
            return ids.get(name if name.endswith("_id") else name[:-1], ids["resident_id"])
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return (timezone.now() + timedelta(days=2)).isoformat()
        if fmt == "date":
            return (timezone.localdate() + timedelta(days=2)).isoformat()
        if fmt == "time":
            return "10:00"
        pattern = schema.get("pattern", "")
        found = re.match(r"^\^\(([a-z_]+)[|)]", pattern)
        if found:
            return found.group(1)
        return "x" * max(1, schema.get("minLength", 1))
    return None


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in DOCUMENT["paths"].items()
        for method, operation in methods.items()
    ]


def request_for(method: str, path: str, operation: dict[str, Any], ids: dict[str, int]):
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return {"kind": "svg", "token": "ABCDEFGH"}.get(name, str(ids.get(name, 1)))

    url = re.sub(r"{(\w+)}", fill, path)
    body = None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = json.dumps(sample(content["application/json"]["schema"], ids))
    return url, body


def send(client: Client, method: str, url: str, body: str | None, n: int, **headers: str):
    kwargs: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": f"matrix-{n}"} if method == "post" else {}
    if body is not None:
        return getattr(client, method)(
            url, body, content_type="application/json", **kwargs, **headers
        )
    return getattr(client, method)(url, **kwargs, **headers)


@pytest.fixture
def victim(db: None, other_tenant: Tenant) -> dict[str, Any]:
    city, _counts = demo_build(scale="small", slug="cenxi")
    models = _models()
    with tenant_context(city):
        from tenants.community.models import Resident
        from tenants.deliberation.models import Topic
        from tenants.shop.models import Product, Shop

        ids = {}
        for name, model in models.items():
            latest = model.objects.order_by("-pk").values_list("pk", flat=True).first()
            ids[name] = latest or 1
        markers = set(Resident.objects.exclude(phone="").values_list("phone", flat=True)[:300])
        markers |= {
            n for n in Resident.objects.values_list("display_name", flat=True)[:300] if len(n) >= 3
        }
        markers |= set(Shop.objects.values_list("name", flat=True))
        markers |= set(Product.objects.values_list("name", flat=True))
        markers |= set(Topic.objects.values_list("title", flat=True)[:200])
        token = key_create(name="victim", scopes=list(ALL_SCOPES), rate_limit=100_000).token
    with tenant_context(other_tenant):
        attacker = key_create(name="attacker", scopes=list(ALL_SCOPES), rate_limit=100_000).token
        # ids the attacker's own tenant also has cannot show a cross-tenant lookup
        absent = {
            name
            for name, model in models.items()
            if ids[name] > (model.objects.aggregate(top=Max("pk"))["top"] or 0)
        }
    assert "resident_id" in absent, "the victim's resident must not exist in the attacker's tenant"
    return {
        "tenant": city,
        "ids": ids,
        "markers": {m for m in markers if m},
        "token": token,
        "attacker": attacker,
        "absent": absent,
    }


def _leaks(response, markers: set[str]) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    return sorted(m for m in markers if m in text)[:3]


def test_no_operation_leaks_across_tenants_or_fails_on_an_attack(victim, other_tenant):
    ids, markers = victim["ids"], victim["markers"]
    assert len(markers) > 50
    prefix = victim["token"].split("_")[1]
    attacker_home = Client(
        HTTP_HOST=host_of(other_tenant), HTTP_AUTHORIZATION=f"Bearer {victim['attacker']}"
    )
    attacker_there = Client(
        HTTP_HOST=host_of(victim["tenant"]), HTTP_AUTHORIZATION=f"Bearer {victim['attacker']}"
    )
    forged = Client(
        HTTP_HOST=host_of(victim["tenant"]), HTTP_AUTHORIZATION=f"Bearer lk_{prefix}_FORGED"
    )
    owner = Client(
        HTTP_HOST=host_of(victim["tenant"]), HTTP_AUTHORIZATION=f"Bearer {victim['token']}"
    )
    failures: list[str] = []
    tried = 0
    for method, path, operation in operations():
        url, body = request_for(method, path, operation, ids)
        authenticated = bool(operation.get("security"))
        attempts = [
            ("victim's ids, own key", attacker_home, {}, None),
            ("own key on the victim's host", attacker_there, {}, 401 if authenticated else None),
            ("forged key with a real prefix", forged, {}, 401 if authenticated else None),
            (
                "acting for the victim's resident",
                attacker_home,
                {"HTTP_LINLI_ACTING_RESIDENT": str(ids["resident_id"])},
                404 if authenticated else None,
            ),
        ]
        if method == "post":
            # the owner's own answer is stored under an Idempotency-Key first: the forged
            # key sends the same request with the same key and must not get it replayed
            send(owner, method, url, body, -tried)
        for label, client, headers, expected in attempts:
            tried += 1
            n = -(tried - 3) if label.startswith("forged") else tried
            response = send(client, method, url, body, n, **headers)
            where = f"{method.upper()} {path} ({label}): {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where} server error")
            elif expected is not None and response.status_code != expected:
                failures.append(f"{where}, expected {expected}")
            names = set(re.findall(r"{(\w+)}", path))
            if (
                label.startswith("victim's ids")
                and method == "get"
                and names
                and names <= victim["absent"]
                and response.status_code != 404
            ):
                failures.append(f"{where}, expected 404 for another tenant's id")
            leaked = _leaks(response, markers)
            if leaked:
                failures.append(f"{where} carries the victim's {leaked}")
    assert tried == 4 * len(operations())
    assert failures == [], "\n".join(failures)
