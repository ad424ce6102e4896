"""A small estate with every kind of caller, for the policy tables of community, points and
notices: two buildings, a household of two, a neighbour, a leader of each building, a
volunteer, a district admin who lives there, and the district's own tool.

    building 1 (led by ``leader``)      building 2 (led by ``other_leader``)
      flat 101: owner, spouse             flat 201: stranger
      flat 102: neighbour                 flat 202: volunteer (volunteer role, leads nothing)
      flat 103: leader                    flat 203: other_leader
                                          flat 204: district_admin (tenant-wide role)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from api.scopes import ALL_SCOPES
from linli.registry.models import Tenant
from linli.registry.services import module_set_enabled
from tenants.community.models import Household, Resident, Unit
from tenants.community.roles import role_assign
from tests.conftest import host_of, key_client
from tests.factories import EstateFactory, HouseholdFactory, ResidentFactory, UnitFactory

# Who calls, as a key acting for them (or, for the district's tool, acting for no one).
ACTING = ("owner", "spouse", "neighbour", "leader", "other_leader", "volunteer", "stranger")
CALLERS = ("district", "district_pd", "district_admin", *ACTING)


@dataclass
class World:
    tenant: Tenant
    people: dict[str, Resident]
    flats: dict[str, Household]
    units: dict[str, Unit]
    token: str  # every scope but personal_data:read
    token_pd: str  # every scope
    extra: dict[str, Any] = field(default_factory=dict)

    def id(self, who: str) -> int:
        return int(self.people[who].pk)

    def client(self, caller: str) -> Client:
        if caller == "district":
            return key_client(self.tenant, self.token)
        if caller == "district_pd":
            return key_client(self.tenant, self.token_pd)
        return key_client(self.tenant, self.token, HTTP_LINLI_ACTING_RESIDENT=str(self.id(caller)))


def build_world(tenant: Tenant, make_key: Any) -> World:
    module_set_enabled(slug=tenant.schema_name, module="points", enabled=True)
    with tenant_context(tenant):
        estate = EstateFactory()
        one: Any = UnitFactory(building__estate=estate)
        two: Any = UnitFactory(building__estate=estate)
        flats: dict[str, Any] = {
            "101": HouseholdFactory(unit=one, flat_number="101"),
            "102": HouseholdFactory(unit=one, flat_number="102"),
            "103": HouseholdFactory(unit=one, flat_number="103"),
            "201": HouseholdFactory(unit=two, flat_number="201"),
            "202": HouseholdFactory(unit=two, flat_number="202"),
            "203": HouseholdFactory(unit=two, flat_number="203"),
            "204": HouseholdFactory(unit=two, flat_number="204"),
        }
        where = {
            "owner": "101",
            "spouse": "101",
            "neighbour": "102",
            "leader": "103",
            "stranger": "201",
            "volunteer": "202",
            "other_leader": "203",
            "district_admin": "204",
        }
        people: dict[str, Any] = {
            who: ResidentFactory(household=flats[flat], display_name=f"{who}名")
            for who, flat in where.items()
        }
        role_assign(
            resident_id=people["leader"].pk,
            role="building_leader",
            scope="building",
            place_id=one.building_id,
        )
        role_assign(
            resident_id=people["other_leader"].pk,
            role="building_leader",
            scope="building",
            place_id=two.building_id,
        )
        role_assign(resident_id=people["volunteer"].pk, role="volunteer", scope="tenant")
        role_assign(resident_id=people["district_admin"].pk, role="district_admin", scope="tenant")
    everything_but_personal = [s for s in ALL_SCOPES if s != "personal_data:read"]
    return World(
        tenant=tenant,
        people=people,
        flats=flats,
        units={"one": one, "two": two},
        token=make_key(*everything_but_personal),
        token_pd=make_key(*ALL_SCOPES),
    )


def call(client: Client, method: str, path: str, body: dict[str, Any] | None = None, **extra: Any):
    """One request; writes carry a JSON body and a fresh Idempotency-Key."""
    if method == "get":
        return client.get(path, **extra)
    send = getattr(client, method)
    call.count = getattr(call, "count", 0) + 1  # type: ignore[attr-defined]
    return send(
        path,
        json.dumps(body or {}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"policy-{call.count}",  # type: ignore[attr-defined]
        **extra,
    )


def signed_in(tenant: Tenant, resident: Resident) -> Client:
    """A resident signed in on the resident pages, through the sign-in code."""
    from tenants.pages import signin

    with tenant_context(tenant):
        phone = str(resident.phone)
        code = signin.code_request(phone=phone)
        assert code is not None
        _resident, token = signin.code_verify(phone=phone, code=code)
    client = Client(HTTP_HOST=host_of(tenant), HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["linli_r"] = token
    return client


def problem(response: Any) -> tuple[int, str | None]:
    """The status and, for a problem, its code."""
    code = None
    if response.status_code >= 400:
        code = response.json().get("code")
    return response.status_code, code
